// One authenticated replication connection over a connected socket (plain TCP
// or TLS): runs the handshake, then carries sequenced frames both ways, keeps
// the link alive with PING/PONG and drops it when the peer goes silent.
// The socket and timers live here; every decision is in handshake.ts,
// heartbeat.ts and the codec (style habit 5).
import type { Socket } from 'node:net';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { TandemError } from '../../errors.js';
import { readReused } from '../../net/reused-reads.js';
import { setTcpCongestion, tcpCongestion } from '../../net/tcp-congestion.js';
import { TickCork } from '../../net/tick-cork.js';
import { FrameDecoder } from './decoder.js';
import { DEFAULT_MAX_PAYLOAD, type Frame, type FrameError, HEADER_LEN, encodeFrameHeader } from './frame.js';
import { ALLOWED_FLAGS, type FrameType, HANDSHAKE_TYPES } from './frame-types.js';
import { Handshake, type HandshakeAction, type HandshakeFailure, type PeerIdentity } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { decodeLinkError, encodeLinkError } from './messages.js';
import { LinkStats } from './stats.js';
import { type Timers, realTimers } from './timers.js';

export type LinkState = 'handshaking' | 'established' | 'closed';

// Why a link ended; the handshake's reasons, plus the established link's.
export type LinkCloseReason =
  | HandshakeFailure // protocol-error also covers bad frames and sequence gaps after the handshake
  | 'ping-timeout' // peer silent for heartbeat.timeoutMs (DRBD "PingAck did not arrive in time")
  | 'peer-error' // peer sent ERROR and closed
  | 'peer-closed' // peer closed the stream (or said it is closing)
  | 'peer-reconnect' // peer closed to connect again at once (a new connect handshake): planned, no error
  | 'socket-error' // the OS reported an error on the socket
  | 'local-close'; // close() was called here

export interface LinkCloseInfo {
  reason: LinkCloseReason;
  detail: string;
}

export interface PeerLinkOptions {
  node: string; // our node name
  volume: string;
  secret: Uint8Array;
  expectedPeer?: string;
  handshakeTimeoutMs?: number; // default 10 s
  heartbeat?: { intervalMs: number; timeoutMs: number }; // default 1 s / 5 s
  maxPayload?: number; // default 8 MiB
  stats?: LinkStats; // shared across reconnects by PeerConnector
  timers?: Timers;
  randomBytes?: (n: number) => Buffer;
  log?: (level: 'info' | 'warn', message: string) => void;
  congestionControl?: string; // the socket's TCP congestion control; unset: the host's default
  congestionRefused?: (why: string) => void; // told why it could not be set (else logged here, per link)
}

// Frames PeerLink answers itself; send() refuses them.
const INTERNAL: ReadonlySet<FrameType> = new Set<FrameType>([...HANDSHAKE_TYPES, 'PING', 'PONG', 'ERROR']);
const QUEUE_HIGH = 256; // frames queued before deliver() at which we stop reading the socket
const CLOSE_GRACE_MS = 1000; // time for a final ERROR frame to leave before destroy
const MAX_RTT_MS = 60_000; // a round-trip sample above this (or below 0) is not believed
const PING_LEN = 16; // f64 send time (echoed in the PONG), u64 bytes the sender has received on this link
// A PING this often whatever the traffic: a first sample a stall inflated (ours or the peer's event loop
// between our HELLO and its RESPONSE) gives way to the next shorter one; a busy link's are only longer.
const RTT_PROBE_MS = 5000;

