// One configured peer of a volume: its authenticated link, the connect
// handshake (STATE + BITMAP both ways, then decideConnect), the write stream
// in both directions (send and acknowledge on the Primary, apply in order on
// the Secondary), and the resync and verify that run over it.
import { createHash } from 'node:crypto';
import { payloadPool } from '../../net/buffer-pool.js';
import { Bitmap } from '../block/bitmap.js';
import type { Frame } from '../link/frame.js';
import { FLAG_FUA, FLAG_ON_DISK, FLAG_ZEROES } from '../link/frame-types.js';
import type { LinkCloseInfo, PeerLink } from '../link/peer-link.js';
import type { AfterSbPolicies } from '../after-sb.js';
import { OrderedApplier } from './applier.js';
import { decideConnect } from './handshake-decision.js';
import type { VolumeHost } from './host.js';
import { PendingWrites, settleLost } from './pending.js';
import type { WriteCompletion } from './write-completion.js';
import { ResyncTarget } from './resync-target.js';
import { PeerSessionBase } from './session-base.js';
import type { PeerStatus, ResyncProgress, VerifyProgress } from './status-types.js';
import { VerifySource, hashBlocks } from './verify.js';
import {
  decodeResyncData, decodeResyncRequest, decodeState, decodeU64, decodeVerifyReply, decodeVerifyRequest, decodeWrite,
  encodeResyncDataHeader, encodeState, encodeU64, encodeVerifyReply, encodeWriteHeader, encodeZeroes, type PeerState,
} from './wire.js';

const APPLY_IN_FLIGHT = 32; // Secondary: concurrent non-overlapping writes
const APPLY_BACKLOG_MAX = 1024; // Secondary: frames waiting to apply before we stop reading the link
const MAX_PENDING_BYTES = 64 << 20; // Primary: unacknowledged bytes per peer before writes wait (protocol A's bound)
const HANDSHAKE_TIMEOUT_MS = 10_000;
const ACK_CHECK_MS = 250;
const APP_BUSY_MS = 200; // a write this recent means the application is using the link
export const MAX_WRITE_FRAME = 4 << 20; // a larger application write goes as several WRITE frames


interface Resync {
  direction: 'SyncSource' | 'SyncTarget';
  full: boolean;
  total: number;
  done: number;
  startedAt: number;
  samples: Array<{ at: number; done: number }>;
}

export class PeerSession extends PeerSessionBase {
  writesSent = 0;
  writesReceived = 0;
  private sent: PeerState | null = null;
  private sentBitmap: Bitmap | null = null;
  private peerBitmap: Bitmap | null = null;
  private release: (() => void) | null = null;
  private applier: OrderedApplier | null = null;
  private readonly pending = new PendingWrites();
  private readonly barriers = new Map<bigint, (ok: boolean) => void>();
  private nextBarrier = 1n;
  private roomWaiters: Array<() => void> = [];
  private writeSeqs: bigint[] = []; // Secondary: WRITE sequence numbers not yet acknowledged ON_DISK
  private ackScheduled = false;
  private receivedAckScheduled = false;
  private lastReceivedWrite = -1n;
  private lastWriteAt = 0;
  private readonly dropped = new WeakSet<PeerLink>();
  private peerRoleSent: 'Primary' | 'Secondary' | null = null; // the role in the newest STATE received, before it is applied
  private watermark = -1n;
  private resync: Resync | null = null;
  private target: ResyncTarget | null = null;
  private verifySource: VerifySource | null = null;
  private verifyT: { total: number; done: number; mismatched: number } | null = null;

  constructor(
    name: string,
    address: string,
    private readonly host: VolumeHost,
    private readonly policies: AfterSbPolicies,
  ) {
    super(name, address, (peer) => host.standAlone(peer));
  }

  // A write sent now reaches the peer's disk through the stream (DRBD: the peer is "connected" for writes).
  get receivesWrites(): boolean {
    // A link already closed but not yet wound up (its last frames still being read) takes no writes: they go to the bitmap.
    return this.phase === 'running' && this.replication !== 'Off' && this.link?.state === 'established';
  }

