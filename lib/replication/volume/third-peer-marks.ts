// A Secondary's part in tracking what its Primary's other peers miss
// (replication.md "What a third peer misses"): it marks the ranges the
// Primary forwards (PEER_OUT_OF_SYNC), keeps the Primary's bitmap entries for
// peers it saw split off (generations.ts followPrimary), and keeps its record
// unclean while it holds entries and may take a Primary's writes: its marks
// have no activity log behind them, so after a crash volume-open.ts drops the
// entries instead of trusting bits that may lack the newest marks.
import type { Bitmap } from '../block/bitmap.js';
import { bitmapEntry, followPrimary, type Generations } from '../generations.js';
import type { VolumeLog } from './host.js';
import type { PeerState } from './wire.js';

const MAX_UNTRACKED = 64; // names warned about; a peer naming ever new ones does not grow the set without end

export interface ThirdPeerHost {
  readonly volume: string;
  readonly node: string;
  readonly log: VolumeLog;
  generations: Generations;
  role(): 'Primary' | 'Secondary';
  peer(name: string): { readonly movesNoData: boolean; readonly peerRole: string | null; sendState(): void } | undefined;
  peerNames(): readonly string[];
  bitmapFor(peer: string): Bitmap;
  // Of our bits for `peer`, those only a lost Primary's marks set (reconcile.ts).
  lostPrimaryMarks(peer: string): number;
  // Every bit for `peer` cleared (and what made them stale, volume.ts).
  clearBits(peer: string): void;
  bitsSet(offset: number, length: number): void;
  save(): Promise<void>;
  // cleanShutdown false on disk (unclean-record.ts).
  recordUnclean(): Promise<void>;
  broadcastState(): void;
}

export class ThirdPeerMarks {
  private readonly untracked = new Set<string>();

  constructor(private readonly h: ThirdPeerHost) {}

  // A new link's connect handshake, before our STATE: a Primary's writes on it come after this save, so a mark
  // that follows its write (one unacknowledged when a peer was lost) never lives under a record that says clean.
  async beforeStream(): Promise<void> {
    if (this.h.role() === 'Secondary' && this.holdsEntries(this.h.generations)) await this.h.recordUnclean();
  }

  // In step with Primary `primary`: its STATE, in stream order (peer.ts).
  async follow(primary: string, state: PeerState, forwarded: boolean): Promise<void> {
    const { h } = this;
    const before = h.generations;
    const f = followPrimary(before, h.node, primary, state.generations, forwarded);
    // A peer the Primary holds no entry for (never split off, or stopped tracking) holds its data; so do we
    // when neither of us has bits for the other: our bits for that peer are stale (an invalidate's full
    // resync, a crash's distrust), and would make our link to it resync for nothing, the whole volume after one.
    const even = h.bitmapFor(primary).countSet() === 0 && state.changedBlocks === 0;
    const cleared = even ? this.clearStale(primary, state.generations) : [];
    // Its writes come after this STATE (a promotion on a link already up, too): they find the record unclean.
    if (this.holdsEntries(f.generations)) await this.h.recordUnclean();
    if (f.generations === before && cleared.length === 0) return;
    h.generations = f.generations;
    await h.save();
    // Our peers see where we stand: a SyncTarget of ours adopts the generation we hold, not the one before.
    if (f.generations.current !== before.current) h.broadcastState();
    else for (const p of cleared) h.peer(p)?.sendState();
  }

  // A resync into this node from `source` finished: our data is now its data. From a Primary, as in step
  // (follow): its STATE after the resync goes to the others only, and one from before it still counted bits.
  // The caller saves and tells the peers.
  syncedFrom(source: string, sourceGenerations: Generations): void {
    if (this.h.peer(source)?.peerRole === 'Primary') this.clearStale(source, sourceGenerations);
  }

  // Our bits for each peer the Primary holds no entry for and that we move no data with, cleared (we hold the
  // Primary's data): the peers they were cleared for. A lost Primary's marks stay: the new Primary may not yet
  // have reconciled that peer (it takes an entry for it only as that resync starts), and if it dies first, ours fix it.
  private clearStale(primary: string, pg: Generations): string[] {
    const { h } = this;
    const inStep = (p: string): boolean => p !== primary && p !== h.node && bitmapEntry(pg, p) === undefined;
    const stale = (p: string): boolean => h.bitmapFor(p).countSet() > 0 && h.lostPrimaryMarks(p) === 0;
    const cleared = h.peerNames().filter((p) => inStep(p) && h.peer(p)?.movesNoData === true && stale(p));
    for (const p of cleared) h.clearBits(p);
    return cleared;
  }

  // Our Primary `primary` says its peer `peer` missed this range (PEER_OUT_OF_SYNC).
  async missed(primary: string, peer: string, offset: number, length: number): Promise<void> {
    const { h } = this;
    if (h.peer(peer) === undefined || peer === primary) {
      if (!this.untracked.has(peer) && this.untracked.size < MAX_UNTRACKED) {
        this.untracked.add(peer);
        h.log.warn(`${h.volume}: ${primary} says ${peer} missed writes, but ${peer} is not another peer of ours: nothing is tracked for it here (do the configurations differ?)`);
      }
      return;
    }
    // Set at once, so a stop's save holds them whenever it comes.
    h.bitmapFor(peer).setRange(offset, length);
    h.bitsSet(offset, length);
    // An entry trusts these bits: the write this mark precedes waits until the record says unclean. Without an
    // entry nothing relies on them, and taking one saves the record unclean first (follow).
    if (bitmapEntry(h.generations, peer) !== undefined) await this.h.recordUnclean();
  }

  private holdsEntries(g: Generations): boolean {
    return Object.keys(g.bitmap).length > 0;
  }
}
