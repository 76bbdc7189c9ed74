// Talks to the daemon's control socket: one request, one answer; or a stream
// of event lines.
import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import { EX_UNAVAILABLE, TandemError } from '../errors.js';

export interface Reply {
  ok: boolean;
  result?: unknown;
  error?: string;
}

function connectError(path: string, err: NodeJS.ErrnoException): TandemError {
  const why =
    err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
      ? 'no tandem daemon is running there (start it with `tandem daemon --config FILE`)'
      : err.code === 'EACCES'
        ? 'permission denied: the control socket is root-only'
        : err.message;
  return new TandemError('CONTROL_UNREACHABLE', `cannot reach the daemon at ${path}: ${why}`, { cause: err, transient: true });
}

export function request(path: string, body: Record<string, unknown>, timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new TandemError('CONTROL_TIMEOUT', `the daemon at ${path} did not answer within ${timeoutMs} ms`, { transient: true }));
    }, timeoutMs);
    sock.on('connect', () => sock.write(`${JSON.stringify(body)}\n`));
    sock.on('data', (c) => (data += c.toString('utf8')));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(connectError(path, err));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data) as Reply);
      } catch {
        reject(new TandemError('CONTROL_PROTOCOL', `the daemon at ${path} answered something that is not JSON: ${data.slice(0, 200)}`));
      }
    });
  });
}

export function streamEvents(path: string, history: boolean, onEvent: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    const lines = createInterface({ input: sock });
    sock.on('connect', () => sock.write(`${JSON.stringify({ command: 'events', history })}\n`));
    sock.on('error', (err) => reject(connectError(path, err)));
    // readline passes its input's errors on: the socket's handler above reports them.
    lines.on('error', () => undefined);
    let stopped = false; // the daemon said it stops: the end of the stream is expected
    lines.on('line', (line) => {
      if (eventType(line) === 'daemon.stopped') stopped = true;
      onEvent(line);
    });
    // A daemon that dies (kill -9, a crash) ends the stream without daemon.stopped: a monitoring pipeline must see that.
    sock.on('close', (hadError) => {
      if (stopped) return resolve();
      const why = 'it crashed or was killed, or dropped this stream for reading too slowly (see its log)';
      reject(Object.assign(new TandemError('CONTROL_LOST', `the daemon at ${path} closed the event stream without a daemon.stopped event${hadError ? ' (socket error)' : ''}: ${why}`), { exitCode: EX_UNAVAILABLE }));
    });
  });
}

function eventType(line: string): unknown {
  try {
    const e = JSON.parse(line) as { type?: unknown } | null;
    return e?.type;
  } catch {
    return undefined;
  }
}