  // A new authenticated link to this peer. Returns false when it is refused.
  adopt(link: PeerLink): boolean {
    if (!this.claim(link)) return false;
    // Ours from an earlier link must not meet the peer's new STATE: maybeDecide waits for sendHello.
    this.sent = null;
    this.sentBitmap = null;
    this.peerBitmap = null;
    this.watermark = -1n;
    this.lastReceivedWrite = -1n;
    this.writeSeqs = [];
    this.applier = new OrderedApplier(APPLY_IN_FLIGHT, (seq) => this.onWatermark(seq), (err) => this.applyFailed(err));
    // Frames are handled as they are decoded, so those before a close (a peer's last STATE before its ERROR) come first.
    link.deliver((f) => this.onLinkFrame(link, f));
    this.background(link.closed.then((info) => this.onClosed(link, info)), 'winding up the link');
    this.handshakeTimer = setTimeout(() => this.drop(link, `no STATE and BITMAP within ${HANDSHAKE_TIMEOUT_MS} ms`), HANDSHAKE_TIMEOUT_MS);
    this.background(this.sendHello(link), 'the connect handshake', link);
    return true;
  }

  // Freeze writes so the snapshot we send is exactly what the decision uses.
  private async sendHello(link: PeerLink): Promise<void> {
    const release = await this.host.freezeWrites();
    if (this.link !== link || link.state !== 'established') return release();
    this.release = release;
    this.sent = this.host.stateFor(this.name);
    this.sentBitmap = this.host.bitmapFor(this.name).clone();
    link.send({ type: 'STATE', payload: encodeState(this.sent) });
    link.send({ type: 'BITMAP', payload: this.sentBitmap.serialize() });
    this.maybeDecide();
  }

  private onLinkFrame(link: PeerLink, f: Frame): void {
    if (this.link !== link || this.dropped.has(link)) return;
    try {
      this.onFrame(link, f);
    } catch (e) {
      this.drop(link, `handling ${f.type}: ${(e as Error).message}`);
      return;
    }
    // Backpressure: a Secondary that cannot keep up stops reading the socket until its applier is idle.
    if (this.applier !== null && this.applier.backlog > APPLY_BACKLOG_MAX) link.pauseUntil(this.applier.idle());
  }

  private onFrame(link: PeerLink, f: Frame): void {
    if (this.phase === 'handshake') return this.onHandshakeFrame(link, f);
    switch (f.type) {
      case 'WRITE': return this.onWrite(link, f);
      case 'WRITE_ACK': return this.onWriteAck(link, f);
      case 'BARRIER': return this.onBarrier(link, f);
      case 'BARRIER_ACK': {
        const id = decodeU64(f.payload, 'BARRIER_ACK');
        if (!id.ok) return this.drop(link, id.detail);
        this.barriers.get(id.value)?.(true);
        this.barriers.delete(id.value);
        return;
      }
      case 'STATE': return this.onStateUpdate(link, f);
      case 'RESYNC_REQUEST': return this.onResyncRequest(link, f);
      case 'RESYNC_DATA': return this.onResyncData(link, f);
      case 'RESYNC_DONE': return this.onResyncDone(link);
      case 'VERIFY_REQUEST': return this.onVerifyRequest(link, f);
      case 'VERIFY_REPLY': {
        const r = decodeVerifyReply(f.payload, this.host.cfg.blockSize);
        if (!r.ok || this.verifySource === null) return this.drop(link, r.ok ? 'VERIFY_REPLY without a verify running' : r.detail);
        if (!this.verifySource.onReply(r.value)) return this.drop(link, `VERIFY_REPLY ${r.value.offset}+${r.value.length} was not requested`);
        return;
      }
      case 'VERIFY_DONE': return this.onVerifyDone();
      default:
        return this.drop(link, `${f.type} is not expected after the connect handshake`);
    }
  }

  private onHandshakeFrame(link: PeerLink, f: Frame): void {
    if (f.type === 'STATE' && this.peerState === null) {
      const s = decodeState(f.payload);
      if (!s.ok) return this.drop(link, s.detail);
      this.peerState = s.value;
      this.peerRoleSent = s.value.role;
    } else if (f.type === 'BITMAP' && this.peerState !== null && this.peerBitmap === null) {
      const b = Bitmap.deserialize(f.payload);
      if (!b.ok) return this.drop(link, `BITMAP: ${b.reason}: ${b.detail}`);
      if (b.bitmap.volumeSize !== this.host.cfg.size || b.bitmap.granularity !== this.host.cfg.blockSize) {
        return this.drop(link, `BITMAP geometry ${b.bitmap.volumeSize}/${b.bitmap.granularity} is not the volume's ${this.host.cfg.size}/${this.host.cfg.blockSize}`);
      }
      this.peerBitmap = b.bitmap;
    } else {
      return this.drop(link, `${f.type} during the connect handshake (want STATE, then BITMAP)`);
    }
    this.maybeDecide();
  }

