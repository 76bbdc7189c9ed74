// The volume-level connect decision (pure): from the two STATE snapshots the
// sides exchanged, what this side becomes. Both sides compute it from the same
// pair, mirrored, so they agree without another round trip (DRBD's
// drbd_sync_handshake).
import { resolveSplitBrain, describeResolution, type AfterSbPolicies, type SbSide } from '../after-sb.js';
import { decideSync, describeDecision } from '../sync-decision.js';
import { pauseReason, sameFeeds, type Feed } from './one-source.js';
import type { PeerState } from './wire.js';

export type ConnectOutcome =
  // `sharedPrimary`: not in sync, and nothing moves only because both take that Primary's writes (decide again once that ends).
  | { kind: 'established'; inSync: boolean; log: string; sharedPrimary?: string }
  | { kind: 'sync-source'; full: boolean; log: string }
  | { kind: 'sync-target'; full: boolean; log: string }
  // `retry`: a passing state (two Primaries while one hands over): the link closes and is dialed again, not StandAlone.
  // `peerNewer` (with `retry`): this node is one of the two Primaries, and the peer's data is to replace its own.
  | { kind: 'standalone'; splitBrain: boolean; log: string; retry?: boolean; peerNewer?: string }
  // Data would flow, but one side already has a source (one-source.ts), or would flow into a Primary: nothing
  // moves until that ends. `peerNewer`: this node is that Primary, and the peer's data is to replace its own.
  | { kind: 'paused'; replication: 'PausedSyncS' | 'PausedSyncT'; why: string; log: string; peerNewer?: boolean };

export interface DecideOptions {
  // Block volumes on links of protocol 6: two Secondaries that take one Primary's writes are held Established (sharedPrimary).
  holdShared?: boolean;
  // Links of protocol 7: at one generation, bits a side marked after its own crash as Secondary make the other's copy win.
  staleBits?: boolean;
  // Links of protocol 8: data that should flow into a Primary waits paused on a link that stays up (intoPrimary).
  pauseIntoPrimary?: boolean;
}

export function decideConnect(
  policies: AfterSbPolicies,
  localName: string,
  local: PeerState,
  peerName: string,
  peer: PeerState,
  opts: DecideOptions = {},
): ConnectOutcome {
  const out = decideAlone(policies, localName, local, peerName, peer, opts);
  return local.feeds === undefined || peer.feeds === undefined ? out : oneSource(out, localName, local, peerName, peer, opts);
}

// Another link's handshake may have decided since our STATE left, so the peer decided from feeds we no
// longer have: the outcome with our feeds as they are now, or null when they are what that STATE said.
export function decideWithFeedsNow(
  policies: AfterSbPolicies, localName: string, sent: PeerState, peerName: string, peer: PeerState, feeds: Feed[], opts: DecideOptions = {},
): ConnectOutcome | null {
  return sameFeeds(feeds, sent.feeds) ? null : decideConnect(policies, localName, { ...sent, feeds }, peerName, peer, opts);
}

// What a paused connect decided from: when one of these changes (either side's), it must decide again.
export function changedForPause(then: PeerState, now: PeerState): boolean {
  return then.role !== now.role || then.disk !== now.disk || then.generations.current !== now.generations.current || !sameFeeds(then.feeds, now.feeds);
}

