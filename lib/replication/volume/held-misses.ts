// What a Primary's other peers missed while one Secondary's connect
// handshake ran (peer.ts tellMissed). That Secondary may follow a split made
// meanwhile once it is Established (generations.ts followPrimary), so it gets
// these PEER_OUT_OF_SYNC marks first. Pure; bounded: past `max` marks, the
// peer that overflowed counts as missing the whole volume.
import type { PeerOutOfSyncMsg } from './wire.js';

export const MAX_HELD_MISSES = 4096;
const WHOLE_STEP = 1 << 30; // a whole-volume mark goes out in 1 GiB ranges (the frame's length is a u32)

export class HeldMisses {
  private held: PeerOutOfSyncMsg[] = [];
  private readonly whole = new Set<string>();

  constructor(private readonly max = MAX_HELD_MISSES) {}

  hold(m: PeerOutOfSyncMsg): void {
    if (this.whole.has(m.peer)) return;
    if (this.held.length < this.max) {
      this.held.push(m);
      return;
    }
    this.whole.add(m.peer);
    this.held = this.held.filter((h) => h.peer !== m.peer);
  }

  // Everything held, in order, then each overflowed peer's whole volume of `size` bytes; nothing is held after.
  take(size: number): PeerOutOfSyncMsg[] {
    const out = this.held;
    for (const peer of this.whole) for (let o = 0; o < size; o += WHOLE_STEP) out.push({ offset: o, length: Math.min(WHOLE_STEP, size - o), peer });
    this.clear();
    return out;
  }

  clear(): void {
    this.held = [];
    this.whole.clear();
  }
}
