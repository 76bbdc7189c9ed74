// The demo's managed service: a tiny record store over HTTP whose data lives
// in a tandem-replicated directory. Each record is one file made durable
// before it is acknowledged, so every acked record survives a failover.
//   node dist/scripts/demo-app/store.js --dir DIR --listen HOST:PORT
//        [--flush-socket PATH --flush-volume NAME [--flush-timeout-ms MS]]
// With the flush options an answer 201 / 200 also waits for the daemon's
// `replica.flush` of the volume (group commit: one flush serves every write
// made before it was sent); a failed flush answers 503.
// POST /records/<id> (201 new, 200 same content again, 409 other content),
// GET /records/<id>, GET /records, GET /health. See README.md beside this file.
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GroupCommit, requestFlush } from './flush.js';

export const MAX_BODY = 64 * 1024;
const ID_RE = /^[A-Za-z0-9._-]{1,100}$/;
const TMP = '.tmp';
const ID_RULE = `1-100 characters from A-Z a-z 0-9 . _ -, not "." or "..", not ending in "${TMP}"`;
const STOP_GRACE_MS = 1000;
const DEFAULT_FLUSH_TIMEOUT_MS = 10_000;
const USAGE = 'usage: store.js --dir DIR --listen HOST:PORT [--flush-socket PATH --flush-volume NAME [--flush-timeout-ms MS]]';

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

// ".tmp" names are this store's own temporaries (and a typical replication exclude).
const validId = (id: string): boolean => ID_RE.test(id) && id !== '.' && id !== '..' && !id.endsWith(TMP);

function parseListen(s: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(s);
  const port = Number(m?.[2]);
  if (!m?.[1] || port > 65535) throw new Error(`--listen: HOST:PORT (IPv6 as [ADDR]:PORT), not "${s}"`);
  return { host: m[1], port };
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// The directory of records: one file per record, written atomically.
class Records {
  private readonly locks = new Map<string, Promise<void>>();
  constructor(readonly dir: string) {}

  // Refuses to start on a missing or read-only DIR; clears temporaries a crash left.
  async open(root: string): Promise<void> {
    const st = await stat(root).catch(() => null);
    if (!st?.isDirectory()) throw new Error(`--dir ${root}: no such directory`);
    await access(root, constants.W_OK).catch(() => { throw new Error(`--dir ${root}: not writable`); });
    await mkdir(this.dir, { recursive: true });
    await access(this.dir, constants.W_OK).catch(() => { throw new Error(`${this.dir}: not writable`); });
    await fsyncPath(root);
    for (const name of await readdir(this.dir)) if (name.endsWith(TMP)) await unlink(join(this.dir, name));
  }

  async writable(): Promise<boolean> {
    return access(this.dir, constants.W_OK).then(() => true, () => false);
  }

  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter(validId).sort();
  }

  async get(id: string): Promise<Buffer | null> {
    return readFile(join(this.dir, id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
  }

  // 'created', 'same' (a retry after a lost answer) or 'conflict'; one writer per id at a time.
  async put(id: string, body: Buffer): Promise<'created' | 'same' | 'conflict'> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    let release = (): void => {};
    const mine = prev.then(() => new Promise<void>((r) => (release = r)));
    this.locks.set(id, mine);
    await prev;
    try {
      const old = await this.get(id);
      if (old !== null) return old.equals(body) ? 'same' : 'conflict';
      await this.writeDurably(id, body);
      return 'created';
    } finally {
      release();
      if (this.locks.get(id) === mine) this.locks.delete(id);
    }
  }

  // temp, fsync, rename, directory fsync: the record is whole and on disk, or absent.
  private async writeDurably(id: string, body: Buffer): Promise<void> {
    const tmp = join(this.dir, id + TMP);
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, id));
    await fsyncPath(this.dir);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
      reject(new HttpError(413, `body larger than ${MAX_BODY} bytes`, { connection: 'close' }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: Error): void => {
      if (!done) reject(err);
      done = true;
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) fail(new HttpError(413, `body larger than ${MAX_BODY} bytes`, { connection: 'close' }));
      else if (!done) chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolveBody(Buffer.concat(chunks));
      done = true;
    });
    req.on('error', fail);
    req.on('close', () => fail(new Error('client went away mid-body')));
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function methods(req: IncomingMessage, allowed: string[]): void {
  if (!allowed.includes(req.method ?? '')) throw new HttpError(405, `method ${req.method} not allowed`, { allow: allowed.join(', ') });
}

interface Flush { volume: string; commit: GroupCommit }

