// DRBD's resource-level fencing, the pure part: what a fence-peer handler's
// exit code means (drbd.conf "fence-peer"; DRBD 8.4 conn_try_outdate_peer),
// and who may mark a disk Outdated (`drbdadm outdate`). The handler itself is
// run by the node (fence-peers.ts gets a runner), never from here.
import { isNodeName } from '../config/names.js';
import type { DiskState, Role } from './states.js';

export const FENCING_POLICIES = ['dont-care', 'resource-only'] as const;
export type FencingPolicy = (typeof FENCING_POLICIES)[number];

// Exit codes of a fence-peer handler, as DRBD reads them.
export const FENCE_EXIT = {
  PEER_INCONSISTENT: 3, // the peer's disk is Inconsistent or worse: it cannot be promoted anyway
  PEER_OUTDATED: 4, // the peer's disk is now Outdated (or already was)
  PEER_UNREACHABLE: 5, // the peer could not be reached: taken as dead, if our disk is UpToDate
  PEER_PRIMARY: 6, // the peer is Primary: we are the stale side, so our disk becomes Outdated
  PEER_STONITHED: 7, // the peer was powered off
} as const;

export interface HandlerExit {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  startError: string | null;
}

export type FenceOutcome =
  | { kind: 'peer-fenced'; peerDisk: 'Outdated' | 'Inconsistent'; detail: string }
  | { kind: 'self-outdated'; detail: string }
  | { kind: 'failed'; detail: string };

// What the handler's result means for us and the peer. A handler that did not
// say (a signal, a timeout, another code) fenced nothing: the peer may be
// Primary, so a promotion must not go on unless forced.
export function fenceOutcome(r: HandlerExit, ownDisk: DiskState): FenceOutcome {
  if (r.startError !== null) return { kind: 'failed', detail: `the handler could not start (${r.startError})` };
  if (r.timedOut) return { kind: 'failed', detail: 'the handler timed out' };
  if (r.exitCode === null) return { kind: 'failed', detail: `the handler was killed by ${r.signal ?? 'a signal'}` };
  switch (r.exitCode) {
    case FENCE_EXIT.PEER_INCONSISTENT: return { kind: 'peer-fenced', peerDisk: 'Inconsistent', detail: 'exit 3: the peer is Inconsistent' };
    case FENCE_EXIT.PEER_OUTDATED: return { kind: 'peer-fenced', peerDisk: 'Outdated', detail: 'exit 4: the peer was outdated' };
    case FENCE_EXIT.PEER_UNREACHABLE:
      // Only a node holding the newest data may take an unreachable peer for dead (DRBD: "assumed to be dead").
      return ownDisk === 'UpToDate'
        ? { kind: 'peer-fenced', peerDisk: 'Outdated', detail: 'exit 5: the peer is unreachable, taken as dead' }
        : { kind: 'failed', detail: `exit 5: the peer is unreachable, and our disk is ${ownDisk}, not UpToDate` };
    case FENCE_EXIT.PEER_PRIMARY: return { kind: 'self-outdated', detail: 'exit 6: the peer is Primary, so our data is the stale copy' };
    case FENCE_EXIT.PEER_STONITHED: return { kind: 'peer-fenced', peerDisk: 'Outdated', detail: 'exit 7: the peer was powered off' };
    default: return { kind: 'failed', detail: `exit ${r.exitCode}: not one of 3 (peer Inconsistent), 4 (peer outdated), 5 (peer unreachable), 6 (peer Primary), 7 (peer powered off)` };
  }
}

// A Primary that loses a peer holding good data fences it, so that peer cannot
// be promoted on stale data (DRBD: pdsk >= Consistent when the connection goes).
export function fenceOnPeerLoss(policy: FencingPolicy, role: Role, lastPeerDisk: DiskState | null): boolean {
  return policy === 'resource-only' && role === 'Primary' && (lastPeerDisk === 'UpToDate' || lastPeerDisk === 'Consistent');
}

export type OutdateVerdict = { ok: true; change: boolean } | { ok: false; message: string };

