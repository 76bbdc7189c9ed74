// The store's link to the tandem daemon: `replica.flush` over the control
// socket (a Unix socket, one JSON object per line; the daemon answers
// {"ok":true,"result":...} once every change made before the request is
// replicated, or {"ok":false,"error":"..."}), and the group commit that lets
// one flush cover every write finished before it was sent. Node's standard
// library only, nothing from lib/.
import { createConnection } from 'node:net';

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

// One request on a fresh connection; resolves on {"ok":true}, rejects with an
// Error whose message says why otherwise (unreachable, refused, timeout, garbage).
export function requestFlush(socketPath: string, volume: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err === null) resolve();
      else reject(err);
    };
    const timer = setTimeout(
      () => finish(new Error(`the daemon at ${socketPath} did not answer replica.flush of ${volume} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const answer = (line: string): void => {
      let reply: unknown;
      try {
        reply = JSON.parse(line);
      } catch {
        finish(new Error(`the daemon at ${socketPath} answered something that is not JSON: ${line.slice(0, 200)}`));
        return;
      }
      const r = (typeof reply === 'object' && reply !== null ? reply : {}) as { ok?: unknown; error?: unknown };
      if (r.ok === true) finish(null);
      else finish(new Error(`the daemon refused replica.flush of ${volume}: ${typeof r.error === 'string' ? r.error : 'no reason given'}`));
    };
    sock.on('connect', () => sock.write(`${JSON.stringify({ command: 'replica.flush', volume })}\n`));
    sock.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) answer(buf.slice(0, nl));
      else if (buf.length > MAX_ANSWER_BYTES) finish(new Error(`the daemon at ${socketPath} sent more than ${MAX_ANSWER_BYTES} bytes without a newline`));
    });
    sock.on('end', () => {
      if (buf.trim() === '') finish(new Error(`the daemon at ${socketPath} closed the connection without answering replica.flush`));
      else answer(buf);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? `${err.code} (no daemon listening there)`
          : err.code === 'EACCES'
            ? 'EACCES (permission denied: the control socket is root-only)'
            : err.message;
      finish(new Error(`cannot reach the daemon at ${socketPath}: ${why}`));
    });
  });
}

// Group commit: at most one flush in flight. A caller arriving while one is
// in flight waits for the next, which starts when the current one ends and
// serves every caller that arrived meanwhile: a flush covers all writes made
// before it was sent, and never a write made after.
export class GroupCommit {
  private sending = false;
  private waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  flushes = 0;

  constructor(private readonly send: () => Promise<void>) {}

  // Call once the local write is durable; resolves once a flush sent after that succeeded.
  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.sending) this.sendNow();
    });
  }

  private sendNow(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.sending = true;
    this.flushes++;
    const done = (err: Error | null): void => {
      this.sending = false;
      for (const w of batch) {
        if (err === null) w.resolve();
        else w.reject(err);
      }
      if (this.waiting.length > 0) this.sendNow();
    };
    let sent: Promise<void>;
    try {
      sent = this.send();
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(() => done(null), (err: unknown) => done(err instanceof Error ? err : new Error(String(err))));
  }
}