// Both flush options or neither; the timeout only with them.
function parseFlush(v: { 'flush-socket'?: string; 'flush-volume'?: string; 'flush-timeout-ms'?: string }): { socket: string; volume: string; timeoutMs: number } | null {
  const socket = v['flush-socket'];
  const volume = v['flush-volume'];
  if ((socket === undefined) !== (volume === undefined)) {
    throw new Error(`--flush-socket and --flush-volume go together: give both or neither (got only ${socket === undefined ? '--flush-volume' : '--flush-socket'})`);
  }
  if (socket === undefined || volume === undefined) {
    if (v['flush-timeout-ms'] !== undefined) throw new Error('--flush-timeout-ms needs --flush-socket and --flush-volume');
    return null;
  }
  if (socket === '') throw new Error('--flush-socket: the path of the daemon\'s control socket, not empty');
  if (volume === '') throw new Error('--flush-volume: the name of the directory volume holding --dir, not empty');
  const t = v['flush-timeout-ms'] ?? String(DEFAULT_FLUSH_TIMEOUT_MS);
  const timeoutMs = Number(t);
  if (!/^\d+$/.test(t) || timeoutMs < 1 || timeoutMs > 3_600_000) throw new Error(`--flush-timeout-ms: milliseconds from 1 to 3600000, not "${t}"`);
  return { socket: resolve(socket), volume, timeoutMs };
}

// The group commit around replica.flush; stderr says when flushing starts failing and when it works again.
function flusher(socket: string, volume: string, timeoutMs: number): Flush {
  let failing = false;
  const commit = new GroupCommit(async () => {
    try {
      await requestFlush(socket, volume, timeoutMs);
    } catch (err) {
      if (!failing) process.stderr.write(`store: replica.flush failed, answering 503 until it works: ${(err as Error).message}\n`);
      failing = true;
      throw err;
    }
    if (failing) process.stderr.write(`store: replica.flush of ${volume} works again\n`);
    failing = false;
  });
  return { volume, commit };
}

async function route(records: Records, flush: Flush | null, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?')[0] ?? '';
  if (path === '/health') {
    methods(req, ['GET', 'HEAD']);
    if (!(await records.writable())) throw new HttpError(503, `${records.dir} is not writable`);
    send(res, 200, { status: 'ok', records: (await records.list()).length });
    return;
  }
  if (path === '/records') {
    methods(req, ['GET', 'HEAD']);
    const ids = await records.list();
    send(res, 200, { ids, count: ids.length });
    return;
  }
  const m = /^\/records\/([^/]*)$/.exec(path);
  if (m === null) throw new HttpError(404, `no such path (use /records, /records/<id>, /health)`);
  methods(req, ['GET', 'HEAD', 'POST']);
  const id = m[1] ?? '';
  if (!validId(id)) throw new HttpError(400, `bad id "${id.slice(0, 120)}": use ${ID_RULE}`);
  if (req.method === 'POST') {
    const body = await readBody(req);
    const r = await records.put(id, body);
    if (r === 'conflict') throw new HttpError(409, `record ${id} exists with other content`);
    // A retry (200) flushes too: its first attempt may have been stored but never replicated.
    if (flush !== null) {
      await flush.commit.flush().catch((err: Error) => {
        throw new HttpError(503, `record ${id} is stored here but not confirmed replicated (volume ${flush.volume}): ${err.message}; retry the same request`);
      });
    }
    send(res, r === 'created' ? 201 : 200, { id, bytes: body.length });
    return;
  }
  const body = await records.get(id);
  if (body === null) throw new HttpError(404, `no record ${id}`);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      listen: { type: 'string' },
      'flush-socket': { type: 'string' },
      'flush-volume': { type: 'string' },
      'flush-timeout-ms': { type: 'string' },
    },
  });
  if (values.dir === undefined || values.listen === undefined) throw new Error(USAGE);
  const { host, port } = parseListen(values.listen);
  const f = parseFlush(values);
  const flush = f === null ? null : flusher(f.socket, f.volume, f.timeoutMs);
  const root = resolve(values.dir);
  const records = new Records(join(root, 'records'));
  await records.open(root);

  let stopping = false;
  let served = 0;
  const server = createServer((req, res) => {
    served++;
    // Once stopping, no connection is kept for another request.
    if (stopping) res.setHeader('connection', 'close');
    route(records, flush, req, res).catch((err: Error) => {
      if (err instanceof HttpError) send(res, err.status, { error: err.message }, err.headers);
      else if (!res.headersSent) send(res, 503, { error: `storage error: ${err.message}` });
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  server.on('error', (err) => process.stderr.write(`store: ${err.message}\n`));
  const addr = server.address();
  const where = typeof addr === 'object' && addr !== null ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
  process.stdout.write(`store: started pid ${process.pid}, listening on ${where}, dir ${root}, ${(await records.list()).length} records${f === null ? '' : `, acknowledging after replica.flush of ${f.volume} via ${f.socket} (timeout ${f.timeoutMs} ms)`}\n`);

  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    server.close(() => {
      process.stdout.write(`store: stopped on ${sig} after ${served} requests\n`);
      process.exit(0);
    });
    server.closeIdleConnections();
    // In-flight requests get a moment to finish; a stuck one is cut (its write stays atomic).
    setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`store: refusing to start: ${err.message}\n`);
  process.exit(1);
});
