// Drives one client socket: feeds bytes to NbdProtocol, runs the requests the
// scheduler releases against the backend (several at once; overlapping writes
// in arrival order), writes each reply when its request completes, and
// closes the socket the way the protocol asked.
import type { Socket } from 'node:net';
import { payloadPool } from '../../../net/buffer-pool.js';
import { readReused } from '../../../net/reused-reads.js';
import { TickCork } from '../../../net/tick-cork.js';
import type { BlockBackend } from './backend.js';
import { runOp } from './execute.js';
import type { ExportDescriptor } from './handshake.js';
import { NbdProtocol, isCleanClose, type CloseReason, type NbdRequest, type ProtocolAction } from './protocol.js';
import { encodeReply, type Outcome } from './reply.js';
import { RequestScheduler } from './scheduler.js';
import { countClose, countError, countRequest, type NbdStats } from './stats.js';

const MAX_RUNNING = 16; // backend calls in flight per connection
const MAX_QUEUED = 64; // parsed but unanswered requests before we stop reading
const MAX_QUEUED_BYTES = 64 * 1024 * 1024; // WRITE payloads parsed but unanswered before we stop reading
const MAX_RUNNING_BYTES = 64 * 1024 * 1024; // READ buffers and WRITE payloads at the backend at once
const DESTROY_AFTER_MS = 2000; // a peer that never reads our FIN-ended replies

type EndReason = CloseReason | 'peer-closed' | 'socket-error' | 'server-stop';

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
  private readonly sched = new RequestScheduler(MAX_RUNNING, MAX_RUNNING_BYTES);
  private queuedBytes = 0;
  private running = 0; // backend calls not yet completed
  private idleWaiters: Array<() => void> = []; // stop() waiting for running to reach 0
  private kicking = false; // kick() is starting requests: a completion inside it only asks for another pass
  private kickAgain = false;
  private ending = false; // DISC: answer everything, then end
  private dead = false;
  private blocked = false; // waiting for 'drain'
  private readonly cork: TickCork;
  private timer: NodeJS.Timeout | undefined;
  private recorded = false;

  constructor(private readonly socket: Socket, private readonly d: SessionDeps) {
    this.proto = new NbdProtocol(d.exp, Date.now(), { handshakeTimeoutMs: d.handshakeTimeoutMs });
    this.cork = new TickCork(socket);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true); // proto.md "Protocol phases": both sides SHOULD disable Nagle
    readReused(socket, (chunk) => this.apply(this.proto.receive(chunk, Date.now())), { target: () => this.proto.readTarget() });
    socket.on('drain', () => {
      this.blocked = false;
      this.kick();
    });
    socket.on('error', (err) => this.record('socket-error', err.message));
    socket.once('close', () => {
      this.dead = true;
      this.sched.dropPending();
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.record('peer-closed', 'connection closed');
      d.onClosed();
    });
    this.apply(this.proto.start());
    this.arm();
  }

  // Server stop: queued requests are dropped, the socket goes at once (a
  // client that stopped reading cannot hold us), and backend calls already
  // running are awaited so the caller may close the backend afterwards.
  async stop(): Promise<void> {
    this.sched.dropPending();
    this.record('server-stop', 'server stopping');
    this.socket.destroy();
    await this.closed;
    if (this.running > 0) await new Promise<void>((res) => this.idleWaiters.push(res));
  }

  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.proto.deadline();
    if (at === undefined || this.dead) return;
    // Timers may fire a little before Date.now() reaches the deadline: re-arm after every tick.
    this.timer = setTimeout(() => {
      this.apply(this.proto.tick(Date.now()));
      this.arm();
    }, Math.max(1, at - Date.now()));
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
          this.sched.add(a.request);
          this.queuedBytes += payloadBytes(a.request);
          if (this.sched.size >= MAX_QUEUED || this.queuedBytes >= MAX_QUEUED_BYTES) this.socket.pause();
          break;
        case 'close':
          this.closeFor(a.reason, a.detail);
          break;
      }
    }
    this.kick();
  }

  private closeFor(reason: CloseReason, detail: string): void {
    this.record(reason, detail);
    if (this.timer !== undefined) clearTimeout(this.timer);
    // proto.md "NBD_CMD_DISC": handle all outstanding requests, then close.
    if (reason === 'client-disconnect') {
      this.ending = true;
      return;
    }
    this.sched.dropPending(); // a client that broke the protocol gets no more work done
    this.end();
  }

  private end(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), DESTROY_AFTER_MS).unref();
  }

  private kick(): void {
    if (this.kicking) {
      this.kickAgain = true; // a request completed while we start others (writeNow may answer at once)
      return;
    }
    this.kicking = true;
    try {
      do {
        this.kickAgain = false;
        if (this.dead) return;
        if (!this.blocked) for (const r of this.sched.next()) this.start(r);
      } while (this.kickAgain);
    } finally {
      this.kicking = false;
    }
    const roomy = this.sched.size < MAX_QUEUED / 2 && this.queuedBytes < MAX_QUEUED_BYTES / 2;
    if (this.socket.isPaused() && roomy && !this.ending) this.socket.resume();
    if (this.ending && this.sched.size === 0) {
      this.ending = false;
      this.end();
    }
  }

  private start(r: NbdRequest): void {
    this.running++;
    const v = r.verdict;
    if (v.kind === 'execute') runOp(this.d.backend, v.op, (outcome) => this.complete(r, outcome));
    else this.complete(r, v.kind === 'error' ? { ok: false, errno: v.errno, message: v.message } : { ok: true }); // 'disconnect' never reaches the queue
  }

  private complete(r: NbdRequest, outcome: Outcome): void {
    this.reply(r, outcome);
    this.queuedBytes -= payloadBytes(r);
    this.sched.done(r);
    releasePayload(r); // the backend took its own hold if it still needs the data
    if (--this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.kick();
  }

  private reply(r: NbdRequest, outcome: Outcome): void {
    if (!outcome.ok) countError(this.d.stats, outcome.errno);
    else if (r.command === 'READ') this.d.stats.bytesRead += r.length;
    else if (r.command === 'WRITE') this.d.stats.bytesWritten += r.length;
    if (this.dead || this.socket.destroyed || this.socket.writableEnded) return;
    this.cork.hold(); // replies completing in the same tick leave in one writev
    let ok = true;
    for (const b of encodeReply(r.cookie, r.isRead, r.offset, this.proto.structuredReplies, outcome)) ok = this.socket.write(b) && ok;
    if (!ok) this.blocked = true; // start nothing new until the client reads
  }

  // The first reason a connection ended is the one counted and logged.
  private record(reason: EndReason, detail: string): void {
    if (this.recorded) return;
    this.recorded = true;
    countClose(this.d.stats, reason);
    const quiet = reason === 'peer-closed' || reason === 'server-stop' || (reason !== 'socket-error' && isCleanClose(reason));
    if (!quiet) this.d.log(`nbd: connection ${this.d.id} closed: ${reason} (${detail})`);
  }
}

function writePayload(r: NbdRequest): Buffer | null {
  return r.verdict.kind === 'execute' && r.verdict.op.type === 'WRITE' ? r.verdict.op.data : null;
}

function releasePayload(r: NbdRequest): void {
  const data = writePayload(r);
  if (data !== null) payloadPool.release(data);
}

function payloadBytes(r: NbdRequest): number {
  return writePayload(r)?.length ?? 0;
}