  private maybeDecide(): void {
    const link = this.link;
    if (link === null || this.phase !== 'handshake' || this.sent === null || this.peerState === null || this.peerBitmap === null) return;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    const out = decideConnect(this.policies, this.host.node, this.sent, this.name, this.peerState);
    const log = out.kind === 'standalone' ? this.host.log.warn : this.host.log.info;
    log.call(this.host.log, `${this.host.cfg.name}: ${out.log}`);
    if (out.kind !== 'standalone' && link.state !== 'established') return; // gone meanwhile: the next connect decides again
    if (this.sent.discardMyData) this.host.discardMyDataUsed();
    if (out.kind === 'standalone') {
      this.splitBrain = out.splitBrain;
      if (out.splitBrain) this.host.emit('replica.split-brain', { volume: this.host.cfg.name, peer: this.name, detail: out.log });
      this.unfreeze();
      return this.disable(out.log);
    }
    this.phase = 'running';
    this.ackTimer = setInterval(() => this.checkAcks(), ACK_CHECK_MS);
    this.host.emit('replica.connected', { volume: this.host.cfg.name, peer: this.name, outcome: out.kind });
    if (out.kind === 'established') {
      this.replication = 'Established';
      this.unfreeze();
      if (out.inSync) this.background(this.host.connectedInSync(this.name), 'recording the connect');
    } else {
      const union = this.sentBitmap?.clone() ?? new Bitmap(this.host.cfg.size, this.host.cfg.blockSize);
      if (out.full) union.setAll();
      else union.merge(this.peerBitmap);
      this.startResync(link, out.kind === 'sync-source' ? 'SyncSource' : 'SyncTarget', out.full, union);
    }
    // A promotion during the handshake changed what we told the peer: tell it again, so it follows or reconnects.
    const now = this.host.stateFor(this.name);
    if (now.role !== this.sent.role || now.disk !== this.sent.disk || now.generations.current !== this.sent.generations.current) this.sendState();
  }

  private startResync(link: PeerLink, direction: 'SyncSource' | 'SyncTarget', full: boolean, union: Bitmap): void {
    const now = Date.now();
    this.replication = direction;
    this.resync = { direction, full, total: union.outOfSyncBytes(), done: 0, startedAt: now, samples: [{ at: now, done: 0 }] };
    this.host.emit('replica.resync.started', { volume: this.host.cfg.name, peer: this.name, direction, full, bytes: this.resync.total });
    if (direction === 'SyncSource') return this.unfreeze();
    this.background(this.host.resyncTargetStarted(this.name).then(() => {
      this.unfreeze();
      if (this.link !== link) return;
      this.target = new ResyncTarget({
        link, disk: this.host.disk, bitmap: union, csums: this.host.cfg.csumsResync,
        appBusy: () => Date.now() - this.lastWriteAt < APP_BUSY_MS,
        onProgress: (bytes) => this.progress(bytes),
        onDone: () => this.finishAsTarget(link),
      });
      this.target.start();
    }), 'starting the resync', link);
  }

  private progress(bytes: number): void {
    const r = this.resync;
    if (r === null) return;
    r.done = Math.min(r.total, r.done + bytes);
    const now = Date.now();
    const last = r.samples[r.samples.length - 1];
    if (last !== undefined && now - last.at >= 1000) {
      r.samples.push({ at: now, done: r.done });
      if (r.samples.length > 5) r.samples.shift();
    }
  }

  private async finishAsTarget(link: PeerLink): Promise<void> {
    await this.applier?.idle();
    if (this.link !== link || this.peerState === null) return;
    await this.host.disk.flush(); // UpToDate only once the synced blocks are on stable storage
    if (link.state !== 'established') return;
    link.send({ type: 'RESYNC_DONE' });
    await this.host.resyncFinished(this.name, true, this.peerState.generations);
    this.endResync(link);
  }

  private onResyncDone(link: PeerLink): void {
    if (this.resync?.direction !== 'SyncSource') return this.drop(link, 'RESYNC_DONE while not SyncSource');
    this.background(this.host.resyncFinished(this.name, false, this.host.generations).then(() => this.endResync(link)), 'finishing the resync', link);
  }

