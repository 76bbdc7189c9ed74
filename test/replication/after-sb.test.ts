import { expect } from 'chai';
import type { Generations } from '../../lib/replication/generations.js';
import {
  DEFAULT_AFTER_SB, describeResolution, resolveSplitBrain, SPLIT_BRAIN_DISCONNECT_LOG,
  type AfterSb0pri, type AfterSb1pri, type AfterSb2pri, type AfterSbPolicies, type Resolution, type SbSide,
} from '../../lib/replication/after-sb.js';
import { afterSbPolicyIssue, isAfterSb0pri, isAfterSb1pri, isAfterSb2pri } from '../../lib/replication/after-sb-policies.js';
import type { Role } from '../../lib/replication/states.js';

const u = (n: number): string => n.toString(16).padStart(16, '0');
// A split brain with a common parent (1): `primaryAtSplit` says who was Primary when it began.
const g = (current: number, other: string, primaryAtSplit: boolean | null): Generations => ({
  current: u(current), fresh: false, history: [u(1)],
  bitmap: primaryAtSplit === null ? {} : { [other]: { uuid: u(1), primaryAtSplit } },
});
interface Opt { role?: Role; changed?: number; lost?: number; atSplit?: boolean | null; discard?: boolean }
const a = (o: Opt = {}): SbSide => ({ name: 'a', generations: g(2, 'b', o.atSplit === undefined ? false : o.atSplit), role: o.role ?? 'Secondary', disk: 'UpToDate', changedBlocks: o.changed ?? 5, ...(o.lost === undefined ? {} : { lostPrimaryBlocks: o.lost }), discardMyData: o.discard ?? false });
const b = (o: Opt = {}): SbSide => ({ name: 'b', generations: g(3, 'a', o.atSplit === undefined ? false : o.atSplit), role: o.role ?? 'Secondary', disk: 'UpToDate', changedBlocks: o.changed ?? 5, ...(o.lost === undefined ? {} : { lostPrimaryBlocks: o.lost }), discardMyData: o.discard ?? false });
const p0 = (after_sb_0pri: AfterSb0pri, rest: Partial<AfterSbPolicies> = {}): AfterSbPolicies => ({ ...DEFAULT_AFTER_SB, after_sb_0pri, ...rest });
const p1 = (after_sb_1pri: AfterSb1pri, after_sb_0pri: AfterSb0pri = 'disconnect'): AfterSbPolicies => ({ ...DEFAULT_AFTER_SB, after_sb_0pri, after_sb_1pri });
const p2 = (after_sb_2pri: AfterSb2pri, after_sb_0pri: AfterSb0pri = 'disconnect'): AfterSbPolicies => ({ ...DEFAULT_AFTER_SB, after_sb_0pri, after_sb_2pri });
const drop = (reason: string, policy: string): Resolution => ({ kind: 'disconnect', reason, policy } as Resolution);
const lose = (victim: 'local' | 'peer', reason: string, policy: string, full = false): Resolution => ({ kind: 'discard', victim, full, reason, policy } as Resolution);

