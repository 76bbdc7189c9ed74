// NbdServer: listens on TCP and/or a Unix socket and serves one export from a
// BlockBackend, one NbdSession per client. Bad clients are closed, counted
// and logged; nothing they send can throw out of here.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import { TandemError } from '../../../errors.js';
import type { BlockBackend } from './backend.js';
import {
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
} from './constants.js';
import type { ExportDescriptor } from './handshake.js';
import { NbdSession } from './session.js';
import { cloneStats, emptyStats, type NbdStats } from './stats.js';

export interface NbdServerOptions {
  exportName: string;
  description?: string;
  backend: BlockBackend;
  log?: (msg: string) => void;
  minBlockSize?: number; // advertised and enforced; default 1 (proto.md "Block size constraints")
  handshakeTimeoutMs?: number; // default 10 s
  maxConnections?: number; // default 64
}

export interface NbdListen {
  tcp?: { host: string; port: number }; // port 0: ephemeral
  unix?: string;
}

export interface NbdAddresses {
  tcp?: { host: string; port: number };
  unix?: string;
}

// proto.md "Transmission flags". CAN_MULTI_CONN only when the backend's flush covers all connections.
export function transmissionFlagsFor(backend: Pick<BlockBackend, 'readOnly' | 'flushCoversAllConnections'>): number {
  let f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
  if (backend.readOnly) f |= NBD_FLAG_READ_ONLY;
  if (backend.flushCoversAllConnections) f |= NBD_FLAG_CAN_MULTI_CONN;
  return f;
}

export class NbdServer {
  private readonly counters = emptyStats();
  private readonly sessions = new Set<NbdSession>();
  private readonly servers: Server[] = [];
  private readonly exp: ExportDescriptor & { readOnly: boolean };
  private readonly log: (msg: string) => void;
  private unixPath: string | undefined;
  private nextId = 1;
  addresses: NbdAddresses = {};

  constructor(private readonly opts: NbdServerOptions) {
    const min = opts.minBlockSize ?? 1;
    if (!Number.isInteger(Math.log2(min)) || min > 65536) throw new TandemError('NBD_CONFIG', `minBlockSize ${min} is not a power of 2 up to 65536`);
    this.log = opts.log ?? (() => {});
    this.exp = {
      name: opts.exportName,
      size: opts.backend.size,
      readOnly: opts.backend.readOnly,
      transmissionFlags: transmissionFlagsFor(opts.backend),
      minBlockSize: min,
      ...(opts.description === undefined ? {} : { description: opts.description }),
    };
  }

  stats(): NbdStats {
    return cloneStats(this.counters);
  }

  async start(listen: NbdListen): Promise<NbdAddresses> {
    if (listen.tcp === undefined && listen.unix === undefined) throw new TandemError('NBD_CONFIG', 'nothing to listen on');
    try {
      if (listen.tcp !== undefined) {
        const s = await this.listen((srv) => srv.listen(listen.tcp?.port, listen.tcp?.host));
        const a = s.address();
        if (a !== null && typeof a === 'object') this.addresses.tcp = { host: a.address, port: a.port };
      }
      if (listen.unix !== undefined) {
        await removeStaleSocket(listen.unix);
        await this.listen((srv) => srv.listen(listen.unix));
        this.unixPath = listen.unix;
        this.addresses.unix = listen.unix;
      }
    } catch (err) {
      await this.stop();
      throw new TandemError('NBD_LISTEN', `cannot listen: ${(err as Error).message}`, { cause: err, transient: true });
    }
    return this.addresses;
  }

  // Closes the listeners, lets each running request finish, drops the clients.
  async stop(): Promise<void> {
    const closing = this.servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r())));
    await Promise.all([...this.sessions].map((s) => s.stop()));
    await Promise.all(closing);
    if (this.unixPath !== undefined) await unlink(this.unixPath).catch(() => {});
    this.unixPath = undefined;
    this.addresses = {};
  }

  private listen(bind: (srv: Server) => void): Promise<Server> {
    const srv = createServer((socket) => this.accept(socket));
    this.servers.push(srv);
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.once('listening', () => {
        srv.off('error', reject);
        srv.on('error', (err) => this.log(`nbd: listener error: ${err.message}`));
        resolve(srv);
      });
      bind(srv);
    });
  }

  private accept(socket: Socket): void {
    const c = this.counters.connections;
    if (c.active >= (this.opts.maxConnections ?? 64)) {
      c.refused++;
      this.log(`nbd: refused a connection: ${c.active} clients already`);
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    c.total++;
    c.active++;
    const session: NbdSession = new NbdSession(socket, {
      id: this.nextId++,
      backend: this.opts.backend,
      exp: this.exp,
      stats: this.counters,
      log: this.log,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 10_000,
      onClosed: () => {
        c.active--;
        this.sessions.delete(session);
      },
    });
    this.sessions.add(session);
  }
}

// A socket file left by a crashed server is removed; a live one is not ours to take.
async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`${path} is in use by a running server`);
  await unlink(path);
}