  private endResync(link: PeerLink): void {
    const r = this.resync;
    this.resync = null;
    this.target = null;
    if (this.link !== link) return;
    this.replication = 'Established';
    const secs = r === null ? 0 : (Date.now() - r.startedAt) / 1000;
    this.host.log.info(`${this.host.cfg.name}: resync with ${this.name} finished (${r?.direction ?? '?'}, ${r?.total ?? 0} bytes in ${secs.toFixed(1)} s)`);
    this.host.emit('replica.resync.finished', { volume: this.host.cfg.name, peer: this.name, direction: r?.direction, bytes: r?.total, seconds: secs });
    this.sendState();
  }

  // Tell the peer our role / disk / generations changed.
  sendState(): void {
    if (this.phase !== 'running' || this.link?.state !== 'established') return;
    this.link.send({ type: 'STATE', payload: encodeState(this.host.stateFor(this.name)) });
  }

  private onStateUpdate(link: PeerLink, f: Frame): void {
    const s = decodeState(f.payload);
    if (!s.ok) return this.drop(link, s.detail);
    if (s.value.role === 'Primary' && this.host.role === 'Primary') return this.drop(link, 'both sides are Primary: refusing two Primaries on one volume');
    this.peerRoleSent = s.value.role;
    // In stream order: every write before this STATE is applied first.
    this.applier?.push({
      seq: f.seq, range: null, run: async () => {
        const before = this.peerState;
        this.peerState = s.value;
        const g = s.value.generations;
        if (before !== null && g.current !== before.generations.current && s.value.role === 'Primary' && this.replication === 'Established'
          && this.host.generations.current === before.generations.current) {
          await this.host.followPeerGeneration(this.name, g.current);
        }
        if (s.value.role === 'Primary' && this.host.role === 'Primary') return this.drop(link, 'both sides are Primary: refusing two Primaries on one volume');
        // A forced promotion or an invalidate elsewhere: only a new connect handshake can sync us.
        const ours = this.host.generations;
        if (this.replication === 'Established' && g.current !== ours.current && !(ours.fresh && g.fresh)) {
          this.reconnect(`${this.name} moved to generation ${g.current}, we hold ${ours.current}: connecting again to resync`);
        }
      },
    });
  }

  // ---- Primary side of the write stream ----

  // Waits while this peer holds too many unacknowledged bytes (protocol A's bound).
  // Null when there is room now, so the write path awaits nothing in the usual case.
  room(): Promise<void> | null {
    if (this.hasRoom()) return null;
    return new Promise((res) => this.roomWaiters.push(res));
  }

  hasRoom(): boolean {
    return this.pending.bytes < MAX_PENDING_BYTES || !this.receivesWrites;
  }

  // Sends one application write, in frames of at most MAX_WRITE_FRAME; the waiter hears each frame's ack (or loss).
  replicate(offset: number, data: Buffer | null, length: number, fua: boolean, waiter: WriteCompletion): void {
    const link = this.link as PeerLink;
    const flags = (fua ? FLAG_FUA : 0) | (data === null ? FLAG_ZEROES : 0);
    for (let at = 0; at < length; at += data === null ? length : MAX_WRITE_FRAME) {
      const n = data === null ? length : Math.min(MAX_WRITE_FRAME, length - at);
      const payload = data === null ? encodeZeroes(offset, length) : [encodeWriteHeader(offset + at), data.subarray(at, at + n)];
      const seq = this.sendHeld(link, data, flags, payload);
      waiter.expect();
      this.pending.add(seq, offset + at, n, Date.now(), waiter);
    }
    this.writesSent++;
  }

  // The application's buffer may be reused once the request is answered (buffer-pool.ts): held until the socket wrote it.
  private sendHeld(link: PeerLink, data: Buffer | null, flags: number, payload: Uint8Array | Uint8Array[]): bigint {
    if (data === null) return link.send({ type: 'WRITE', flags, payload });
    payloadPool.retain(data);
    try {
      return link.send({ type: 'WRITE', flags, payload, sent: () => payloadPool.release(data) });
    } catch (e) {
      payloadPool.release(data);
      throw e;
    }
  }

