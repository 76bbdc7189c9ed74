// The Primary's side of the write stream to one peer: WRITE frames out,
// WRITE_ACK and BARRIER_ACK in, the bound on unacknowledged bytes (protocol
// A's only brake), and what a lost link leaves behind (the writes to mark out
// of sync, the barriers that failed). One per peer session, across links.
import { payloadPool } from '../../net/buffer-pool.js';
import { FLAG_FUA, FLAG_ZEROES } from '../link/frame-types.js';
import type { PeerLink } from '../link/peer-link.js';
import { PendingWrites, type PendingWrite } from './pending.js';
import { encodeU64, encodeWriteHeader, encodeZeroes } from './wire.js';
import type { WriteCompletion } from './write-completion.js';

export const MAX_PENDING_BYTES = 64 << 20; // unacknowledged bytes per peer before writes wait
export const MAX_WRITE_FRAME = 4 << 20; // a larger application write goes as several WRITE frames

export class WriteSender {
  writesSent = 0;
  private readonly pending = new PendingWrites();
  private readonly barriers = new Map<bigint, (ok: boolean) => void>();
  private nextBarrier = 1n;
  private roomWaiters: Array<() => void> = [];
  private lastAckAt = -Infinity; // the peer's last WRITE_ACK: it makes progress

  get count(): number {
    return this.pending.count;
  }

  get hasRoom(): boolean {
    return this.pending.bytes < MAX_PENDING_BYTES;
  }

  // Null when there is room now, so the write path awaits nothing in the usual case.
  room(): Promise<void> | null {
    if (this.hasRoom) return null;
    return new Promise((res) => this.roomWaiters.push(res));
  }

  // Sends one application write, in frames of at most MAX_WRITE_FRAME; the waiter hears each frame's ack (or loss).
  replicate(link: PeerLink, offset: number, data: Buffer | null, length: number, fua: boolean, waiter: WriteCompletion, now: number): void {
    const flags = (fua ? FLAG_FUA : 0) | (data === null ? FLAG_ZEROES : 0);
    for (let at = 0; at < length; at += data === null ? length : MAX_WRITE_FRAME) {
      const n = data === null ? length : Math.min(MAX_WRITE_FRAME, length - at);
      const payload = data === null ? encodeZeroes(offset, length) : [encodeWriteHeader(offset + at), data.subarray(at, at + n)];
      const seq = sendHeld(link, data, flags, payload);
      waiter.expect();
      this.pending.add(seq, offset + at, n, now, waiter);
      this.writesSent++; // per WRITE frame, as the peer counts writes_received (one per 4 MiB of a larger write)
    }
  }

  // Protocol C FLUSH: resolves true once every write before the barrier is on the peer's stable storage.
  barrier(link: PeerLink): Promise<boolean> {
    const id = this.nextBarrier++;
    const p = new Promise<boolean>((res) => this.barriers.set(id, res));
    link.send({ type: 'BARRIER', payload: encodeU64(id) });
    return p;
  }

  onWriteAck(seq: bigint, onDisk: boolean, now: number): void {
    this.lastAckAt = Math.max(this.lastAckAt, now);
    this.pending.ack(seq, onDisk);
    if (this.hasRoom) this.wakeRoom();
  }

  onBarrierAck(id: bigint): void {
    this.barriers.get(id)?.(true);
    this.barriers.delete(id);
  }

  // DRBD's ko-count x timeout: how long the oldest unacknowledged write has waited, counted from the peer's
  // last sign of progress when that is later (0: none waits): its last acknowledgement, or `peerTookAt`, when
  // it last reported taking in more of our data (PeerLink.peerProgressAt). A peer that does keeps up as well
  // as the link lets it: protocol A may queue more than `timeout` of writes for a slow link (up to
  // MAX_PENDING_BYTES), and one 4 MiB frame takes 8 s to cross at 4 Mbit/s. A peer whose disk is stuck stops
  // acknowledging, and soon stops reading (its applier's backlog is bounded), so it is still dropped.
  oldestWait(now: number, peerTookAt: number | null = null): number {
    const oldest = this.pending.oldestSentAt();
    return oldest === null ? 0 : now - Math.max(oldest, this.lastAckAt, peerTookAt ?? -Infinity);
  }

  // The link is gone: its barriers fail, waiting writers go on (to the
  // bitmap), and the unacknowledged writes are returned, oldest first, for
  // the caller to mark out of sync and then settle (pending.ts settleLost).
  lost(): PendingWrite[] {
    const lost = this.pending.drain();
    for (const [, settle] of this.barriers) settle(false);
    this.barriers.clear();
    this.wakeRoom();
    return lost;
  }

  private wakeRoom(): void {
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const f of w) f();
  }
}

// The application's buffer may be reused once the request is answered (buffer-pool.ts): held until the socket wrote it.
function sendHeld(link: PeerLink, data: Buffer | null, flags: number, payload: Uint8Array | Uint8Array[]): bigint {
  if (data === null) return link.send({ type: 'WRITE', flags, payload });
  payloadPool.retain(data);
  try {
    return link.send({ type: 'WRITE', flags, payload, sent: () => payloadPool.release(data) });
  } catch (e) {
    payloadPool.release(data);
    throw e;
  }
}
