// The control socket: a Unix socket, mode 0600 (root only), speaking one
// JSON object per line. A request is {"command": NAME, ...args}; the answer
// is {"ok": true, "result": ...} or {"ok": false, "error": "..."}, after
// which the server closes - except "events", which streams JSON lines until
// the client goes away.
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { TandemError } from '../errors.js';
import type { EventBus } from './events.js';
import type { Logger } from './log.js';

export type CommandHandler = (request: Record<string, unknown>) => Promise<unknown> | unknown;

const MAX_REQUEST_BYTES = 64 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_STREAM_BACKLOG = 1024 * 1024;

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class ControlServer {
  private server: Server | null = null;
  private readonly clients = new Set<Socket>();
  private readonly handlers = new Map<string, CommandHandler>();

  constructor(private readonly path: string, private readonly events: EventBus, private readonly log: Logger) {}

  handle(command: string, handler: CommandHandler): void {
    this.handlers.set(command, handler);
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o755 });
    if (await isLive(this.path)) {
      throw new TandemError('CONTROL_SOCKET_BUSY', `another tandem daemon answers on ${this.path}; stop it first or set node.control_socket to another path`);
    }
    // Only a stale socket may be replaced: never delete a file someone mistyped as the path.
    const existing = await lstat(this.path).catch(() => null);
    if (existing !== null && !existing.isSocket()) {
      throw new TandemError('CONTROL_SOCKET_PATH', `${this.path} exists and is not a socket; set node.control_socket to a path for the socket`);
    }
    if (existing !== null) await unlink(this.path).catch(() => {});
    const server = createServer((sock) => this.accept(sock));
    // The socket file is created 0600 from the start: no window where others may connect.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    this.server = server;
    server.on('error', (err) => this.log.error(`control socket: ${err.message}`));
  }

  private accept(sock: Socket): void {
    this.clients.add(sock);
    // A client that never sends its request line is dropped.
    sock.setTimeout(REQUEST_TIMEOUT_MS, () => sock.destroy());
    sock.on('close', () => this.clients.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST_BYTES) this.reply(sock, { ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
        return;
      }
      sock.off('data', onData);
      sock.setTimeout(0);
      void this.dispatch(sock, buf.slice(0, nl));
    };
    sock.on('data', onData);
  }

  private async dispatch(sock: Socket, line: string): Promise<void> {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      this.reply(sock, { ok: false, error: 'request is not JSON: send one object like {"command":"status"} and a newline' });
      return;
    }
    if (typeof req !== 'object' || req === null || typeof (req as { command?: unknown }).command !== 'string') {
      this.reply(sock, { ok: false, error: 'request must be an object with a "command" string' });
      return;
    }
    const r = req as Record<string, unknown> & { command: string };
    if (r.command === 'events') {
      this.stream(sock, r.history === true);
      return;
    }
    const h = this.handlers.get(r.command);
    if (h === undefined) {
      const known = ['events', ...this.handlers.keys()].sort().join(', ');
      this.reply(sock, { ok: false, error: `unknown command "${r.command}"; known: ${known}` });
      return;
    }
    try {
      this.reply(sock, { ok: true, result: await h(r) });
    } catch (err) {
      this.reply(sock, { ok: false, error: (err as Error).message });
    }
  }

  private stream(sock: Socket, withHistory: boolean): void {
    const send = (ev: unknown): void => {
      if (sock.destroyed) return;
      // A subscriber that stopped reading must not grow the daemon's memory.
      if (sock.writableLength > MAX_STREAM_BACKLOG) {
        this.log.warn('control socket: an event subscriber stopped reading; dropping it');
        sock.destroy();
        return;
      }
      sock.write(`${JSON.stringify(ev)}\n`);
    };
    if (withHistory) for (const ev of this.events.history()) send(ev);
    const off = this.events.subscribe(send);
    sock.on('close', off);
  }

  private reply(sock: Socket, body: unknown): void {
    sock.end(`${JSON.stringify(body)}\n`);
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.destroy();
    const server = this.server;
    this.server = null;
    // Only the socket we created is ours to remove (not a live daemon's we refused to replace).
    if (server === null) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(this.path).catch(() => {});
  }
}
