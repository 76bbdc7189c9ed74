// Drives one client socket: feeds bytes to NbdProtocol, runs requests against
// the backend one at a time in arrival order (so overlapping writes can never
// be reordered and FLUSH follows every write answered before it), writes the
// replies, and closes the socket the way the protocol asked.
import type { Socket } from 'node:net';
import type { BlockBackend } from './backend.js';
import { executeOp } from './execute.js';
import type { ExportDescriptor } from './handshake.js';
import { NbdProtocol, isCleanClose, type CloseReason, type NbdRequest, type ProtocolAction } from './protocol.js';
import { encodeReply, type Outcome } from './reply.js';
import { countClose, countError, countRequest, type NbdStats } from './stats.js';

const MAX_QUEUED = 64; // requests parsed but not yet run before we stop reading
const DESTROY_AFTER_MS = 2000; // a peer that never reads our FIN-ended replies

export interface SessionDeps {
  id: number;
  backend: BlockBackend;
  exp: ExportDescriptor & { readOnly: boolean };
  stats: NbdStats;
  log: (msg: string) => void;
  handshakeTimeoutMs: number;
  onClosed: () => void;
}

export class NbdSession {
  readonly closed: Promise<void>;
  private readonly proto: NbdProtocol;
  private readonly queue: NbdRequest[] = [];
  private running: Promise<void> | undefined;
  private pumping = false;
  private ending = false; // DISC: finish the queue, then end
  private dead = false;
  private timer: NodeJS.Timeout | undefined;
  private recorded = false;

  constructor(private readonly socket: Socket, private readonly d: SessionDeps) {
    this.proto = new NbdProtocol(d.exp, Date.now(), { handshakeTimeoutMs: d.handshakeTimeoutMs });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true); // proto.md "Protocol phases": both sides SHOULD disable Nagle
    socket.on('data', (chunk: Buffer) => this.apply(this.proto.receive(chunk, Date.now())));
    socket.on('error', (err) => {
      this.record('socket-error', err.message);
    });
    socket.once('close', () => {
      this.dead = true;
      this.queue.length = 0;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.record('peer-closed', 'connection closed');
      d.onClosed();
    });
    this.apply(this.proto.start());
    this.arm();
  }

  // Server stop: queued requests are dropped, the socket goes at once (a
  // client that stopped reading cannot hold us), and the backend call already
  // running is awaited so the caller may close the backend afterwards.
  async stop(): Promise<void> {
    this.queue.length = 0;
    this.record('server-stop', 'server stopping');
    this.socket.destroy();
    await this.closed;
    await this.running;
  }

  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.proto.deadline();
    if (at === undefined || this.dead) return;
    this.timer = setTimeout(() => this.apply(this.proto.tick(Date.now())), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private apply(actions: ProtocolAction[]): void {
    for (const a of actions) {
      if (this.dead) return;
      switch (a.kind) {
        case 'send':
          this.socket.write(a.bytes);
          break;
        case 'transmission':
          this.arm();
          break;
        case 'request':
          countRequest(this.d.stats, a.request.command);
          this.queue.push(a.request);
          if (this.queue.length >= MAX_QUEUED) this.socket.pause();
          if (!this.pumping) {
            this.pumping = true;
            this.running = this.pump();
          }
          break;
        case 'close':
          this.closeFor(a.reason, a.detail);
          break;
      }
    }
  }

  private closeFor(reason: CloseReason, detail: string): void {
    this.record(reason, detail);
    if (this.timer !== undefined) clearTimeout(this.timer);
    // proto.md "NBD_CMD_DISC": handle all outstanding requests, then close.
    if (reason === 'client-disconnect') {
      this.ending = true;
      if (!this.pumping) this.end();
      return;
    }
    this.queue.length = 0; // a client that broke the protocol gets no more work done
    this.end();
  }

  private end(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), DESTROY_AFTER_MS).unref();
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.dead) {
      const r = this.queue.shift() as NbdRequest;
      const outcome = await this.outcomeOf(r);
      if (!outcome.ok) countError(this.d.stats, outcome.errno);
      else if (r.command === 'READ') this.d.stats.bytesRead += r.length;
      else if (r.command === 'WRITE') this.d.stats.bytesWritten += r.length;
      if (this.dead || this.socket.destroyed) break;
      let ok = true;
      this.socket.cork();
      for (const b of encodeReply(r.cookie, r.isRead, r.offset, this.proto.structuredReplies, outcome)) ok = this.socket.write(b) && ok;
      this.socket.uncork();
      if (!ok) await this.drained();
      if (this.queue.length < MAX_QUEUED / 2 && this.socket.isPaused() && !this.ending) this.socket.resume();
    }
    this.pumping = false;
    if (this.ending && !this.dead) this.end();
  }

  private async outcomeOf(r: NbdRequest): Promise<Outcome> {
    const v = r.verdict;
    if (v.kind === 'execute') return executeOp(this.d.backend, v.op);
    if (v.kind === 'error') return { ok: false, errno: v.errno, message: v.message };
    return { ok: true }; // 'disconnect' never reaches the queue
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  // The first reason a connection ended is the one counted and logged.
  private record(reason: CloseReason | 'peer-closed' | 'socket-error' | 'server-stop', detail: string): void {
    if (this.recorded) return;
    this.recorded = true;
    countClose(this.d.stats, reason);
    const quiet = reason === 'peer-closed' || reason === 'server-stop' || (reason !== 'socket-error' && isCleanClose(reason));
    if (!quiet) this.d.log(`nbd: connection ${this.d.id} closed: ${reason} (${detail})`);
  }
}
