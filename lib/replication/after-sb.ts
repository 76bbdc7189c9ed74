// What to do after a split brain with a common ancestor: the after-sb-0pri /
// -1pri / -2pri policies of drbd.conf(5) (DRBD 9 guide "Automatic split brain
// recovery policies") and the manual `--discard-my-data`. Pure: the caller
// logs, drops the link or starts the resync the resolution names.
import { bitmapEntry } from './generations.js';
import type { Side } from './sync-decision.js';

export type AfterSb0pri =
  | 'disconnect' | 'discard-younger-primary' | 'discard-older-primary' | 'discard-zero-changes'
  | 'discard-least-changes' | `discard-node-${string}`;
export type AfterSb1pri = 'disconnect' | 'consensus' | 'discard-secondary' | 'violently-as0p';
export type AfterSb2pri = 'disconnect' | 'violently-as0p';

export interface AfterSbPolicies {
  readonly after_sb_0pri: AfterSb0pri;
  readonly after_sb_1pri: AfterSb1pri;
  readonly after_sb_2pri: AfterSb2pri;
}
// drbd.conf(5): disconnect is the default for all three.
export const DEFAULT_AFTER_SB: AfterSbPolicies = { after_sb_0pri: 'disconnect', after_sb_1pri: 'disconnect', after_sb_2pri: 'disconnect' };

export interface SbSide extends Side {
  // `tandem replica discard-my-data NAME` was given on this side before connecting.
  readonly discardMyData?: boolean;
}

export type SbReason =
  | 'policy-disconnect' | 'no-common-ancestor' | 'discard-my-data' | 'both-discard-my-data' | 'discard-my-data-on-primary'
  | 'younger-primary' | 'older-primary' | 'primary-order-unknown' | 'zero-changes' | 'no-changes-either-side'
  | 'both-changed' | 'least-changes' | 'equal-changes' | 'bad-change-count' | 'named-node' | 'named-node-absent'
  | 'secondary' | 'consensus-disagrees';

export type Resolution =
  | { kind: 'disconnect'; reason: SbReason; policy: string }
  // The victim's data is replaced from the other side: the union of both
  // bitmaps when they share a generation (full false), else the whole volume.
  | { kind: 'discard'; victim: 'local' | 'peer'; full: boolean; reason: SbReason; policy: string };

// The line users grep for (replication.md "Generation identifiers").
export const SPLIT_BRAIN_DISCONNECT_LOG = 'Split-Brain detected, dropping connection!';

type Who = 'local' | 'peer';
const other = (w: Who): Who => (w === 'local' ? 'peer' : 'local');
const disconnect = (reason: SbReason, policy: string): Resolution => ({ kind: 'disconnect', reason, policy });

// The number of Primaries now selects the policy; `common` comes from the split-brain decision.
export function resolveSplitBrain(policies: AfterSbPolicies, local: SbSide, peer: SbSide, common = true): Resolution {
  const discard = (victim: Who, reason: SbReason, policy: string): Resolution => ({ kind: 'discard', victim, full: !common, reason, policy });
  // DRBD 9 guide "Manual split brain recovery": the victim connects with --discard-my-data.
  const lMine = local.discardMyData === true;
  const pMine = peer.discardMyData === true;
  if (lMine && pMine) return disconnect('both-discard-my-data', 'discard-my-data');
  if (lMine || pMine) {
    const victim: Who = lMine ? 'local' : 'peer';
    // The guide's recipe makes the victim Secondary first: a Primary's data is in use.
    if ((lMine ? local : peer).role === 'Primary') return disconnect('discard-my-data-on-primary', 'discard-my-data');
    return discard(victim, 'discard-my-data', 'discard-my-data');
  }
  // DRBD 9 guide "How DRBD uses generation identifiers": unrelated ancestors make auto-recovery moot.
  if (!common) return disconnect('no-common-ancestor', 'none');
  const primaries = (local.role === 'Primary' ? 1 : 0) + (peer.role === 'Primary' ? 1 : 0);
  const as0p = (): Resolution => resolve0pri(policies.after_sb_0pri, local, peer, discard);
  if (primaries === 0) return as0p();
  if (primaries === 1) {
    const p = policies.after_sb_1pri;
    const secondary: Who = local.role === 'Primary' ? 'peer' : 'local';
    switch (p) {
      case 'disconnect':
        return disconnect('policy-disconnect', p);
      // drbd.conf(5): "Discard the secondary's version."
      case 'discard-secondary':
        return discard(secondary, 'secondary', p);
      // drbd.conf(5): discard the secondary if the 0pri policy would; otherwise disconnect.
      case 'consensus': {
        const r = as0p();
        if (r.kind === 'discard' && r.victim === secondary) return { ...r, policy: `consensus (${r.policy})` };
        return r.kind === 'disconnect' ? r : disconnect('consensus-disagrees', p);
      }
      // drbd.conf(5): the 0pri outcome even if the Primary's data changes under it.
      case 'violently-as0p':
        return as0p();
    }
  }
  const p2 = policies.after_sb_2pri;
  return p2 === 'violently-as0p' ? as0p() : disconnect('policy-disconnect', p2);
}

