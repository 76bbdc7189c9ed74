// Which way data flows when two nodes connect, from their generation
// identifiers and disk states (DRBD 9 guide "DRBD Internals > Generation
// identifiers > How DRBD uses generation identifiers"). Pure and total: any
// pair of valid records gives a decision, never an exception. Full table with
// one row per rule: docs/replication-decisions.md.
//
//  #  rule                     condition (first match wins; each is checked in both directions)  decision
//  1  no-disk                  a disk is Diskless, Attaching or DUnknown                          no-sync
// 1a  resync-resumes           one disk Inconsistent, the other's bitmap UUID for it names its     sync from the other, bitmap
//                              current (set when a resync towards it began: onResyncStarted)
//  2  both-fresh               both records fresh (new volumes)                                   no-sync
//  3  one-fresh                one record fresh                                                   sync from the other, full
//  4  same-current             current UUIDs equal                                                no-sync
//  5  bitmaps-cross            each bitmap UUID equals the other's current (impossible lineage)   split-brain, common
//  6  bitmap-is-peer-current   my bitmap UUID for the peer == peer's current                      sync, I am source, bitmap
//  7  currents-in-histories    each current is in the other's history (impossible lineage)        split-brain, common
//  8  current-in-history       my current is in the peer's history                                sync, I am target, full
//  9  same-bitmap              bitmap UUIDs for each other equal (non-zero), currents differ      split-brain, common
// 10  shared-ancestor          any other UUID in common                                           split-brain, not common
// 11  nothing-shared           no UUID in common                                                  unrelated (refuse)
// Then, unless the verdict is both-fresh or unrelated:
// 12  both-inconsistent        both disks Inconsistent                                            no-sync
// 13  one-inconsistent         one disk Inconsistent, verdict not a sync towards it               sync from the other, full
//     (a bitmap sync towards the Inconsistent side is kept: an interrupted resync resumes)
// 14  primary-would-be-target  the sync target is Primary                                         refuse
import type { DiskState, ReplicationState, Role } from './states.js';
import { bitmapUuid, knownUuids, ZERO_UUID, type Generations } from './generations.js';

export interface Side {
  readonly name: string;
  readonly generations: Generations;
  readonly role: Role;
  readonly disk: DiskState;
  // Bits set in this side's bitmap for the other side (blocks changed since the split).
  readonly changedBlocks: number;
  // Of those, the ones only a lost Primary's marks set (its last extents, reconcile.ts): no change of this side's.
  readonly lostPrimaryBlocks?: number;
}

export type SyncRule =
  | 'no-disk' | 'resync-resumes' | 'both-fresh' | 'one-fresh' | 'same-current' | 'bitmaps-cross' | 'bitmap-is-peer-current'
  | 'currents-in-histories' | 'current-in-history' | 'same-bitmap' | 'shared-ancestor' | 'nothing-shared'
  | 'both-inconsistent' | 'one-inconsistent' | 'primary-would-be-target';

export type Decision =
  | { kind: 'no-sync'; rule: SyncRule }
  | { kind: 'sync'; source: 'local' | 'peer'; full: boolean; rule: SyncRule }
  | { kind: 'split-brain'; common: boolean; rule: SyncRule }
  | { kind: 'unrelated'; rule: SyncRule }
  // `target`: the side the data would flow into, a Primary.
  | { kind: 'refuse'; rule: SyncRule; target: 'local' | 'peer' };

// DRBD prints this when no UUID matches; the link is dropped.
export const UNRELATED_DATA_LOG = 'Unrelated data, aborting!';

const noSync = (rule: SyncRule): Decision => ({ kind: 'no-sync', rule });
const sync = (source: 'local' | 'peer', full: boolean, rule: SyncRule): Decision => ({ kind: 'sync', source, full, rule });
const splitBrain = (common: boolean, rule: SyncRule): Decision => ({ kind: 'split-brain', common, rule });

// One rule checked in both directions: exactly one -> that direction, both -> a
// lineage no history can produce, so both sides have data the other lacks.
function directed(localWins: boolean, peerWins: boolean, full: boolean, rule: SyncRule, bothRule: SyncRule): Decision | null {
  if (localWins && peerWins) return splitBrain(true, bothRule);
  if (localWins) return sync('local', full, rule);
  if (peerWins) return sync('peer', full, rule);
  return null;
}

function generationVerdict(local: Side, peer: Side): Decision {
  const L = local.generations;
  const P = peer.generations;
  // DRBD 9 guide: "current UUIDs empty on both nodes" -> wait for a forced primary.
  if (L.fresh && P.fresh) return noSync('both-fresh');
  // "Current UUIDs empty on one node" -> the other is the source, full sync.
  if (L.fresh !== P.fresh) return sync(P.fresh ? 'local' : 'peer', true, 'one-fresh');
  // "Equal current UUIDs" -> nothing to sync.
  if (L.current === P.current) return noSync('same-current');
  // "Bitmap UUID matches peer's current UUID" -> SyncSource, bitmap-based.
  const lbm = bitmapUuid(L, peer.name);
  const pbm = bitmapUuid(P, local.name);
  const byBitmap = directed(lbm !== ZERO_UUID && lbm === P.current, pbm !== ZERO_UUID && pbm === L.current, false, 'bitmap-is-peer-current', 'bitmaps-cross');
  if (byBitmap !== null) return byBitmap;
  // "Current UUID matches peer's historical UUID" -> SyncTarget, full (its bitmap is no use).
  const byHistory = directed(L.history.includes(P.current), P.history.includes(L.current), true, 'current-in-history', 'currents-in-histories');
  if (byHistory !== null) return byHistory;
  // "Bitmap UUIDs match, current UUIDs do not" -> split brain with a common parent.
  if (lbm !== ZERO_UUID && lbm === pbm) return splitBrain(true, 'same-bitmap');
  // "Neither current nor bitmap UUIDs match" -> split brain, auto-recovery moot.
  const mine = knownUuids(L);
  for (const u of knownUuids(P)) if (mine.has(u)) return splitBrain(false, 'shared-ancestor');
  // "No UUIDs match" -> unrelated data: never connect two strangers.
  return { kind: 'unrelated', rule: 'nothing-shared' };
}

