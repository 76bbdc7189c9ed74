// Whether a volume of either kind may become Primary now, and what that
// promotion means for its generations: DRBD 9 refuses a disk that is not
// UpToDate (unless forced), a second Primary, and a node still receiving a
// resync; a new data generation begins when some peer cannot follow, a fresh
// volume gets its first data, or the promotion is forced.
import { TandemError } from '../../errors.js';
import type { Generations } from '../generations.js';
import { onPromoteWhileDisconnected } from '../generations.js';
import { canPromote, isPausedSync, type DiskState, type ReplicationState, type Role } from '../states.js';

export interface PeerView {
  readonly name: string;
  readonly peerRole: Role;
  readonly replication: ReplicationState;
  readonly connected: boolean;
}

// A peer that will take none of the Primary's writes: not connected, or paused (one-source.ts).
export function missesWrites(s: { readonly connected: boolean; readonly replication: ReplicationState }): boolean {
  return !s.connected || isPausedSync(s.replication);
}

// Throws PROMOTE_REFUSED with the reason; returns the generations to hold as Primary.
export function promotion(volume: string, disk: DiskState, force: boolean, generations: Generations, peers: Iterable<PeerView>): { forced: boolean; generations: Generations } {
  const list = [...peers];
  // A resync into this disk says why it is Inconsistent better than the disk state does, and --force would not help.
  const source = list.find((s) => s.replication === 'SyncTarget');
  if (source !== undefined) throw new TandemError('PROMOTE_REFUSED', `${volume}: a resync from ${source.name} is running; promote once it has finished`, { transient: true });
  const v = canPromote(disk, force);
  if (!v.ok) throw new TandemError('PROMOTE_REFUSED', `${volume}: ${v.message}`);
  for (const s of list) {
    // Both may clear on their own (a peer handing over demotes, a resync ends): transient.
    if (s.peerRole === 'Primary') throw new TandemError('PROMOTE_REFUSED', `${volume}: ${s.name} is Primary; make it Secondary first (one Primary per volume)`, { transient: true });
  }
  const absent = list.filter(missesWrites).map((s) => s.name);
  const next = absent.length > 0 || generations.fresh || v.forced ? onPromoteWhileDisconnected(generations, absent) : generations;
  return { forced: v.forced, generations: next };
}