type Discard = (victim: Who, reason: SbReason, policy: string) => Resolution;

function resolve0pri(p: AfterSb0pri, local: SbSide, peer: SbSide, discard: Discard): Resolution {
  if (p === 'disconnect') return disconnect('policy-disconnect', p);
  if (p === 'discard-younger-primary' || p === 'discard-older-primary') {
    // Who was Primary when the split began is recorded with the bitmap UUID.
    const l = bitmapEntry(local.generations, peer.name)?.primaryAtSplit;
    const r = bitmapEntry(peer.generations, local.name)?.primaryAtSplit;
    if (l === undefined || r === undefined || l === r) return disconnect('primary-order-unknown', p);
    const older: Who = l ? 'local' : 'peer';
    // drbd.conf(5): younger = "the node that became primary as second during the split-brain".
    return p === 'discard-younger-primary' ? discard(other(older), 'younger-primary', p) : discard(older, 'older-primary', p);
  }
  if (p.startsWith('discard-node-')) {
    const name = p.slice('discard-node-'.length);
    if (name === local.name && name !== peer.name) return discard('local', 'named-node', p);
    if (name === peer.name && name !== local.name) return discard('peer', 'named-node', p);
    return disconnect('named-node-absent', p);
  }
  // Changes since the split: a lost Primary's marks are where its last writes may lie, not changes of either side.
  const lc = local.changedBlocks - (local.lostPrimaryBlocks ?? 0);
  const pc = peer.changedBlocks - (peer.lostPrimaryBlocks ?? 0);
  if (!Number.isSafeInteger(lc) || !Number.isSafeInteger(pc) || lc < 0 || pc < 0) return disconnect('bad-change-count', p);
  if (p === 'discard-zero-changes') {
    if (lc === 0 && pc === 0) {
      // Nothing diverged: a resync of 0 blocks either way; the later name adopts, so both sides agree.
      if (local.name === peer.name) return disconnect('no-changes-either-side', p);
      return discard(local.name > peer.name ? 'local' : 'peer', 'no-changes-either-side', p);
    }
    if (lc === 0) return discard('local', 'zero-changes', p);
    if (pc === 0) return discard('peer', 'zero-changes', p);
    return disconnect('both-changed', p);
  }
  // discard-least-changes: a tie never picks a loser at random.
  if (lc === pc) return disconnect('equal-changes', p);
  return discard(lc < pc ? 'local' : 'peer', 'least-changes', p);
}

const REASON_TEXT: Record<SbReason, string> = {
  'policy-disconnect': 'the policy is disconnect',
  'no-common-ancestor': 'the two sides share no bitmap generation, so no policy applies',
  'discard-my-data': 'discard-my-data was given',
  'both-discard-my-data': 'both sides were told to discard their data',
  'discard-my-data-on-primary': 'discard-my-data was given on a Primary; make it Secondary first',
  'younger-primary': 'it became Primary after the split',
  'older-primary': 'it was Primary when the split began',
  'primary-order-unknown': 'cannot tell which side became Primary first',
  'zero-changes': 'it changed no blocks',
  'no-changes-either-side': 'neither side changed a block',
  'both-changed': 'both sides changed blocks',
  'least-changes': 'it changed fewer blocks',
  'equal-changes': 'both sides changed the same number of blocks',
  'bad-change-count': 'a changed-block count is not a non-negative integer',
  'named-node': 'the policy names it',
  'named-node-absent': 'the policy names neither side',
  'secondary': 'it is the Secondary',
  'consensus-disagrees': 'the after-sb-0pri policy would not discard the Secondary',
};

export function describeResolution(r: Resolution, local: Side, peer: Side): string {
  if (r.kind === 'disconnect') return `${SPLIT_BRAIN_DISCONNECT_LOG} (${r.policy}: ${REASON_TEXT[r.reason]})`;
  const [victim, survivor] = r.victim === 'local' ? [local, peer] : [peer, local];
  return `Split-Brain detected, resolved by ${r.policy}: ${victim.name} discards its changes (${REASON_TEXT[r.reason]}); ${r.full ? 'full' : 'bitmap-based'} resync from ${survivor.name}`;
}