// DUnknown is a peer seen from afar; Attaching has no data yet; Diskless never has.
const hasDisk = (d: DiskState): boolean => d !== 'Diskless' && d !== 'Attaching' && d !== 'DUnknown';

// The source of a resync that was cut off: its bitmap (with the target's) still
// holds every block the target lacks, so only those move (DRBD resumes too).
function resumedSource(local: Side, peer: Side): 'local' | 'peer' | null {
  const li = local.disk === 'Inconsistent';
  const pi = peer.disk === 'Inconsistent';
  if (li === pi) return null;
  const [src, dst] = li ? [peer, local] : [local, peer];
  return bitmapUuid(src.generations, dst.name) === dst.generations.current ? (li ? 'peer' : 'local') : null;
}

export function decideSync(local: Side, peer: Side): Decision {
  if (!hasDisk(local.disk) || !hasDisk(peer.disk)) return noSync('no-disk');
  const resumed = resumedSource(local, peer);
  if (resumed !== null) {
    if ((resumed === 'local' ? peer : local).role === 'Primary') return { kind: 'refuse', rule: 'primary-would-be-target', target: resumed === 'local' ? 'peer' : 'local' };
    return sync(resumed, false, 'resync-resumes');
  }
  const verdict = generationVerdict(local, peer);
  if (verdict.kind === 'unrelated' || verdict.rule === 'both-fresh') return verdict;
  let d: Decision = verdict;
  const li = local.disk === 'Inconsistent';
  const pi = peer.disk === 'Inconsistent';
  // DRBD 9 guide "Disk states": Inconsistent data is no source for anyone.
  if (li && pi) d = noSync('both-inconsistent');
  else if (li || pi) {
    const source = li ? 'peer' : 'local';
    if (!(verdict.kind === 'sync' && verdict.source === source)) d = sync(source, true, 'one-inconsistent');
  }
  // A Primary's data is in use: it is never overwritten by a resync.
  if (d.kind === 'sync' && (d.source === 'local' ? peer : local).role === 'Primary') return { kind: 'refuse', rule: 'primary-would-be-target', target: d.source === 'local' ? 'peer' : 'local' };
  return d;
}

// The per-peer replication state the decision leads to; null: the link is dropped (StandAlone).
export function replicationStateAfter(d: Decision): ReplicationState | null {
  if (d.kind === 'no-sync') return 'Established';
  if (d.kind === 'sync') return d.source === 'local' ? 'SyncSource' : 'SyncTarget';
  return null;
}

const RULE_TEXT: Record<SyncRule, string> = {
  'no-disk': 'a side has no usable disk',
  'resync-resumes': 'an interrupted resync resumes: the blocks it had not moved yet, and those marked since (a crashed Primary marks its activity log)',
  'both-fresh': 'both volumes are new; promote one with --force to start the initial sync',
  'one-fresh': 'one volume is new: initial full sync',
  'same-current': 'same data generation',
  'bitmaps-cross': 'each side claims to be ahead of the other',
  'bitmap-is-peer-current': "the target is at the source's split point: the blocks either side marked since then are resynced",
  'currents-in-histories': 'each side descends from the other',
  'current-in-history': "the target's generation is an ancestor of the source's: its bitmap is of no use, full sync",
  'same-bitmap': 'both sides changed data since their common generation',
  'shared-ancestor': 'both sides changed data and their bitmaps do not share a generation: automatic recovery does not apply',
  'nothing-shared': 'no generation in common',
  'both-inconsistent': 'neither side has consistent data',
  'one-inconsistent': 'the target disk is Inconsistent: full sync',
  'primary-would-be-target': 'the data of the Primary would be overwritten',
};

// One log line for the connect handshake.
export function describeDecision(d: Decision, local: Side, peer: Side): string {
  const why = RULE_TEXT[d.rule];
  switch (d.kind) {
    case 'no-sync':
      return `no resync with ${peer.name}: ${why}`;
    case 'sync': {
      const [src, dst] = d.source === 'local' ? [local, peer] : [peer, local];
      return `${src.name} is SyncSource, ${dst.name} is SyncTarget (${d.full ? 'full' : 'bitmap-based'}): ${why}`;
    }
    case 'split-brain':
      return `Split-Brain detected with ${peer.name}: ${why}`;
    case 'unrelated':
      return `${UNRELATED_DATA_LOG} ${peer.name}: ${why}`;
    case 'refuse':
      return `refusing to connect to ${peer.name}: ${why}`;
  }
}