describe('replication/after-sb resolution table', () => {
  const P = 'Primary';
  const rows: [string, AfterSbPolicies, SbSide, SbSide, Resolution][] = [
    ['default: disconnect', DEFAULT_AFTER_SB, a(), b(), drop('policy-disconnect', 'disconnect')],
    // discard-my-data overrides every policy
    ['discard-my-data on local', p0('discard-least-changes'), a({ discard: true, changed: 9 }), b({ changed: 1 }), lose('local', 'discard-my-data', 'discard-my-data')],
    ['discard-my-data on peer, 1 primary', p1('discard-secondary'), a(), b({ discard: true, role: P }), drop('discard-my-data-on-primary', 'discard-my-data')],
    ['discard-my-data on a Secondary vs a Primary', p1('disconnect'), a({ role: P }), b({ discard: true }), lose('peer', 'discard-my-data', 'discard-my-data')],
    ['discard-my-data on both', DEFAULT_AFTER_SB, a({ discard: true }), b({ discard: true }), drop('both-discard-my-data', 'discard-my-data')],
    // 0 primaries
    ['younger-primary: peer became Primary during the split', p0('discard-younger-primary'), a({ atSplit: true }), b({ atSplit: false }), lose('peer', 'younger-primary', 'discard-younger-primary')],
    ['younger-primary: local', p0('discard-younger-primary'), a({ atSplit: false }), b({ atSplit: true }), lose('local', 'younger-primary', 'discard-younger-primary')],
    ['older-primary: local was Primary at the split', p0('discard-older-primary'), a({ atSplit: true }), b({ atSplit: false }), lose('local', 'older-primary', 'discard-older-primary')],
    ['older-primary: both were Primary at the split', p0('discard-older-primary'), a({ atSplit: true }), b({ atSplit: true }), drop('primary-order-unknown', 'discard-older-primary')],
    ['younger-primary: neither was', p0('discard-younger-primary'), a(), b(), drop('primary-order-unknown', 'discard-younger-primary')],
    ['younger-primary: no bitmap entry', p0('discard-younger-primary'), a({ atSplit: null }), b({ atSplit: true }), drop('primary-order-unknown', 'discard-younger-primary')],
    ['zero-changes: local changed nothing', p0('discard-zero-changes'), a({ changed: 0 }), b({ changed: 7 }), lose('local', 'zero-changes', 'discard-zero-changes')],
    ['zero-changes: peer changed nothing', p0('discard-zero-changes'), a({ changed: 7 }), b({ changed: 0 }), lose('peer', 'zero-changes', 'discard-zero-changes')],
    ['zero-changes: neither changed -> the later name adopts', p0('discard-zero-changes'), a({ changed: 0 }), b({ changed: 0 }), lose('peer', 'no-changes-either-side', 'discard-zero-changes')],
    ['zero-changes: both changed', p0('discard-zero-changes'), a({ changed: 1 }), b({ changed: 7 }), drop('both-changed', 'discard-zero-changes')],
    ['least-changes: local fewer', p0('discard-least-changes'), a({ changed: 3 }), b({ changed: 7 }), lose('local', 'least-changes', 'discard-least-changes')],
    ['least-changes: peer fewer', p0('discard-least-changes'), a({ changed: 3 }), b({ changed: 0 }), lose('peer', 'least-changes', 'discard-least-changes')],
    ['least-changes: tie disconnects', p0('discard-least-changes'), a({ changed: 4 }), b({ changed: 4 }), drop('equal-changes', 'discard-least-changes')],
    // A lost Primary's marks (reconcile.ts) are no change of the side that holds them (three or more nodes).
    ['zero-changes: only a lost Primary\'s marks count as none', p0('discard-zero-changes'), a({ changed: 1024, lost: 1024 }), b({ changed: 16 }), lose('local', 'zero-changes', 'discard-zero-changes')],
    ['least-changes: marks left out, own changes weighed', p0('discard-least-changes'), a({ changed: 256 }), b({ changed: 1056, lost: 1024 }), lose('peer', 'least-changes', 'discard-least-changes')],
    ['least-changes: a bad count disconnects', p0('discard-least-changes'), a({ changed: -1 }), b({ changed: 4 }), drop('bad-change-count', 'discard-least-changes')],
    ['zero-changes: NaN disconnects', p0('discard-zero-changes'), a({ changed: NaN }), b({ changed: 0 }), drop('bad-change-count', 'discard-zero-changes')],
    ['discard-node-b', p0('discard-node-b'), a(), b(), lose('peer', 'named-node', 'discard-node-b')],
    ['discard-node-a', p0('discard-node-a'), a(), b(), lose('local', 'named-node', 'discard-node-a')],
    ['discard-node-c: neither', p0('discard-node-c'), a(), b(), drop('named-node-absent', 'discard-node-c')],
    // 1 primary
    ['1pri disconnect, whatever 0pri says', p1('disconnect', 'discard-least-changes'), a({ role: P, changed: 1 }), b(), drop('policy-disconnect', 'disconnect')],
    ['1pri discard-secondary', p1('discard-secondary'), a({ changed: 100 }), b({ role: P, changed: 1 }), lose('local', 'secondary', 'discard-secondary')],
    ['1pri consensus: 0pri discards the secondary', p1('consensus', 'discard-least-changes'), a({ role: P, changed: 9 }), b({ changed: 1 }), lose('peer', 'least-changes', 'consensus (discard-least-changes)')],
    ['1pri consensus: 0pri would discard the primary', p1('consensus', 'discard-least-changes'), a({ role: P, changed: 1 }), b({ changed: 9 }), drop('consensus-disagrees', 'consensus')],
    ['1pri consensus: 0pri disconnects', p1('consensus', 'discard-least-changes'), a({ role: P, changed: 4 }), b({ changed: 4 }), drop('equal-changes', 'discard-least-changes')],
    ['1pri violently-as0p discards the primary', p1('violently-as0p', 'discard-least-changes'), a({ role: P, changed: 1 }), b({ changed: 9 }), lose('local', 'least-changes', 'discard-least-changes')],
    // 2 primaries
    ['2pri disconnect', p2('disconnect', 'discard-zero-changes'), a({ role: P, changed: 0 }), b({ role: P }), drop('policy-disconnect', 'disconnect')],
    ['2pri violently-as0p', p2('violently-as0p', 'discard-zero-changes'), a({ role: P, changed: 0 }), b({ role: P }), lose('local', 'zero-changes', 'discard-zero-changes')],
    ['2pri ignores the 1pri policy', { after_sb_0pri: 'disconnect', after_sb_1pri: 'discard-secondary', after_sb_2pri: 'disconnect' }, a({ role: P }), b({ role: P }), drop('policy-disconnect', 'disconnect')],
  ];
  const flip = (r: Resolution): Resolution => (r.kind === 'discard' ? { ...r, victim: r.victim === 'local' ? 'peer' : 'local' } : r);
  for (const [name, policies, local, peer, expected] of rows) {
    it(name, () => {
      expect(resolveSplitBrain(policies, local, peer)).to.deep.equal(expected);
      expect(resolveSplitBrain(policies, peer, local), 'seen from the peer').to.deep.equal(flip(expected));
    });
  }

  it('without a common ancestor only discard-my-data resolves, with a full sync', () => {
    const any = p0('discard-zero-changes', { after_sb_1pri: 'discard-secondary', after_sb_2pri: 'violently-as0p' });
    expect(resolveSplitBrain(any, a({ changed: 0 }), b(), false)).to.deep.equal(drop('no-common-ancestor', 'none'));
    expect(resolveSplitBrain(any, a(), b({ discard: true }), false)).to.deep.equal(lose('peer', 'discard-my-data', 'discard-my-data', true));
  });

  it('logs the line users grep for', () => {
    expect(SPLIT_BRAIN_DISCONNECT_LOG).to.equal('Split-Brain detected, dropping connection!');
    const r = resolveSplitBrain(DEFAULT_AFTER_SB, a(), b());
    expect(describeResolution(r, a(), b())).to.equal('Split-Brain detected, dropping connection! (disconnect: the policy is disconnect)');
    const d = resolveSplitBrain(p0('discard-zero-changes'), a({ changed: 0 }), b());
    expect(describeResolution(d, a(), b())).to.equal(
      'Split-Brain detected, resolved by discard-zero-changes: a discards its changes (it changed no blocks); bitmap-based resync from b',
    );
  });
});