// The outcome as if this pair were alone.
function decideAlone(policies: AfterSbPolicies, localName: string, local: PeerState, peerName: string, peer: PeerState, opts: DecideOptions): ConnectOutcome {
  if (local.size !== peer.size || local.blockSize !== peer.blockSize) {
    return { kind: 'standalone', splitBrain: false, log: `refusing ${peerName}: its volume is ${peer.size} bytes / ${peer.blockSize}-byte blocks, ours ${local.size} / ${local.blockSize}` };
  }
  // drbd.conf(5) "protocol": both ends must run the same one.
  if (local.protocol !== peer.protocol) {
    return { kind: 'standalone', splitBrain: false, log: `refusing ${peerName}: it runs protocol ${peer.protocol}, we run ${local.protocol}` };
  }
  const side = (name: string, s: PeerState): SbSide => ({
    name, generations: s.generations, role: s.role, disk: s.disk, changedBlocks: s.changedBlocks, discardMyData: s.discardMyData,
    ...(s.lostPrimaryBlocks === undefined ? {} : { lostPrimaryBlocks: s.lostPrimaryBlocks }),
  });
  const l = side(localName, local);
  const p = side(peerName, peer);
  const d = decideSync(l, p);
  const line = describeDecision(d, l, p);
  // One Primary per volume (DRBD without allow-two-primaries): two Primaries never connect, except
  // to let a split brain's after-sb-2pri policy speak.
  if (local.role === 'Primary' && peer.role === 'Primary' && d.kind !== 'split-brain') {
    const log = `refusing ${peerName}: both sides are Primary (one Primary per volume); trying again until one is Secondary`;
    // The stale one of the two (the peer's data is to replace ours) must not write meanwhile, and an HA node steps down.
    if (d.kind === 'refuse' && d.target === 'local' && opts.pauseIntoPrimary === true) {
      return { kind: 'standalone', splitBrain: false, retry: true, log, peerNewer: `${peerName}'s data is to replace ${localName}'s, and both are Primary: ${localName} must become Secondary` };
    }
    return { kind: 'standalone', splitBrain: false, retry: true, log };
  }
  switch (d.kind) {
    case 'no-sync': {
      const stale = opts.staleBits === true ? { local: local.staleBits === true, peer: peer.staleBits === true } : { local: false, peer: false };
      return sameGeneration(d.rule, l, p, line, stale);
    }
    case 'sync':
      return d.source === 'local' ? { kind: 'sync-source', full: d.full, log: line } : { kind: 'sync-target', full: d.full, log: line };
    case 'split-brain': {
      const r = resolveSplitBrain(policies, l, p, d.common);
      const text = describeResolution(r, l, p);
      if (r.kind === 'disconnect') return { kind: 'standalone', splitBrain: true, log: text };
      // after_sb_2pri violently-as0p: DRBD applies it only with allow-two-primaries, where both stay connected
      // Primaries. Here the two never connect, so the loser would be left a Primary marked Inconsistent with
      // nothing to resync it: the brain stays split, for the operator to settle (secondary, discard-my-data).
      if (local.role === 'Primary' && peer.role === 'Primary') {
        return { kind: 'standalone', splitBrain: true, log: `${text}; not carried out: both are Primary, and one Primary per volume means no resync into either (make the side to discard Secondary, then discard-my-data there)` };
      }
      return r.victim === 'local' ? { kind: 'sync-target', full: r.full, log: text } : { kind: 'sync-source', full: r.full, log: text };
    }
    case 'refuse':
      return opts.pauseIntoPrimary === true ? intoPrimary(localName, local, peerName) : { kind: 'standalone', splitBrain: false, log: line };
    default:
      return { kind: 'standalone', splitBrain: false, log: line };
  }
}

// The data should flow into a Primary (its peer was Primary while it was away, or it was promoted by force
// with worse data): a Primary's data is in use and never resynced under it. The link waits, paused, and
// decides again once the Primary demotes, then resyncs (by bitmap where it can). A block Primary refuses
// writes from here until it demotes (volume.ts writesRefused): a write would split the brain, and an after-sb
// policy could then drop the peer's newer writes. DRBD drops the link (StandAlone) and leaves the rest to the
// operator; an HA node steps down instead (ha-node.ts). Links before protocol 8 drop it too. A peer with no
// bits for the Primary may still hold newer data (a full-sync verdict, a directory Secondary that followed
// another Primary), so even then the Primary's copy never wins.
// The words of such a wait's reason that tell it from a wait for another source (status formats it by them).
export const INTO_PRIMARY_WAIT = 'which is Primary and in use';

function intoPrimary(localName: string, local: PeerState, peerName: string): ConnectOutcome {
  const primary = local.role === 'Primary' ? localName : peerName;
  const newer = local.role === 'Primary' ? peerName : localName;
  const why = `${newer}'s data is to replace ${primary}'s, ${INTO_PRIMARY_WAIT}: the resync waits until ${primary} is Secondary`;
  const log = `no resync with ${peerName} yet: ${why}`;
  return local.role === 'Primary'
    ? { kind: 'paused', replication: 'PausedSyncT', why, log, peerNewer: true }
    : { kind: 'paused', replication: 'PausedSyncS', why, log };
}