  // Protocol C FLUSH: every write before the barrier is on the peer's stable storage.
  barrier(): Promise<boolean> {
    if (!this.receivesWrites || this.link === null) return Promise.resolve(false);
    const id = this.nextBarrier++;
    const p = new Promise<boolean>((res) => this.barriers.set(id, res));
    this.link.send({ type: 'BARRIER', payload: encodeU64(id) });
    return p;
  }

  private onWriteAck(link: PeerLink, f: Frame): void {
    const s = decodeU64(f.payload, 'WRITE_ACK');
    if (!s.ok) return this.drop(link, s.detail);
    this.pending.ack(s.value, (f.flags & FLAG_ON_DISK) !== 0);
    if (this.pending.bytes < MAX_PENDING_BYTES) this.wakeRoom();
  }

  // DRBD's ko-count x timeout: a peer that stops acknowledging is dropped, so it never stalls the application for long.
  private checkAcks(): void {
    const oldest = this.pending.oldestSentAt();
    if (oldest !== null && Date.now() - oldest > this.host.cfg.timeoutMs) {
      this.dropCurrent(`no acknowledgement for ${Date.now() - oldest} ms (timeout ${this.host.cfg.timeoutMs} ms)`);
    }
  }

  private wakeRoom(): void {
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const f of w) f();
  }

  // ---- Secondary side of the write stream ----

  private onWrite(link: PeerLink, f: Frame): void {
    // The newest STATE counts, even while it waits its turn in the apply queue.
    if (this.peerRoleSent !== 'Primary') return this.drop(link, 'WRITE from a peer that is not Primary');
    if (this.host.role === 'Primary') return this.drop(link, 'WRITE to a Primary: one Primary per volume');
    const w = decodeWrite(f.payload, (f.flags & FLAG_ZEROES) !== 0);
    if (!w.ok) return this.drop(link, w.detail);
    const { offset, length, data } = w.value;
    if (offset + length > this.host.cfg.size) return this.drop(link, `WRITE ${offset}+${length} ends past the volume's ${this.host.cfg.size} bytes`);
    const fua = (f.flags & FLAG_FUA) !== 0;
    this.writesReceived++;
    this.lastWriteAt = Date.now();
    this.writeSeqs.push(f.seq);
    this.lastReceivedWrite = f.seq;
    if (this.host.cfg.protocol === 'B') this.scheduleReceivedAck();
    const disk = this.host.disk;
    this.applier?.push({
      seq: f.seq, range: { offset, length },
      // The frame's buffer goes back to the pool once written; nothing else holds a WRITE payload.
      run: () => {
        if (data === null) return disk.writeZeroes(offset, length, fua);
        if (fua || !disk.writeInline(offset, data)) return disk.write(offset, data, fua).finally(() => payloadPool.release(data));
        payloadPool.release(data);
      },
    });
  }

  private onBarrier(link: PeerLink, f: Frame): void {
    const id = decodeU64(f.payload, 'BARRIER');
    if (!id.ok) return this.drop(link, id.detail);
    this.applier?.push({
      seq: f.seq, range: null, run: async () => {
        await this.host.disk.flush();
        if (link.state === 'established') link.send({ type: 'BARRIER_ACK', payload: encodeU64(id.value) });
      },
    });
  }

  private onWatermark(seq: bigint): void {
    this.watermark = seq;
    let acked = false;
    while (this.writeSeqs.length > 0 && (this.writeSeqs[0] as bigint) <= seq) {
      this.writeSeqs.shift();
      acked = true;
    }
    if (!acked || this.ackScheduled) return;
    this.ackScheduled = true;
    // One cumulative ack for everything applied in this burst (nextTick runs once the microtasks of the burst are done).
    process.nextTick(() => {
      this.ackScheduled = false;
      if (this.link?.state === 'established') this.link.send({ type: 'WRITE_ACK', flags: FLAG_ON_DISK, payload: encodeU64(this.watermark) });
    });
  }

  private scheduleReceivedAck(): void {
    if (this.receivedAckScheduled) return;
    this.receivedAckScheduled = true;
    process.nextTick(() => {
      this.receivedAckScheduled = false;
      if (this.link?.state === 'established') this.link.send({ type: 'WRITE_ACK', payload: encodeU64(this.lastReceivedWrite) });
    });
  }

  private applyFailed(err: unknown): void {
    this.host.log.error(`${this.host.cfg.name}: writing data from ${this.name} failed: ${(err as Error).message}; dropping the link`);
    this.dropCurrent(`the peer could not write: ${(err as Error).message}`);
  }

  // ---- Resync ----

  private onResyncRequest(link: PeerLink, f: Frame): void {
    if (this.replication !== 'SyncSource') return this.drop(link, 'RESYNC_REQUEST while not SyncSource');
    const r = decodeResyncRequest(f.payload);
    if (!r.ok) return this.drop(link, r.detail);
    const { offset, length, hash } = r.value;
    if (offset + length > this.host.cfg.size) return this.drop(link, `RESYNC_REQUEST ${offset}+${length} ends past the volume`);
    void (async () => {
      // Read and send under the range lock: an application write to these blocks goes before or after, never between.
      const release = await this.host.lock.acquire(offset, length);
      try {
        const data = await this.host.disk.read(offset, length);
        if (this.link !== link || link.state !== 'established') return;
        const same = hash !== null && createHash('sha256').update(data).digest().equals(hash);
        const head = encodeResyncDataHeader(offset, length, same);
        link.send({ type: 'RESYNC_DATA', payload: same ? head : [head, data] });
      } finally {
        release();
      }
      this.progress(length);
    })().catch((e: unknown) => this.drop(link, `serving a resync request: ${(e as Error).message}`));
  }

  private onResyncData(link: PeerLink, f: Frame): void {
    const target = this.target;
    if (target === null) return this.drop(link, 'RESYNC_DATA while not SyncTarget');
    const r = decodeResyncData(f.payload);
    if (!r.ok) return this.drop(link, r.detail);
    const { offset, length, data } = r.value;
    if (!target.expects(offset, length)) return this.drop(link, `RESYNC_DATA ${offset}+${length} was not requested`);
    this.applier?.push({
      seq: f.seq, range: { offset, length },
      run: async () => {
        if (data !== null) await this.host.disk.writeUncached(offset, data); // a replica's pages serve no reader
        target.onData(offset, length);
      },
    });
  }

  // ---- Verify ----

  verify(): void {
    const link = this.link;
    if (link === null || this.replication !== 'Established') throw new Error(`${this.name} is ${this.connection}/${this.replication}, verify needs Connected/Established`);
    this.replication = 'VerifyS';
    this.verifySource = new VerifySource({
      link, disk: this.host.disk, lock: this.host.lock, size: this.host.cfg.size, blockSize: this.host.cfg.blockSize,
      onMismatch: (offset, length) => this.host.bitmapFor(this.name).setRange(offset, length),
      onDone: (mismatched) => {
        this.verifySource = null;
        if (this.link !== link) return;
        this.replication = 'Established';
        if (link.state === 'established') link.send({ type: 'VERIFY_DONE', payload: Buffer.of(1) });
        this.verifyFinished(mismatched);
      },
    });
    this.verifySource.start();
  }

  private verifyFinished(mismatched: number): void {
    const v = this.host.cfg.name;
    this.host.log.info(`${v}: Online verify with ${this.name} done: ${mismatched} bytes out of sync${mismatched > 0 ? ' (marked in the bitmap; they resync at the next connect)' : ''}`);
    this.host.emit('replica.verify.finished', { volume: v, peer: this.name, mismatched_bytes: mismatched });
    this.background(this.host.persist(), 'saving the verify result');
  }

  private onVerifyRequest(link: PeerLink, f: Frame): void {
    const bs = this.host.cfg.blockSize;
    const r = decodeVerifyRequest(f.payload, bs);
    if (!r.ok) return this.drop(link, r.detail);
    const { offset, length, hashes } = r.value;
    if (offset + length > this.host.cfg.size) return this.drop(link, `VERIFY_REQUEST ${offset}+${length} ends past the volume`);
    if (this.replication === 'Established') {
      this.replication = 'VerifyT';
      this.verifyT = { total: this.host.cfg.size, done: 0, mismatched: 0 };
    }
    this.applier?.push({
      seq: f.seq, range: null, run: async () => {
        // A Secondary's pages serve no reader; a Primary's do, so it reads through its cache.
        const disk = this.host.disk;
        const mine = hashBlocks(await (this.host.role === 'Primary' ? disk.read(offset, length) : disk.readUncached(offset, length)), bs);
        const bad: number[] = [];
        for (let i = 0; i * 16 < hashes.length; i++) {
          if (!mine.subarray(i * 16, i * 16 + 16).equals(hashes.subarray(i * 16, i * 16 + 16))) bad.push(i);
        }
        for (const b of bad) this.host.bitmapFor(this.name).setRange(offset + b * bs, Math.min(bs, offset + length - (offset + b * bs)));
        if (this.verifyT) {
          this.verifyT.done += length;
          this.verifyT.mismatched += bad.reduce((n, b) => n + Math.min(bs, length - b * bs), 0);
        }
        if (link.state === 'established') link.send({ type: 'VERIFY_REPLY', payload: encodeVerifyReply(offset, length, bad) });
      },
    });
  }

  private onVerifyDone(): void {
    if (this.replication !== 'VerifyT') return;
    const mismatched = this.verifyT?.mismatched ?? 0;
    this.replication = 'Established';
    this.verifyT = null;
    this.verifyFinished(mismatched);
  }

  // ---- Link end ----

  private onClosed(link: PeerLink, info: LinkCloseInfo): void {
    if (this.link !== link) return;
    this.released(link, info);
    this.unfreeze();
    this.applier?.stop();
    this.applier = null;
    this.target?.stop();
    this.target = null;
    this.verifySource?.stop();
    this.verifySource = null;
    this.verifyT = null;
    this.resync = null;
    // Unacknowledged writes may be missing on the peer: into the bitmap, then complete them.
    const lost = this.pending.drain();
    this.background(Promise.all(lost.map((w) => this.host.markOutOfSync(this.name, w.offset, w.length))).finally(() => {
      for (const w of lost) settleLost(w);
    }), 'marking unacknowledged writes out of sync');
    for (const [, settle] of this.barriers) settle(false);
    this.barriers.clear();
    this.wakeRoom();
    this.host.log.warn(`${this.host.cfg.name}: connection to ${this.name} lost (${info.reason}: ${info.detail})${lost.length > 0 ? `; ${lost.length} unacknowledged write(s) marked out of sync` : ''}`);
    this.host.emit('replica.disconnected', { volume: this.host.cfg.name, peer: this.name, reason: info.reason, detail: info.detail });
  }

  // We end this link: nothing it still has queued is handled (the frame that failed it may be followed by more).
  private drop(link: PeerLink, detail: string): void {
    this.dropped.add(link);
    if (this.link === link) this.applier?.stop();
    link.fail(detail);
  }

  private dropCurrent(detail: string): void {
    if (this.link !== null) this.drop(this.link, detail);
  }

  // Work that runs on its own: a failure is logged (and drops the link it concerns), never an unhandled rejection.
  private background(p: Promise<unknown>, what: string, link?: PeerLink): void {
    p.catch((e: unknown) => {
      this.host.log.error(`${this.host.cfg.name}: ${what} with ${this.name} failed: ${(e as Error).message}`);
      if (link !== undefined) this.drop(link, `${what} failed here`);
    });
  }

  private unfreeze(): void {
    const r = this.release;
    this.release = null;
    r?.();
  }

  status(): PeerStatus {
    return {
      ...this.sessionFields(),
      writes_sent: this.writesSent,
      writes_received: this.writesReceived,
      out_of_sync_bytes: this.host.bitmapFor(this.name).outOfSyncBytes(),
      pending: this.pending.count,
      unacked: this.pending.count,
      resync: this.resyncStatus(),
      verify: this.verifyStatus(),
    };
  }

  private resyncStatus(): ResyncProgress | null {
    const r = this.resync;
    if (r === null) return null;
    const first = r.samples[0] as { at: number; done: number };
    const secs = (Date.now() - first.at) / 1000;
    const rate = secs > 0.5 ? (r.done - first.done) / secs : 0;
    const left = r.total - r.done;
    return {
      direction: r.direction, full: r.full, total_bytes: r.total, done_bytes: r.done,
      percent: r.total === 0 ? 100 : Math.floor((1000 * r.done) / r.total) / 10,
      rate_bytes_per_s: Math.round(rate), eta_s: rate > 0 ? Math.ceil(left / rate) : null,
    };
  }

  private verifyStatus(): VerifyProgress | null {
    const v = this.verifySource?.progress() ?? (this.verifyT === null ? null : { ...this.verifyT });
    if (v === null) return null;
    return {
      direction: this.verifySource !== null ? 'VerifyS' : 'VerifyT', total_bytes: v.total, done_bytes: v.done,
      percent: v.total === 0 ? 100 : Math.floor((1000 * v.done) / v.total) / 10, mismatched_bytes: v.mismatched,
    };
  }
}