export class PeerLink {
  readonly stats: LinkStats;
  readonly ready: Promise<PeerIdentity>;
  readonly closed: Promise<LinkCloseInfo>;
  private st: LinkState = 'handshaking';
  private peerId: PeerIdentity | null = null;
  private readonly decoder: FrameDecoder;
  private readonly handshake: Handshake;
  private heartbeat: Heartbeat | null = null;
  private readonly timers: Timers;
  private readonly maxPayload: number;
  private timer: unknown = null;
  private graceTimer: unknown = null;
  private sendSeq = 0n;
  private readonly cork: TickCork;
  private recvSeq = 0n;
  private helloAt: number | null = null; // when our HELLO left (performance.now): the peer's RESPONSE answers it
  private rtt: number | null = null;
  private probedAt = -Infinity; // our last PING (link clock): the first beat, as the link is established, sends one
  private heartbeatBytes = 0; // bytes of the PINGs and PONGs received: not counted in what our PINGs report
  private peerReceived = 0n; // the bytes the peer last reported having received from us (its PINGs)
  private peerTookAt: number | null = null; // when that count last grew (link clock)
  private readonly queue: Frame[] = []; // received before deliver()
  private queuePaused = false; // reading stopped because that queue is full
  private held = false; // reading stopped by pauseUntil()
  private handler: ((f: Frame) => void) | null = null;
  private resolveReady!: (p: PeerIdentity) => void;
  private rejectReady!: (e: TandemError) => void;
  private resolveClosed!: (i: LinkCloseInfo) => void;

  constructor(private readonly socket: Socket, private readonly opts: PeerLinkOptions) {
    this.stats = opts.stats ?? new LinkStats();
    this.timers = opts.timers ?? realTimers;
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.decoder = new FrameDecoder({ maxPayload: this.maxPayload });
    this.cork = new TickCork(socket);
    this.ready = new Promise((res, rej) => { this.resolveReady = res; this.rejectReady = rej; });
    this.ready.catch(() => undefined); // callers that never await ready must not see an unhandled rejection
    this.closed = new Promise((res) => { this.resolveClosed = res; });
    this.handshake = new Handshake({
      node: opts.node, volume: opts.volume, secret: opts.secret, expectedPeer: opts.expectedPeer,
      timeoutMs: opts.handshakeTimeoutMs ?? 10_000, randomBytes: opts.randomBytes ?? cryptoRandomBytes,
    });
    socket.setNoDelay(true); // NBD proto.md: TCP_NODELAY; one write is one frame, latency is what protocol C pays
    if (opts.congestionControl !== undefined) {
      const why = setTcpCongestion(socket, opts.congestionControl);
      if (why !== null && opts.congestionRefused !== undefined) opts.congestionRefused(why);
      else if (why !== null) opts.log?.('warn', `link ${this.remote}: congestion_control ${opts.congestionControl} not set (${why}); the link uses the host's default`);
    }
    readReused(socket, (chunk) => this.onData(chunk), { target: () => this.decoder.readTarget() });
    socket.on('end', () => this.onEnd());
    socket.on('close', () => { this.clearGrace(); this.onEnd(); });
    socket.on('error', (err: Error) => this.shutdown('socket-error', err.message, false));
    this.run(this.handshake.start(this.timers.now()));
  }

  get state(): LinkState {
    return this.st;
  }

  /** The authenticated peer, once established. */
  get peer(): PeerIdentity | null {
    return this.peerId;
  }

  /** The shortest round trip seen on this link (our HELLO to the peer's RESPONSE, a PING to its PONG), or null. */
  get roundTripMs(): number | null {
    return this.rtt;
  }

  /** The socket's TCP congestion control algorithm as the kernel reports it, or null once closed. */
  get congestionControl(): string | null {
    return tcpCongestion(this.socket);
  }

  get remote(): string {
    const host = this.socket.remoteAddress ?? '?';
    return `${host.includes(':') ? `[${host}]` : host}:${this.socket.remotePort ?? '?'}`; // IPv6 bracketed, as config and status write it
  }

