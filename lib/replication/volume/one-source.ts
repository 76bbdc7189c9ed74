// One source at a time (pure). Data reaches a node's disk from a peer that is
// its SyncSource, or from a Primary's write stream. Two at once interleave:
// a block from one can land after a newer one from the other, and the node
// ends UpToDate with stale data. DRBD resolves such conflicts on the target;
// we keep them apart instead. Each node tells each peer, in its STATE, what
// its other links do (its feeds), and a connect that would add a second
// source waits (PausedSyncS / PausedSyncT) until the first has finished.
//
// | would-be target is              | would-be source is                | outcome |
// |---------------------------------|-----------------------------------|---------|
// | SyncTarget of another peer      | anything                          | paused  |
// | taking another Primary's writes | anything                          | paused  |
// | SyncSource of another peer      | anything (its data would change   | paused  |
// |                                 | under that peer's resync)         |         |
// | free                            | SyncTarget of another peer        | paused  |
// | free                            | taking another Primary's writes   | paused  |
// |                                 | (it forwards none of them)        |         |
// | free                            | free, or SyncSource of others     | goes on |
//
// Before the table, for block volumes (handshake-decision.ts sharedPrimary):
// two Secondaries at one generation that take the same Primary's writes are
// Established whatever bits they hold, and decide again once that ends.

import { isInStep, type ReplicationState } from '../states.js';

// One of a node's other links, as it tells a peer. `Established` only for a
// Primary peer: the node applies that Primary's writes.
export interface Feed {
  peer: string;
  replication: 'SyncSource' | 'SyncTarget' | 'Established';
}

// What a session tells feedsOf about itself.
export interface FeedView {
  name: string;
  replication: ReplicationState;
  peerRole: string;
  linkUp: boolean; // running, link up (a link being wound up moves nothing more)
}

// The feeds a node reports to `recipient`: its other links that move data.
export function feedsOf(sessions: Iterable<FeedView>, recipient: string): Feed[] {
  const out: Feed[] = [];
  for (const s of sessions) {
    if (s.name === recipient || !s.linkUp) continue;
    if (s.replication === 'SyncSource' || s.replication === 'SyncTarget') out.push({ peer: s.name, replication: s.replication });
    else if (isInStep(s.replication) && s.peerRole === 'Primary') out.push({ peer: s.name, replication: 'Established' });
  }
  return out;
}

export function describeFeed(node: string, f: Feed): string {
  if (f.replication === 'Established') return `${node} takes ${f.peer}'s writes (Primary)`;
  return `${node} is ${f.replication} of ${f.peer}`;
}

// Why data from `source` may not flow into `target` now, or null when it may.
export function pauseReason(target: string, targetFeeds: readonly Feed[], source: string, sourceFeeds: readonly Feed[]): string | null {
  const t = targetFeeds[0];
  if (t !== undefined) return describeFeed(target, t);
  const s = sourceFeeds.find((f) => f.replication !== 'SyncSource');
  return s === undefined ? null : `${describeFeed(source, s)} and forwards none of it`;
}

// What a volume last told its peers of its feeds (all of them, whoever the recipient).
export class FeedsTold {
  private told: Feed[] = [];

  // True when the feeds are not those last told; they count as told from now.
  changed(sessions: Iterable<FeedView>): boolean {
    const now = feedsOf(sessions, '');
    if (sameFeeds(now, this.told)) return false;
    this.told = now;
    return true;
  }
}

export function sameFeeds(a: readonly Feed[] | undefined, b: readonly Feed[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((f, i) => f.peer === b[i]?.peer && f.replication === b[i]?.replication);
}