describe('replication/after-sb policy names', () => {
  it('accepts exactly the legal names per number of primaries', () => {
    for (const v of ['disconnect', 'discard-younger-primary', 'discard-older-primary', 'discard-zero-changes', 'discard-least-changes', 'discard-node-db1']) {
      expect(afterSbPolicyIssue(0, v), v).to.equal(null);
      expect(isAfterSb0pri(v)).to.equal(true);
    }
    for (const v of ['disconnect', 'consensus', 'discard-secondary', 'violently-as0p']) {
      expect(afterSbPolicyIssue(1, v), v).to.equal(null);
      expect(isAfterSb1pri(v)).to.equal(true);
    }
    for (const v of ['disconnect', 'violently-as0p']) {
      expect(afterSbPolicyIssue(2, v), v).to.equal(null);
      expect(isAfterSb2pri(v)).to.equal(true);
    }
    expect(isAfterSb0pri('discard-secondary')).to.equal(false);
    expect(isAfterSb2pri('consensus')).to.equal(false);
  });

  const rows: [0 | 1 | 2, unknown, string][] = [
    [0, 'discard-secondary', 'after_sb_0pri must be one of "disconnect", "discard-younger-primary", "discard-older-primary", "discard-zero-changes", "discard-least-changes" or "discard-node-NAME"; "discard-secondary" is only valid for after_sb_1pri'],
    [1, 'discard-zero-changes', 'after_sb_1pri must be one of "disconnect", "consensus", "discard-secondary" or "violently-as0p"; "discard-zero-changes" is only valid for after_sb_0pri'],
    [0, 'violently-as0p', 'after_sb_0pri must be one of "disconnect", "discard-younger-primary", "discard-older-primary", "discard-zero-changes", "discard-least-changes" or "discard-node-NAME"; "violently-as0p" is only valid for after_sb_1pri and after_sb_2pri'],
    [2, 'consensus', 'after_sb_2pri must be one of "disconnect" or "violently-as0p"; "consensus" is only valid for after_sb_1pri'],
    [2, 'call-pri-lost-after-sb', 'after_sb_2pri must be one of "disconnect" or "violently-as0p"; "call-pri-lost-after-sb" is a DRBD policy tandem does not support: it calls DRBD\'s pri-lost-after-sb handler, and tandem runs no DRBD handlers'],
    [1, 'Disconnect', 'after_sb_1pri must be one of "disconnect", "consensus", "discard-secondary" or "violently-as0p"; got "Disconnect"'],
    [1, 3, 'after_sb_1pri must be one of "disconnect", "consensus", "discard-secondary" or "violently-as0p"; got a number'],
    [2, null, 'after_sb_2pri must be one of "disconnect" or "violently-as0p"; got a null'],
    [0, 'discard-node-', 'after_sb_0pri: "discard-node-" must end in a node name (1..63 characters from A-Z a-z 0-9 _ . -)'],
    [0, 'discard-node-a b', 'after_sb_0pri: "discard-node-a b" must end in a node name (1..63 characters from A-Z a-z 0-9 _ . -)'],
    [1, 'discard-node-a', 'after_sb_1pri must be one of "disconnect", "consensus", "discard-secondary" or "violently-as0p"; "discard-node-a" is only valid for after_sb_0pri'],
    [1, 'toString', 'after_sb_1pri must be one of "disconnect", "consensus", "discard-secondary" or "violently-as0p"; got "toString"'],
  ];
  for (const [n, value, message] of rows) {
    it(`after_sb_${n}pri ${JSON.stringify(value)}`, () => expect(afterSbPolicyIssue(n, value)).to.equal(message));
  }

  it('checks a discard-node name against the volume\'s nodes when given', () => {
    expect(afterSbPolicyIssue(0, 'discard-node-b', ['a', 'b'])).to.equal(null);
    expect(afterSbPolicyIssue(0, 'discard-node-c', ['a', 'b'])).to.equal('after_sb_0pri: "discard-node-c" names no node of this volume (nodes: "a" or "b")');
    expect(afterSbPolicyIssue(0, 'discard-node-c', [])).to.equal('after_sb_0pri: "discard-node-c" names no node of this volume (none defined)');
  });
});