// `tandem replica outdate` (drbdadm outdate), what a fence-peer handler runs
// on the peer: a Secondary's good data is marked Outdated; an Inconsistent
// disk stays as it is (already worse); a Primary, or a Secondary following a
// Primary, is refused: its data is the live copy. Unless that Primary is the
// one asking (`by`): it has lost us already, we only have not noticed yet.
export function outdateVerdict(role: Role, disk: DiskState, connectedToPrimary: string | null, by: string | null = null): OutdateVerdict {
  if (role === 'Primary') return { ok: false, message: 'the volume is Primary here: its data is the newest; only a Secondary can be outdated' };
  if (connectedToPrimary !== null && connectedToPrimary !== by) {
    return { ok: false, message: `connected to the Primary ${connectedToPrimary}, which keeps this disk up to date; disconnect first (or outdate --by ${connectedToPrimary} when it asks)` };
  }
  if (disk === 'Outdated' || disk === 'Inconsistent') return { ok: true, change: false };
  if (disk === 'UpToDate' || disk === 'Consistent') return { ok: true, change: true };
  return { ok: false, message: `the disk is ${disk}: there is no local data to outdate` };
}

// The disk state a volume opens with. Under resource-only fencing an
// UpToDate disk opens Consistent: while away, a peer may have been promoted,
// so it is UpToDate again only once a connect shows it, or once fencing the
// absent peers succeeds at promotion (DRBD attach: D_CONSISTENT unless
// fencing is dont-care). When every peer is known fenced (saved, so from
// before the restart) none can have been promoted on its data: UpToDate, as
// DRBD's attach makes a Consistent disk whose peer is marked outdated.
export function diskAtOpen(recorded: DiskState, policy: FencingPolicy, everyPeerFenced = false): DiskState {
  if (policy === 'resource-only' && (recorded === 'UpToDate' || recorded === 'Consistent')) return everyPeerFenced ? 'UpToDate' : 'Consistent';
  if (policy === 'dont-care' && recorded === 'Consistent') return 'UpToDate';
  return recorded;
}

// What fencing made of each absent peer, kept in the volume's metadata (DRBD's
// MDF_PEER_OUTDATED) until that peer connects again: peer name -> its disk.
export type FencedDisk = 'Outdated' | 'Inconsistent';
export type FencedPeers = Map<string, FencedDisk>;
const MAX_FENCED_PEERS = 31; // the most peers a volume has (block/metadata.ts MAX_PEERS)

// At open: what was saved of the configured peers only (a peer no longer configured is moot), and
// whether every peer is known fenced (diskAtOpen's third argument).
export function fencedAtOpen(saved: FencedPeers, peers: readonly string[]): { fenced: FencedPeers; every: boolean } {
  const fenced: FencedPeers = new Map([...saved].filter(([name]) => peers.includes(name)));
  return { fenced, every: peers.every((p) => fenced.has(p)) };
}

// For a metadata record's JSON.
export const fencedPeersJson = (m: FencedPeers): Record<string, FencedDisk> => Object.fromEntries(m);

// From a metadata record's JSON; absent (a record saved before fencing was saved) is none.
export function decodeFencedPeers(x: unknown): { ok: true; value: FencedPeers } | { ok: false; detail: string } {
  if (x === undefined) return { ok: true, value: new Map() };
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return { ok: false, detail: 'fencedPeers is not an object' };
  const entries = Object.entries(x);
  if (entries.length > MAX_FENCED_PEERS) return { ok: false, detail: `fencedPeers names ${entries.length} peers, at most ${MAX_FENCED_PEERS}` };
  const value: FencedPeers = new Map();
  for (const [peer, disk] of entries) {
    if (!isNodeName(peer)) return { ok: false, detail: `fencedPeers names ${JSON.stringify(peer.slice(0, 80))}, not a node name` };
    if (disk !== 'Outdated' && disk !== 'Inconsistent') return { ok: false, detail: `fencedPeers.${peer} is ${JSON.stringify(disk)}, not Outdated or Inconsistent` };
    value.set(peer, disk);
  }
  return { ok: true, value };
}

// A disk state after a connect that found nothing to sync: a copy equal to an
// UpToDate peer's is up to date too; two equal Consistent copies are the
// newest either side knows. An Outdated peer proves nothing.
export function diskWhenInSync(own: DiskState, peer: DiskState): DiskState {
  if (own === 'Outdated') return peer === 'UpToDate' ? 'UpToDate' : own;
  if (own === 'Consistent') return peer === 'UpToDate' || peer === 'Consistent' ? 'UpToDate' : own;
  return own;
}

// A SyncTarget's disk once its resync ends: the source's data, so no better
// than the source's state (an Outdated source makes an Outdated copy).
export function diskAfterResync(source: DiskState): DiskState {
  return source === 'Outdated' || source === 'Consistent' ? source : 'UpToDate';
}