  /** Sends one frame with the next sequence number; returns that number. */
  // `payload` may come in parts (a header and the data): they are sent as one payload without being copied together.
  // `sent` runs once the socket no longer needs the payload: written to the kernel, or dropped with the socket.
  send(frame: { type: FrameType; flags?: number; payload?: Uint8Array | readonly Uint8Array[]; sent?: () => void }): bigint {
    if (this.st !== 'established') throw new TandemError('link-not-established', `link to ${this.remote} is ${this.st}`);
    if (INTERNAL.has(frame.type)) throw new RangeError(`${frame.type} frames belong to the link itself`);
    const parts = frame.payload === undefined ? [] : frame.payload instanceof Uint8Array ? [frame.payload] : frame.payload;
    if (parts.reduce((n, p) => n + p.length, 0) > this.maxPayload) throw new RangeError(`payload above ${this.maxPayload} bytes`);
    if (((frame.flags ?? 0) & ~ALLOWED_FLAGS[frame.type]) !== 0) throw new RangeError(`flags not allowed on ${frame.type}`);
    return this.write(frame.type, parts, frame.flags ?? 0, frame.sent);
  }

  /** True when the socket buffer is full; wait for drain() before sending more. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  drain(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.st === 'closed') return Promise.resolve();
    return new Promise((res) => {
      const done = (): void => { this.socket.off('drain', done); this.socket.off('close', done); res(); };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Every frame from now on goes to `handler` as it is decoded, those received before first. */
  // Synchronous, no promise per frame: the link carries every write.
  deliver(handler: (f: Frame) => void): void {
    this.handler = handler;
    // Resumed first: reading restarts in a later turn, so a handler that pauses while catching up is obeyed.
    if (this.queuePaused) {
      this.queuePaused = false;
      this.resumeReading();
    }
    for (let f = this.queue.shift(); f !== undefined; f = this.queue.shift()) handler(f);
  }

  /** Backpressure for deliver(): no reading until `caughtUp` settles (the heartbeat allows for it); a second call meanwhile adds nothing. */
  pauseUntil(caughtUp: Promise<unknown>): void {
    if (this.held) return;
    this.held = true;
    this.socket.pause();
    const resume = (): void => {
      this.held = false;
      this.resumeReading();
    };
    caughtUp.then(resume, resume);
  }

  private resumeReading(): void {
    if (this.st !== 'closed') this.socket.resume();
  }

  close(detail = 'closed by us'): void {
    this.shutdown('local-close', detail, true);
  }

  /** Closes, telling the peer we connect again at once: it logs the close as planned, not as an error. */
  reconnect(detail: string): void {
    this.shutdown('local-close', detail, true, 'reconnecting');
  }

  /** The layer above found a frame it cannot accept: drop the link as a protocol error. */
  fail(detail: string): void {
    this.shutdown('protocol-error', detail, true);
  }

  private write(type: FrameType, payload: Uint8Array | readonly Uint8Array[], flags: number, sent?: () => void): bigint {
    const seq = this.sendSeq++;
    const parts = (payload instanceof Uint8Array ? [payload] : payload).filter((p) => p.length > 0);
    const length = parts.reduce((n, p) => n + p.length, 0);
    this.cork.hold(); // a burst of writes and acks leaves in one writev
    this.socket.write(encodeFrameHeader({ type, flags, seq, length }), parts.length === 0 ? sent : undefined);
    parts.forEach((p, i) => this.socket.write(p, i === parts.length - 1 ? sent : undefined));
    const bytes = { length: HEADER_LEN + length };
    this.stats.bytesSent += bytes.length;
    this.stats.framesSent++;
    this.stats.lastSentAt = this.timers.now();
    this.heartbeat?.sent(this.stats.lastSentAt);
    return seq;
  }

  private onData(chunk: Buffer): void {
    if (this.st === 'closed') return;
    this.stats.bytesReceived += chunk.length;
    // Part of a frame is life too: a large write crossing a slow link is no silence.
    if (chunk.length > 0) this.heartbeat?.received(this.timers.now());
    const out = this.decoder.push(chunk);
    for (const f of out.frames) {
      if (this.isClosed()) return;
      this.onFrame(f);
    }
    if (out.error && !this.isClosed()) this.onBadFrame(out.error);
  }