// Same current generation: normally in sync. Bits at the same generation come
// from a Primary that crashed (its activity log, marked at restart), from a
// Secondary that crashed (its log of its Primary's writes, marked at restart:
// its own copy is the suspect one, `stale`), from Secondaries that lost their
// Primary (the extents its stream touched last, which may differ between
// them; reconcile.ts primaryLost), or from an online verify. With a Primary,
// its copy wins: it is what the application reads. Without one, a side whose
// bits are stale loses to one whose are not; otherwise the side with bits is
// ahead; both with bits: nothing moves (DRBD: "No resync, but N bits in bitmap!").
function sameGeneration(rule: string, l: SbSide, p: SbSide, line: string, stale: { local: boolean; peer: boolean }): ConnectOutcome {
  if (rule !== 'same-current' || (l.changedBlocks === 0 && p.changedBlocks === 0)) return { kind: 'established', inSync: rule === 'same-current', log: line };
  const why = `same generation, ${l.changedBlocks} block(s) out of sync here and ${p.changedBlocks} on ${p.name}`;
  if (l.role === 'Primary') return { kind: 'sync-source', full: false, log: `${l.name} is SyncSource (bitmap-based): ${why}; ${l.name} is Primary, its copy wins` };
  if (p.role === 'Primary') return { kind: 'sync-target', full: false, log: `${p.name} is SyncSource (bitmap-based): ${why}; ${p.name} is Primary, its copy wins` };
  const staleWhy = (name: string): string => `${why}; ${name}'s bits are marks of its own crash as Secondary, its copy of them may be stale`;
  if (stale.local && !stale.peer) return { kind: 'sync-target', full: false, log: `${p.name} is SyncSource (bitmap-based): ${staleWhy(l.name)}` };
  if (stale.peer && !stale.local) return { kind: 'sync-source', full: false, log: `${l.name} is SyncSource (bitmap-based): ${staleWhy(p.name)}` };
  if (p.changedBlocks === 0) return { kind: 'sync-source', full: false, log: `${l.name} is SyncSource (bitmap-based): ${why}` };
  if (l.changedBlocks === 0) return { kind: 'sync-target', full: false, log: `${p.name} is SyncSource (bitmap-based): ${why}` };
  return { kind: 'established', inSync: false, log: `No resync, but ${l.changedBlocks} bits in bitmap! (${why}; neither side is Primary: run verify, or invalidate the stale side)` };
}

// Two Secondaries at one generation that both take the same Primary's writes: its stream keeps both
// current, and what bits they hold for each other (a lost Primary's extents, misses a Primary told of,
// or stale ones) are decided again once that ends (opts.holdShared). Meanwhile nothing moves between
// them and nothing waits.
function sharedPrimary(local: PeerState, peer: PeerState): string | null {
  if (local.role !== 'Secondary' || peer.role !== 'Secondary' || local.generations.current !== peer.generations.current) return null;
  const theirs = new Set((peer.feeds ?? []).filter((f) => f.replication === 'Established').map((f) => f.peer));
  return (local.feeds ?? []).find((f) => f.replication === 'Established' && theirs.has(f.peer))?.peer ?? null;
}

// Data flows from a SyncSource to its SyncTarget, and from a Primary to an
// Established Secondary. Either waits while one side has another source.
function oneSource(out: ConnectOutcome, localName: string, local: PeerState, peerName: string, peer: PeerState, opts: DecideOptions): ConnectOutcome {
  const primary = opts.holdShared === true ? sharedPrimary(local, peer) : null;
  if (primary !== null && (out.kind === 'sync-source' || out.kind === 'sync-target')) {
    return {
      kind: 'established', inSync: false, sharedPrimary: primary,
      log: `no resync between ${localName} and ${peerName} while both take ${primary}'s writes at one generation (${local.changedBlocks} bit(s) set here, ${peer.changedBlocks} on ${peerName}); they connect again once that ends`,
    };
  }
  let weSend: boolean;
  if (out.kind === 'sync-source' || out.kind === 'sync-target') weSend = out.kind === 'sync-source';
  else if (out.kind === 'established' && (local.role === 'Primary' || peer.role === 'Primary')) weSend = local.role === 'Primary';
  else return out;
  const why = weSend
    ? pauseReason(peerName, peer.feeds ?? [], localName, local.feeds ?? [])
    : pauseReason(localName, local.feeds ?? [], peerName, peer.feeds ?? []);
  if (why === null) return out;
  const what = out.kind === 'established' ? `${weSend ? localName : peerName}'s writes to ${weSend ? peerName : localName}` : `the resync (${out.log})`;
  return { kind: 'paused', replication: weSend ? 'PausedSyncS' : 'PausedSyncT', why, log: `${what} waits: ${why} (one source at a time)` };
}
