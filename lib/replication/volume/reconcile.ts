// Reconciliation after a lost Primary (three or more nodes): a write in
// flight when the Primary died may have reached some Secondaries and not
// others. Each Secondary logs the extents its Primary's stream touches
// (secondary-log.ts); when that link ends without a demote, the logged
// extents count as out of sync towards its other peers, and the next Primary
// resyncs them from its own copy (docs/replication.md "A lost Primary's last
// writes").
import { extentRanges } from '../block/activity-log.js';
import { Bitmap } from '../block/bitmap.js';
import { isInStep, type ReplicationState } from '../states.js';
import type { VolumeLog } from './host.js';

interface ReconcilePeer {
  readonly name: string;
  readonly replication: ReplicationState;
  readonly peerState: { changedBlocks: number } | null;
  reconnect(detail: string): void;
}

export interface ReconcileHost {
  readonly volume: string;
  readonly size: number;
  readonly extentSize: number;
  readonly log: VolumeLog;
  role(): 'Primary' | 'Secondary';
  peers(): Iterable<ReconcilePeer>;
  bitmapFor(peer: string): Bitmap;
  // Per peer, the blocks whose bit only a lost Primary's marks set: not changes of ours, so the after-sb policies
  // that weigh changes (discard-zero-changes, discard-least-changes) do not count them. The metadata record's, so
  // saved with it and kept across a restart.
  readonly marksOnly: Map<string, Bitmap>;
  // The activity log's extents: as Secondary, those its Primary's stream touched last (secondary-log.ts).
  loggedExtents(): number[];
  // The marks are saved and told to every peer but `except`.
  marked(except: string): Promise<void>;
}

export class Reconciliation {
  constructor(private readonly h: ReconcileHost) {}

  private get marksOnly(): Map<string, Bitmap> {
    return this.h.marksOnly;
  }

  // Our Primary `peer` is gone without demoting (a crash, a cut link): the writes it had in flight lie in
  // the extents its stream touched last, which our log holds, so they count as out of sync towards every other peer.
  async primaryLost(peer: string): Promise<void> {
    const { h } = this;
    const ranges = extentRanges(h.extentSize, h.loggedExtents(), h.size);
    const others = [...h.peers()].filter((s) => s.name !== peer);
    if (ranges.length === 0 || others.length === 0) return;
    for (const s of others) {
      const bits = h.bitmapFor(s.name);
      let only = this.marksOnly.get(s.name);
      if (only === undefined) this.marksOnly.set(s.name, (only = new Bitmap(bits.volumeSize, bits.granularity)));
      for (const r of ranges) {
        const { first, end } = blocksOf(bits, r.offset, r.length);
        // The runs not set yet: a bit set already is a change, and stays one.
        for (let b = bits.nextClear(first, end); b < end; b = bits.nextClear(b, end)) {
          const stop = bits.nextSet(b, end); // -1: clear to the end
          only.setBlocks(b, stop < 0 ? end : stop);
          if (stop < 0) break;
          b = stop;
        }
        bits.setRange(r.offset, r.length);
      }
    }
    h.log.info(`${h.volume}: Primary ${peer} lost: the ${ranges.length} extent(s) its writes touched last count as out of sync towards ${others.map((s) => s.name).join(', ')} (a write in flight may have reached only some of us)`);
    await h.marked(peer);
  }

  // A change of ours, or of our Primary's, missed by `peer` (the write path, PEER_OUT_OF_SYNC): those blocks count.
  changed(peer: string, offset: number, length: number): void {
    this.marksOnly.get(peer)?.clearTouched(offset, length);
  }

  // Of the blocks out of sync towards `peer`, how many only a lost Primary's marks set.
  lostPrimaryBlocks(peer: string): number {
    const only = this.marksOnly.get(peer);
    if (only === undefined) return 0;
    // Blocks resynced or cleared since are marks no more: set again later (a lost link's writes, a crash's extents), they are changes.
    const n = only.intersect(this.h.bitmapFor(peer));
    if (n === 0) this.marksOnly.delete(peer); // resynced (or cleared): nothing of them left
    return n;
  }

  // As a new Primary: a peer in step with us but with blocks out of sync either way (a lost Primary's
  // last extents) reconnects, and the handshake resyncs them from us: our copy wins.
  reconcile(peer: string): void {
    const s = [...this.h.peers()].find((p) => p.name === peer);
    if (this.h.role() !== 'Primary' || s === undefined || !isInStep(s.replication)) return;
    const bits = this.h.bitmapFor(peer).countSet() + (s.peerState?.changedBlocks ?? 0);
    if (bits > 0) s.reconnect(`reconciling ${bits} block(s) out of sync with ${peer}: the new Primary's copy wins`);
  }
}

// The blocks a byte range touches, as setRange marks them.
function blocksOf(b: Bitmap, offset: number, length: number): { first: number; end: number } {
  return { first: Math.floor(offset / b.granularity), end: Math.min(b.bits, Math.floor((offset + length - 1) / b.granularity) + 1) };
}