  // A method, so TypeScript does not narrow st across calls that change it.
  private isClosed(): boolean {
    return this.st === 'closed';
  }

  private onBadFrame(e: FrameError): void {
    // A newer frame format during the handshake is a version question, not garbage.
    const reason = this.st === 'handshaking' && e.reason === 'unsupported-version' ? 'version-mismatch' : 'protocol-error';
    this.shutdown(reason, `${e.reason}: ${e.detail}`, true);
  }

  private onFrame(f: Frame): void {
    const now = this.timers.now();
    this.stats.framesReceived++;
    this.stats.lastReceivedAt = now;
    // Sequence numbers are per direction from 0; TCP keeps order, so a gap is a broken or forged stream.
    if (f.seq !== this.recvSeq) return this.shutdown('protocol-error', `sequence ${f.seq}, expected ${this.recvSeq}`, true);
    this.recvSeq++;
    if (this.st === 'handshaking') {
      if (f.type === 'RESPONSE' && this.helloAt !== null) this.sampleRtt(performance.now() - this.helloAt);
      return this.run(this.handshake.receive(f, now));
    }
    this.heartbeat?.received(now);
    switch (f.type) {
      case 'PING':
        this.heartbeatBytes += HEADER_LEN + f.payload.length;
        this.notePeerReceived(f.payload, now);
        this.write('PONG', f.payload, 0);
        return;
      case 'PONG':
        this.heartbeatBytes += HEADER_LEN + f.payload.length;
        // Our PINGs carry their send time, which the peer echoes (any other payload is not ours).
        if (f.payload.length === PING_LEN) this.sampleRtt(performance.now() - f.payload.readDoubleLE(0));
        return;
      case 'ERROR': {
        const d = decodeLinkError(f.payload);
        if (d.ok && d.value.reason === 'closing') return this.shutdown('peer-closed', d.value.detail, false);
        if (d.ok && d.value.reason === 'reconnecting') return this.shutdown('peer-reconnect', d.value.detail, false);
        return this.shutdown('peer-error', d.ok ? `${d.value.reason}: ${d.value.detail}` : d.detail, false);
      }
      case 'HELLO':
      case 'RESPONSE':
      case 'AUTH_OK':
        return this.shutdown('protocol-error', `${f.type} after authentication`, true);
      default:
        if (this.handler !== null) return this.handler(f);
        this.queue.push(f);
        if (this.queue.length >= QUEUE_HIGH && !this.queuePaused) {
          this.queuePaused = true;
          this.socket.pause();
        }
    }
  }

  private run(step: { actions: HandshakeAction[]; deadline: number | null }): void {
    for (const a of step.actions) {
      if (a.kind === 'send' && a.type === 'HELLO') this.helloAt = performance.now();
      if (a.kind === 'send') this.write(a.type, a.payload, 0);
      else if (a.kind === 'fail') return this.shutdown(a.reason, a.detail, false);
      else return this.established(a.peer);
    }
    if (step.deadline !== null) this.schedule(step.deadline, () => this.run(this.handshake.tick(this.timers.now())));
  }

  private established(peer: PeerIdentity): void {
    const now = this.timers.now();
    this.st = 'established';
    this.peerId = peer;
    this.stats.connected = true;
    this.stats.connectedSince = now;
    this.heartbeat = new Heartbeat(this.opts.heartbeat ?? { intervalMs: 1000, timeoutMs: 5000 }, now);
    this.log('info', `link to ${peer.node} (${this.remote}) established for volume ${peer.volume}`);
    this.resolveReady(peer);
    this.beat();
  }

  private beat(): void {
    if (this.st !== 'established' || !this.heartbeat) return;
    const now = this.timers.now();
    if (this.socket.isPaused()) {
      // We stopped reading (our consumer is behind): the peer's frames wait in our socket buffer, so it is
      // not silent; and it must hear from us while we do not read its PINGs.
      this.heartbeat.received(now);
      const interval = this.opts.heartbeat?.intervalMs ?? 1000;
      if (now - (this.stats.lastSentAt ?? 0) >= interval) this.ping(now);
    }
    const v = this.heartbeat.tick(now);
    if (v.action === 'timeout') return this.shutdown('ping-timeout', `peer silent for ${this.opts.heartbeat?.timeoutMs ?? 5000} ms`, true);
    if (v.action === 'ping' || now - this.probedAt >= RTT_PROBE_MS) this.ping(now);
    this.schedule(v.deadline, () => this.beat());
  }

  // Carries its send time on a monotonic clock, which the peer echoes in its PONG, and how many bytes we
  // have received on this link, PINGs and PONGs left out: a peer sending us a frame that takes long to cross
  // sees it arrive, and one whose data we stopped taking in (our disk is stuck) sees the count stand still.
  private ping(now: number): void {
    this.probedAt = now;
    const payload = Buffer.alloc(PING_LEN);
    payload.writeDoubleLE(performance.now(), 0);
    payload.writeBigUInt64BE(BigInt(this.stats.bytesReceived - this.heartbeatBytes), 8);
    this.write('PING', payload, 0);
  }

  // A PING of a build that reports its received bytes: when the count grew, the peer is taking in our data.
  // (An older build's PING is 8 bytes: no such report.)
  private notePeerReceived(payload: Buffer, now: number): void {
    if (payload.length !== PING_LEN) return;
    const got = payload.readBigUInt64BE(8);
    if (got <= this.peerReceived) return;
    this.peerReceived = got;
    this.peerTookAt = now;
  }

  /** When the peer last reported taking in more of our data (its PINGs), or null. */
  get peerProgressAt(): number | null {
    return this.peerTookAt;
  }

  private sampleRtt(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0 && ms <= MAX_RTT_MS) this.rtt = Math.min(this.rtt ?? Infinity, ms);
  }

  private schedule(at: number, fn: () => void): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => { this.timer = null; fn(); }, Math.max(0, at - this.timers.now()));
  }

  private onEnd(): void {
    if (this.st === 'closed') return;
    const e = this.decoder.end();
    if (e) return this.shutdown('protocol-error', `${e.reason}: ${e.detail}`, false);
    this.shutdown('peer-closed', 'peer closed the connection', false);
  }

  // `wire`: what a local close tells the peer (ERROR's reason): closing, or reconnecting.
  private shutdown(reason: LinkCloseReason, detail: string, tellPeer: boolean, wire: 'closing' | 'reconnecting' = 'closing'): void {
    if (this.st === 'closed') return;
    const wasEstablished = this.st === 'established';
    this.st = 'closed';
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    const now = this.timers.now();
    if (wasEstablished) {
      this.stats.connected = false;
      this.stats.disconnects++;
    }
    const planned = reason === 'local-close' || reason === 'peer-reconnect';
    if (!planned) this.stats.lastError = { reason, detail, at: now };
    const who = this.peerId ? `${this.peerId.node} (${this.remote})` : this.remote;
    this.log(planned ? 'info' : 'warn', `dropping link to ${who}: ${reason}: ${detail}`);
    if (tellPeer && !this.socket.destroyed) {
      const told = reason === 'local-close' ? wire : reason;
      this.write('ERROR', encodeLinkError({ reason: told, detail: reason === 'auth-failed' ? 'authentication failed' : detail }), 0);
    }
    if (!this.socket.destroyed) {
      this.socket.end();
      this.graceTimer = this.timers.setTimeout(() => { this.graceTimer = null; this.socket.destroy(); }, CLOSE_GRACE_MS);
    }
    this.rejectReady(new TandemError(reason, `${reason}: ${detail}`));
    this.resolveClosed({ reason, detail });
  }

  private clearGrace(): void {
    if (this.graceTimer !== null) this.timers.clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.opts.log?.(level, message);
  }
}
