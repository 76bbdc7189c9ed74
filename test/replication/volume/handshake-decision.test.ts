// decideConnect (handshake-decision.ts): what a volume becomes when the two
// STATE snapshots meet. One test per row of the decision, then a property:
// both ends compute mirrored outcomes from realistic generation histories.
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'chai';
import { DEFAULT_AFTER_SB, SPLIT_BRAIN_DISCONNECT_LOG, type AfterSb0pri, type AfterSbPolicies } from '../../../lib/replication/after-sb.js';
import {
  onConnectedAndSynced, onFirstWriteWhileDisconnected, onNewVolume, onPeerStartedGeneration, onPromoteWhileDisconnected, onResyncFinished, splitsNow,
  type Generations, type Mint,
} from '../../../lib/replication/generations.js';
import type { DiskState } from '../../../lib/replication/states.js';
import { UNRELATED_DATA_LOG } from '../../../lib/replication/sync-decision.js';
import { decideConnect, type ConnectOutcome, type DecideOptions } from '../../../lib/replication/volume/handshake-decision.js';
import type { Feed } from '../../../lib/replication/volume/one-source.js';
import type { PeerState } from '../../../lib/replication/volume/wire.js';
import { rng } from '../../helpers/random.js';

const u = (n: number): string => n.toString(16).padStart(16, '0');
const counter = (start: number): Mint => {
  let n = start;
  return () => u(n++);
};
const gen = (current: number, bitmap: Record<string, [number, boolean]> = {}, history: number[] = [], fresh = false): Generations => ({
  current: u(current), fresh, history: history.map(u),
  bitmap: Object.fromEntries(Object.entries(bitmap).map(([p, [id, primaryAtSplit]]) => [p, { uuid: u(id), primaryAtSplit }])),
});

const MiB = 1 << 20;
function st(generations: Generations, o: Partial<PeerState> = {}): PeerState {
  return { role: 'Secondary', disk: 'UpToDate', generations, size: 8 * MiB, blockSize: 4096, protocol: 'C', changedBlocks: 0, discardMyData: false, ...o };
}
const pol = (after_sb_0pri: AfterSb0pri = 'disconnect', o: Partial<AfterSbPolicies> = {}): AfterSbPolicies => ({ ...DEFAULT_AFTER_SB, after_sb_0pri, ...o });

// What node-a decides connecting to node-b, checked against node-b's view too.
function decide(policies: AfterSbPolicies, a: PeerState, b: PeerState, opts: DecideOptions = { holdShared: true, staleBits: true, pauseIntoPrimary: true }): ConnectOutcome {
  const mine = decideConnect(policies, 'node-a', a, 'node-b', b, opts);
  const theirs = decideConnect(policies, 'node-b', b, 'node-a', a, opts);
  expectMirrored(mine, theirs, () => JSON.stringify({ a, b, policies }));
  return mine;
}

// An outcome without what only links of protocol 8 say (a Primary told its peer's data is newer).
function noNewer(o: ConnectOutcome): ConnectOutcome {
  if (o.kind !== 'standalone' || o.peerNewer === undefined) return o;
  const { peerNewer: _, ...rest } = o;
  return rest;
}

function expectMirrored(x: ConnectOutcome, y: ConnectOutcome, what: () => string): void {
  const ok =
    (x.kind === 'established' && y.kind === 'established' && x.inSync === y.inSync) ||
    (x.kind === 'standalone' && y.kind === 'standalone' && x.splitBrain === y.splitBrain) ||
    (x.kind === 'sync-source' && y.kind === 'sync-target' && x.full === y.full) ||
    (x.kind === 'sync-target' && y.kind === 'sync-source' && x.full === y.full) ||
    (x.kind === 'paused' && y.kind === 'paused' && x.replication !== y.replication);
  if (!ok) expect.fail(`not mirrored: ${JSON.stringify(x)} vs ${JSON.stringify(y)} for ${what()}`);
}

describe('replication/volume decideConnect table', () => {
  const G = gen(5, {}, [4]);

  it('data to flow into a Primary (its peer was Primary while it was away): paused until the Primary changes, not dropped', () => {
    // node-a Primary at 5 (it stalled); node-b took over meanwhile: generation 6, its bitmap for node-a at 5, 40 blocks written.
    const a = st(gen(5, {}, [4]), { role: 'Primary', feeds: [] });
    const b = st(gen(6, { 'node-a': [5, true] }, [5, 4]), { changedBlocks: 40, feeds: [] });
    const out = decide(pol(), a, b);
    expect(out).to.deep.equal({
      kind: 'paused', replication: 'PausedSyncT', peerNewer: true,
      why: "node-b's data is to replace node-a's, which is Primary and in use: the resync waits until node-a is Secondary",
      log: "no resync with node-b yet: node-b's data is to replace node-a's, which is Primary and in use: the resync waits until node-a is Secondary",
    });
    expect(decideConnect(pol(), 'node-b', b, 'node-a', a, { pauseIntoPrimary: true })).to.include({ kind: 'paused', replication: 'PausedSyncS' }).and.not.have.property('peerNewer');
    // Once node-a is Secondary: a bitmap resync from node-b.
    expect(decide(pol(), { ...a, role: 'Secondary' }, b)).to.include({ kind: 'sync-target', full: false });
    // Links before protocol 8: dropped, as DRBD does.
    expect(decide(pol(), a, b, { holdShared: true, staleBits: true })).to.deep.include({ kind: 'standalone', splitBrain: false });
    // No bits on node-b does not prove it holds nothing newer (a full-sync verdict, a directory Secondary that followed
    // another Primary): it waits all the same, and node-a's copy never overwrites it.
    expect(decide(pol(), a, { ...b, changedBlocks: 0 })).to.include({ kind: 'paused', replication: 'PausedSyncT', peerNewer: true });
  });

  it('volume size mismatch -> standalone, not a split brain', () => {
    const out = decide(pol(), st(G), st(G, { size: 16 * MiB }));
    expect(out).to.deep.include({ kind: 'standalone', splitBrain: false });
    expect(out.log).to.match(/refusing node-b: its volume is 16777216 bytes \/ 4096-byte blocks, ours 8388608 \/ 4096/);
  });

  it('block size mismatch -> standalone', () => {
    const out = decide(pol(), st(G), st(G, { blockSize: 512 }));
    expect(out).to.deep.include({ kind: 'standalone', splitBrain: false });
    expect(out.log).to.match(/512-byte blocks/);
  });

  it('protocol mismatch -> standalone, even when the data would need a resync', () => {
    const out = decide(pol(), st(G, { protocol: 'A' }), st(gen(4), { protocol: 'C' }));
    expect(out).to.deep.include({ kind: 'standalone', splitBrain: false });
    expect(out.log).to.equal('refusing node-b: it runs protocol C, we run A');
  });

  it('geometry is checked before a split brain is even looked at', () => {
    const out = decide(pol(), st(gen(2, { 'node-b': [1, false] }, [1])), st(gen(3, { 'node-a': [1, false] }, [1]), { size: 4 * MiB }));
    expect(out).to.deep.include({ kind: 'standalone', splitBrain: false });
  });

  it('both fresh -> established, not in sync (waits for a forced Primary)', () => {
    const m = counter(0x100);
    const out = decide(pol(), st(onNewVolume(m), { disk: 'Inconsistent' }), st(onNewVolume(m), { disk: 'Inconsistent' }));
    expect(out).to.deep.include({ kind: 'established', inSync: false });
    expect(out.log).to.match(/both volumes are new/);
  });

  it('one fresh -> the forced Primary is the full sync source', () => {
    const m = counter(0x100);
    const a0 = onNewVolume(m);
    const b0 = onNewVolume(m);
    const a1 = onPromoteWhileDisconnected(a0, ['node-b'], m);
    const out = decide(pol(), st(a1, { role: 'Primary' }), st(b0, { disk: 'Inconsistent' }));
    expect(out).to.deep.include({ kind: 'sync-source', full: true });
    expect(decideConnect(pol(), 'node-b', st(b0, { disk: 'Inconsistent' }), 'node-a', st(a1, { role: 'Primary' }))).to.deep.include({ kind: 'sync-target', full: true });
  });

  it('same current, no bits -> established in sync', () => {
    const out = decide(pol(), st(gen(5, {}, [4]), { role: 'Primary' }), st(gen(5, {}, [3])));
    expect(out).to.deep.equal({ kind: 'established', inSync: true, log: 'no resync with node-b: same data generation' });
  });

  it('same current, bits on one side (a crashed Primary\'s activity log) -> that side is a bitmap-based source', () => {
    const out = decide(pol(), st(G, { changedBlocks: 12 }), st(G));
    expect(out.kind).to.equal('sync-source');
    expect(out).to.deep.include({ full: false });
    expect(out.log).to.equal('node-a is SyncSource (bitmap-based): same generation, 12 block(s) out of sync here and 0 on node-b');
    const back = decideConnect(pol(), 'node-b', st(G), 'node-a', st(G, { changedBlocks: 12 }));
    expect(back).to.deep.equal({ kind: 'sync-target', full: false, log: 'node-a is SyncSource (bitmap-based): same generation, 0 block(s) out of sync here and 12 on node-a' });
  });

  it('same current, bits on the Secondary only -> the Primary is the source all the same: its copy is what the application reads', () => {
    const out = decide(pol(), st(G, { changedBlocks: 3 }), st(G, { role: 'Primary' }));
    expect(out).to.deep.equal({ kind: 'sync-target', full: false, log: 'node-b is SyncSource (bitmap-based): same generation, 3 block(s) out of sync here and 0 on node-b; node-b is Primary, its copy wins' });
  });

  it('same current, bits on both sides with one Primary -> the Primary is the source', () => {
    const out = decide(pol(), st(G, { changedBlocks: 3 }), st(G, { changedBlocks: 9, role: 'Primary' }));
    expect(out).to.deep.include({ kind: 'sync-target', full: false });
    expect(out.log).to.match(/^node-b is SyncSource \(bitmap-based\)/);
    expect(decide(pol(), st(G, { changedBlocks: 3, role: 'Primary' }), st(G, { changedBlocks: 9 }))).to.deep.include({ kind: 'sync-source', full: false });
  });

  it('same current, bits on both sides, no Primary -> established with "No resync, but"', () => {
    const out = decide(pol(), st(G, { changedBlocks: 3 }), st(G, { changedBlocks: 9 }));
    expect(out).to.deep.include({ kind: 'established', inSync: false });
    expect(out.log).to.match(/^No resync, but 3 bits in bitmap! .*neither side is Primary/);
  });

  it('same current, no Primary, bits on a side that crashed as Secondary (stale) -> the other side is the source, with or without bits of its own', () => {
    const out = decide(pol(), st(G, { changedBlocks: 1024, staleBits: true }), st(G));
    expect(out).to.deep.equal({
      kind: 'sync-target', full: false,
      log: 'node-b is SyncSource (bitmap-based): same generation, 1024 block(s) out of sync here and 0 on node-b; node-a\'s bits are marks of its own crash as Secondary, its copy of them may be stale',
    });
    expect(decide(pol(), st(G, { changedBlocks: 5 }), st(G, { changedBlocks: 1024, staleBits: true }))).to.deep.include({ kind: 'sync-source', full: false });
    // Both crashed as Secondary: neither copy is better, as before.
    expect(decide(pol(), st(G, { changedBlocks: 5, staleBits: true }), st(G, { changedBlocks: 9, staleBits: true }))).to.deep.include({ kind: 'established', inSync: false });
    // A Primary's copy wins all the same, and different generations decide as always.
    expect(decide(pol(), st(G, { changedBlocks: 5, staleBits: true, role: 'Primary' }), st(G))).to.deep.include({ kind: 'sync-source', full: false });
    expect(decide(pol(), st(gen(5, { 'node-b': [4, false] }, [4]), { changedBlocks: 5, staleBits: true }), st(gen(4, {}, [3])))).to.deep.include({ kind: 'sync-source', full: false });
  });

  it('links below protocol 7 ignore staleBits: the side with bits is ahead, as before', () => {
    const out = decide(pol(), st(G, { changedBlocks: 1024, staleBits: true }), st(G), { holdShared: true });
    expect(out).to.deep.include({ kind: 'sync-source', full: false });
  });

  it('bitmap UUID is the peer\'s current -> bitmap-based sync', () => {
    // a was Primary, b dropped out; a wrote (new generation, b's split point kept).
    const m = counter(0x200);
    const g0 = onPromoteWhileDisconnected(onNewVolume(m), [], m);
    const a = onFirstWriteWhileDisconnected(g0, 'node-b', m);
    const out = decide(pol(), st(a, { role: 'Primary', changedBlocks: 40 }), st(g0));
    expect(out).to.deep.include({ kind: 'sync-source', full: false });
    expect(out.log).to.match(/^node-a is SyncSource, node-b is SyncTarget \(bitmap-based\)/);
  });

  it('current in the peer\'s history -> full sync', () => {
    const out = decide(pol(), st(gen(7, {}, [6, 5])), st(gen(5)));
    expect(out).to.deep.include({ kind: 'sync-source', full: true });
  });

  it('a Primary would become SyncTarget -> standalone (refused) on a link before protocol 8, not a split brain', () => {
    const out = decide(pol(), st(gen(2, { 'node-b': [1, false] }, [1]), { changedBlocks: 5 }), st(gen(1), { role: 'Primary' }), { holdShared: true, staleBits: true });
    expect(out).to.deep.include({ kind: 'standalone', splitBrain: false });
    expect(out.log).to.match(/refusing to connect to node-b/);
  });

  it('nothing in common -> standalone, "Unrelated data"', () => {
    const out = decide(pol(), st(gen(1)), st(gen(2)));
    expect(out).to.deep.include({ kind: 'standalone', splitBrain: false });
    expect(out.log.startsWith(UNRELATED_DATA_LOG)).to.equal(true);
  });

  // A split brain with a common parent (1): both wrote while apart.
  const sbA = (atSplit = false): Generations => gen(2, { 'node-b': [1, atSplit] }, [1]);
  const sbB = (atSplit = false): Generations => gen(3, { 'node-a': [1, atSplit] }, [1]);

  it('split brain with after-sb disconnect -> standalone, splitBrain, "Split-Brain detected"', () => {
    const out = decide(pol(), st(sbA(), { changedBlocks: 2 }), st(sbB(), { changedBlocks: 5 }));
    expect(out).to.deep.include({ kind: 'standalone', splitBrain: true });
    expect(out.log).to.contain(SPLIT_BRAIN_DISCONNECT_LOG);
    expect(out.log).to.contain('Split-Brain detected');
  });

  it('split brain with one Primary and after-sb-1pri disconnect -> standalone', () => {
    const out = decide(pol('discard-least-changes'), st(sbA(), { role: 'Primary', changedBlocks: 2 }), st(sbB(), { changedBlocks: 5 }));
    expect(out).to.deep.include({ kind: 'standalone', splitBrain: true });
  });

  // Before, the loser became SyncTarget, was marked Inconsistent, and the link was then refused (two Primaries):
  // a Primary left Inconsistent with nothing to resync it (found by an exploratory session).
  it('split brain with two Primaries and after-sb-2pri violently-as0p -> standalone, neither side a target', () => {
    const policies = pol('discard-least-changes', { after_sb_2pri: 'violently-as0p' });
    for (const [a, b] of [[2, 5], [5, 2]]) {
      const out = decide(policies, st(sbA(), { role: 'Primary', changedBlocks: a }), st(sbB(), { role: 'Primary', changedBlocks: b }));
      expect(out).to.deep.include({ kind: 'standalone', splitBrain: true });
      expect(out.log).to.match(/^Split-Brain detected, resolved by discard-least-changes: .*; not carried out: both are Primary, and one Primary per volume means no resync into either \(make the side to discard Secondary, then discard-my-data there\)$/);
    }
    // With the loser Secondary, the 1pri policy speaks as before.
    expect(decide(pol('discard-least-changes', { after_sb_1pri: 'violently-as0p' }), st(sbA(), { role: 'Primary', changedBlocks: 2 }), st(sbB(), { changedBlocks: 5 }))).to.deep.include({ kind: 'sync-target' });
  });

  it('split brain without a common parent -> standalone even with an auto-recovery policy', () => {
    const out = decide(pol('discard-zero-changes'), st(gen(2, { 'node-b': [1, false] }, [1])), st(gen(3, { 'node-a': [5, false] }, [5, 1])));
    expect(out).to.deep.include({ kind: 'standalone', splitBrain: true });
    expect(out.log).to.contain(SPLIT_BRAIN_DISCONNECT_LOG);
  });

  it('discard-my-data on one side -> that side is the target (bitmap-based with a common parent)', () => {
    const out = decide(pol(), st(sbA(), { changedBlocks: 2 }), st(sbB(), { changedBlocks: 5, discardMyData: true }));
    expect(out).to.deep.include({ kind: 'sync-source', full: false });
    expect(out.log).to.equal('Split-Brain detected, resolved by discard-my-data: node-b discards its changes (discard-my-data was given); bitmap-based resync from node-a');
    expect(decide(pol(), st(sbA(), { discardMyData: true }), st(sbB(), { role: 'Primary' }))).to.deep.include({ kind: 'sync-target', full: false });
  });

  it('discard-my-data without a common parent -> full sync towards it', () => {
    const out = decide(pol(), st(gen(2, { 'node-b': [1, false] }, [1]), { discardMyData: true }), st(gen(3, { 'node-a': [5, false] }, [5, 1])));
    expect(out).to.deep.include({ kind: 'sync-target', full: true });
  });

  it('discard-my-data on both sides, or on a Primary -> standalone', () => {
    expect(decide(pol(), st(sbA(), { discardMyData: true }), st(sbB(), { discardMyData: true }))).to.deep.include({ kind: 'standalone', splitBrain: true });
    expect(decide(pol(), st(sbA(), { discardMyData: true, role: 'Primary' }), st(sbB()))).to.deep.include({ kind: 'standalone', splitBrain: true });
  });

  it('discard-zero-changes: the side that changed nothing is the target', () => {
    expect(decide(pol('discard-zero-changes'), st(sbA(), { changedBlocks: 0 }), st(sbB(), { changedBlocks: 4 }))).to.deep.include({ kind: 'sync-target', full: false });
    expect(decide(pol('discard-zero-changes'), st(sbA(), { changedBlocks: 4 }), st(sbB(), { changedBlocks: 0 }))).to.deep.include({ kind: 'sync-source', full: false });
    const both = decide(pol('discard-zero-changes'), st(sbA(), { changedBlocks: 4 }), st(sbB(), { changedBlocks: 1 }));
    expect(both).to.deep.include({ kind: 'standalone', splitBrain: true });
    expect(both.log).to.contain('both sides changed blocks');
    // Neither changed: the later name (node-b) adopts, both sides agree.
    expect(decide(pol('discard-zero-changes'), st(sbA()), st(sbB()))).to.deep.include({ kind: 'sync-source', full: false });
  });

  it('discard-least-changes: fewer changes lose, a tie disconnects', () => {
    expect(decide(pol('discard-least-changes'), st(sbA(), { changedBlocks: 3 }), st(sbB(), { changedBlocks: 30 }))).to.deep.include({ kind: 'sync-target', full: false });
    expect(decide(pol('discard-least-changes'), st(sbA(), { changedBlocks: 30 }), st(sbB(), { changedBlocks: 3 }))).to.deep.include({ kind: 'sync-source', full: false });
    expect(decide(pol('discard-least-changes'), st(sbA(), { changedBlocks: 3 }), st(sbB(), { changedBlocks: 3 }))).to.deep.include({ kind: 'standalone', splitBrain: true });
  });

  it('discard-younger-primary: the node that became Primary during the split loses', () => {
    // a was Primary when the link broke (primaryAtSplit), b was promoted later.
    const out = decide(pol('discard-younger-primary'), st(sbA(true), { changedBlocks: 9 }), st(sbB(false), { changedBlocks: 1 }));
    expect(out).to.deep.include({ kind: 'sync-source', full: false });
    expect(out.log).to.match(/node-b discards its changes \(it became Primary after the split\)/);
    expect(decide(pol('discard-younger-primary'), st(sbA(false)), st(sbB(true)))).to.deep.include({ kind: 'sync-target', full: false });
    expect(decide(pol('discard-older-primary'), st(sbA(true)), st(sbB(false)))).to.deep.include({ kind: 'sync-target', full: false });
    expect(decide(pol('discard-younger-primary'), st(sbA(true)), st(sbB(true)))).to.deep.include({ kind: 'standalone', splitBrain: true });
  });

  it('discard-younger-primary with histories made by the generation helpers', () => {
    const m = counter(0x300);
    const g0 = onPromoteWhileDisconnected(onNewVolume(m), [], m); // the pair in sync at g0, a Primary
    const a = onFirstWriteWhileDisconnected(g0, 'node-b', m); // a keeps writing after the link broke
    const b = onPromoteWhileDisconnected(g0, ['node-a'], m); // b promoted later (the younger Primary)
    const out = decide(pol('discard-younger-primary'), st(a, { changedBlocks: 4 }), st(b, { changedBlocks: 8 }));
    expect(out).to.deep.include({ kind: 'sync-source', full: false });
  });

  it('discard-node-NAME names the victim', () => {
    expect(decide(pol('discard-node-node-a'), st(sbA()), st(sbB()))).to.deep.include({ kind: 'sync-target', full: false });
    expect(decide(pol('discard-node-node-b'), st(sbA()), st(sbB()))).to.deep.include({ kind: 'sync-source', full: false });
    expect(decide(pol('discard-node-node-c'), st(sbA()), st(sbB()))).to.deep.include({ kind: 'standalone', splitBrain: true });
  });

  it('after-sb-1pri discard-secondary and consensus', () => {
    const p = pol('discard-least-changes', { after_sb_1pri: 'discard-secondary' });
    expect(decide(p, st(sbA(), { role: 'Primary', changedBlocks: 1 }), st(sbB(), { changedBlocks: 50 }))).to.deep.include({ kind: 'sync-source', full: false });
    const c = pol('discard-least-changes', { after_sb_1pri: 'consensus' });
    expect(decide(c, st(sbA(), { role: 'Primary', changedBlocks: 50 }), st(sbB(), { changedBlocks: 1 }))).to.deep.include({ kind: 'sync-source', full: false });
    expect(decide(c, st(sbA(), { role: 'Primary', changedBlocks: 1 }), st(sbB(), { changedBlocks: 50 }))).to.deep.include({ kind: 'standalone', splitBrain: true });
  });

  describe('one source at a time (one-source.ts): a connect that would add a second source waits', () => {
    const behind = st(gen(4, {}, [3]));
    const ahead = st(gen(5, { 'node-b': [4, false] }, [4, 3]));
    const fed = (...f: Feed[]): Partial<PeerState> => ({ feeds: f });
    const rows: Array<{ row: string; a: PeerState; b: PeerState; want: string }> = [
      { row: 'target SyncTarget of another', a: { ...ahead, feeds: [] }, b: { ...behind, ...fed({ peer: 'node-c', replication: 'SyncTarget' }) }, want: 'PausedSyncS' },
      { row: "target takes another Primary's writes", a: { ...ahead, feeds: [] }, b: { ...behind, ...fed({ peer: 'node-c', replication: 'Established' }) }, want: 'PausedSyncS' },
      { row: 'target SyncSource of another', a: { ...ahead, feeds: [] }, b: { ...behind, ...fed({ peer: 'node-c', replication: 'SyncSource' }) }, want: 'PausedSyncS' },
      { row: 'source SyncTarget of another', a: { ...ahead, ...fed({ peer: 'node-c', replication: 'SyncTarget' }) }, b: { ...behind, feeds: [] }, want: 'PausedSyncS' },
      { row: "source takes another Primary's writes", a: { ...ahead, ...fed({ peer: 'node-c', replication: 'Established' }) }, b: { ...behind, feeds: [] }, want: 'PausedSyncS' },
      { row: 'source SyncSource of others', a: { ...ahead, ...fed({ peer: 'node-c', replication: 'SyncSource' }, { peer: 'node-d', replication: 'SyncSource' }) }, b: { ...behind, feeds: [] }, want: 'sync-source' },
      { row: 'both free', a: { ...ahead, feeds: [] }, b: { ...behind, feeds: [] }, want: 'sync-source' },
      { row: 'a peer older than link protocol 4 (no feeds)', a: { ...ahead, feeds: [] }, b: { ...behind, ...fed({ peer: 'node-c', replication: 'SyncTarget' }), feeds: undefined }, want: 'sync-source' },
      { row: 'our side reports none while the peer does', a: { ...ahead }, b: { ...behind, ...fed({ peer: 'node-c', replication: 'SyncTarget' }) }, want: 'sync-source' },
    ];
    for (const r of rows) {
      it(`${r.row} -> ${r.want}`, () => {
        const out = decide(pol(), r.a, r.b);
        expect(out.kind === 'paused' ? out.replication : out.kind).to.equal(r.want);
        if (out.kind === 'paused') expect(out.log).to.match(/^the resync \(node-a is SyncSource, node-b is SyncTarget .*\) waits: node-[ab] .* \(one source at a time\)$/);
      });
    }

    it("a Primary's write stream waits while the Secondary has another source; it flows when the Secondary is free", () => {
      const p = st(gen(5), { role: 'Primary', feeds: [{ peer: 'node-d', replication: 'SyncSource' }] });
      const busy = st(gen(5), { feeds: [{ peer: 'node-c', replication: 'SyncTarget' }] });
      const out = decide(pol(), p, busy);
      expect(out).to.deep.equal({ kind: 'paused', replication: 'PausedSyncS', why: 'node-b is SyncTarget of node-c', log: 'node-a\'s writes to node-b waits: node-b is SyncTarget of node-c (one source at a time)' });
      expect(decide(pol(), p, { ...busy, feeds: [] })).to.include({ kind: 'established', inSync: true });
    });

    it('two Secondaries in step move nothing, whatever their feeds: no pause', () => {
      const x = st(gen(5), { feeds: [{ peer: 'node-c', replication: 'Established' }] });
      expect(decide(pol(), x, { ...x })).to.include({ kind: 'established', inSync: true });
    });

    it('two Secondaries at one generation with bits, both taking the same Primary\'s writes: Established, not in sync, no pause', () => {
      const feeds = [{ peer: 'node-c', replication: 'Established' as const }];
      const withBits = st(gen(5), { changedBlocks: 7, feeds });
      const out = decide(pol(), withBits, st(gen(5), { feeds }));
      expect(out).to.include({ kind: 'established', inSync: false, sharedPrimary: 'node-c' });
      expect(out.log).to.equal('no resync between node-a and node-b while both take node-c\'s writes at one generation (7 bit(s) set here, 0 on node-b); they connect again once that ends');
      // Only one takes that Primary's writes, or they take different ones: the resync waits as before.
      expect(decide(pol(), withBits, st(gen(5), { feeds: [] }))).to.include({ kind: 'paused', replication: 'PausedSyncS' });
      expect(decide(pol(), withBits, st(gen(5), { feeds: [{ peer: 'node-d', replication: 'Established' }] }))).to.include({ kind: 'paused' });
      // Directory volumes (and links of protocol 5) hold nothing: the resync waits as before.
      expect(decide(pol(), withBits, st(gen(5), { feeds }), {})).to.include({ kind: 'paused', replication: 'PausedSyncS' });
      // Different generations: a real resync, which waits.
      expect(decide(pol(), st(gen(6, { 'node-b': [5, false] }, [5]), { feeds }), st(gen(5), { feeds }))).to.include({ kind: 'paused', replication: 'PausedSyncS' });
    });

    it('a split brain resolved towards one side waits like any resync', () => {
      const a = st(gen(7, { 'node-b': [5, false] }, [5]), { changedBlocks: 3, feeds: [] });
      const b = st(gen(6, { 'node-a': [5, false] }, [5]), { changedBlocks: 0, feeds: [{ peer: 'node-c', replication: 'SyncTarget' }] });
      expect(decide(pol('discard-zero-changes'), a, { ...b, feeds: [] })).to.include({ kind: 'sync-source' });
      expect(decide(pol('discard-zero-changes'), a, b)).to.include({ kind: 'paused', replication: 'PausedSyncS' });
    });
  });

  it('two Primaries on one connection are refused', () => {
    const out = decide(pol(), st(G, { role: 'Primary' }), st(G, { role: 'Primary' }));
    expect(out.kind).to.equal('standalone');
  });
});

describe('replication/volume decideConnect mirror property', () => {
  const disks: DiskState[] = ['UpToDate', 'Outdated', 'Consistent', 'Inconsistent'];
  const policySet: AfterSbPolicies[] = [
    DEFAULT_AFTER_SB,
    { after_sb_0pri: 'discard-zero-changes', after_sb_1pri: 'consensus', after_sb_2pri: 'disconnect' },
    { after_sb_0pri: 'discard-least-changes', after_sb_1pri: 'discard-secondary', after_sb_2pri: 'violently-as0p' },
    { after_sb_0pri: 'discard-younger-primary', after_sb_1pri: 'violently-as0p', after_sb_2pri: 'disconnect' },
    { after_sb_0pri: 'discard-older-primary', after_sb_1pri: 'consensus', after_sb_2pri: 'violently-as0p' },
    { after_sb_0pri: 'discard-node-node-a', after_sb_1pri: 'violently-as0p', after_sb_2pri: 'violently-as0p' },
    { after_sb_0pri: 'discard-node-node-b', after_sb_1pri: 'disconnect', after_sb_2pri: 'disconnect' },
  ];

  // Outcomes the simulations reached, over all seeds (checked after them).
  const reached = new Set<string>();
  const label = (o: ConnectOutcome): string =>
    o.kind === 'established' ? `established inSync=${o.inSync}` : o.kind === 'standalone' ? `standalone splitBrain=${o.splitBrain}` : o.kind === 'paused' ? `paused ${o.replication}` : `${o.kind} full=${o.full}`;

  interface Sim {
    name: 'node-a' | 'node-b';
    gen: Generations;
    role: 'Primary' | 'Secondary';
    disk: DiskState;
    bits: number;
    discard: boolean;
  }

  // Two nodes driven by random events through the real generation transitions; at every
  // connect attempt, every policy set must give mirrored outcomes on the two ends.
  for (const seed of [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]) {
    it(`seed ${seed}: histories from the generation helpers`, () => {
      const r = rng(seed);
      const n = (k: number): number => Math.floor(r() * k);
      let next = 0x1000 + seed * 0x10000;
      const mint: Mint = () => u(next++);
      const mk = (name: Sim['name']): Sim => ({ name, gen: onNewVolume(mint), role: 'Secondary', disk: 'Inconsistent', bits: 0, discard: false });
      const nodes: [Sim, Sim] = [mk('node-a'), mk('node-b')];
      let connected = true; // a new pair starts connected, both fresh
      const seen = new Set<string>();
      const stateOf = (s: Sim): PeerState => st(s.gen, { role: s.role, disk: s.disk, changedBlocks: s.bits, discardMyData: s.discard });

      for (let step = 0; step < 600; step++) {
        const me = nodes[n(2)] as Sim;
        const other = me === nodes[0] ? nodes[1] : nodes[0];
        switch (n(9)) {
          case 0: // promote (forced when not UpToDate)
            if (me.role === 'Primary' || (connected && other.role === 'Primary') || me.disk === 'Outdated') break;
            if (!connected || me.gen.fresh || me.disk !== 'UpToDate') {
              const forced = me.disk !== 'UpToDate';
              me.gen = onPromoteWhileDisconnected(me.gen, connected ? [] : [other.name], mint);
              if (connected && forced) { // the forced Primary fully syncs the other
                other.gen = onResyncFinished(other.gen, me.name, { asTarget: true, source: me.gen });
                other.disk = 'UpToDate';
              }
            }
            me.role = 'Primary';
            me.disk = 'UpToDate';
            break;
          case 1:
            me.role = 'Secondary';
            break;
          case 2: // a write on the Primary
            if (me.role !== 'Primary') break;
            if (!connected) {
              if (splitsNow(me.gen, other.name)) me.gen = onFirstWriteWhileDisconnected(me.gen, other.name, mint); // as volume.ts markOutOfSync
              me.bits += 1 + n(5);
            }
            break;
          case 3: // the link breaks
            connected = false;
            break;
          case 4: // a Primary crashes: its activity log becomes bits at the same generation
            if (me.role !== 'Primary') break;
            connected = false;
            me.role = 'Secondary';
            me.bits += 1 + n(8);
            break;
          case 5: // invalidate / fencing / discard-my-data on a disconnected Secondary
            if (connected || me.role === 'Primary') break;
            if (r() < 0.3) me.disk = 'Inconsistent';
            else if (r() < 0.5 && me.disk === 'UpToDate') me.disk = 'Outdated';
            else me.discard = !me.discard;
            break;
          case 6: // the connected Primary starts a generation (a third peer is absent)
            if (!connected || me.role !== 'Primary' || me.gen.fresh) break;
            me.gen = onPromoteWhileDisconnected(me.gen, ['node-c'], mint);
            other.gen = onPeerStartedGeneration(other.gen, me.gen.current, ['node-c']);
            break;
          default: { // connect
            if (connected) break;
            const [a, b] = nodes;
            const sa = stateOf(a);
            const sb = stateOf(b);
            let chosen: ConnectOutcome | null = null;
            const pick = n(policySet.length);
            for (const [i, p] of policySet.entries()) {
              const x = decideConnect(p, a.name, sa, b.name, sb);
              const y = decideConnect(p, b.name, sb, a.name, sa);
              expectMirrored(x, y, () => `seed ${seed} step ${step}: ${JSON.stringify({ sa, sb, p })}`);
              seen.add(x.kind);
              reached.add(label(x));
              if (i === pick) chosen = x;
            }
            // Apply the outcome of one policy set, so histories go on.
            const out = chosen as ConnectOutcome;
            if (out.kind === 'standalone') {
              // Sometimes the operator gives up on a node and rebuilds it empty (unrelated data never heals).
              if (r() < 0.3) Object.assign(me, { gen: onNewVolume(mint), role: 'Secondary', disk: 'Inconsistent', bits: 0, discard: false });
              break;
            }
            connected = true;
            a.discard = false;
            b.discard = false;
            if (out.kind === 'established') {
              if (out.inSync) {
                a.gen = onConnectedAndSynced(a.gen, b.name);
                b.gen = onConnectedAndSynced(b.gen, a.name);
                a.bits = 0;
                b.bits = 0;
              }
              break;
            }
            const [src, dst] = out.kind === 'sync-source' ? [a, b] : [b, a];
            dst.gen = onResyncFinished(dst.gen, src.name, { asTarget: true, source: src.gen });
            src.gen = onResyncFinished(src.gen, dst.name, { asTarget: false });
            dst.disk = 'UpToDate';
            src.bits = 0;
            dst.bits = 0;
          }
        }
      }
      expect(seen.size, `outcomes reached: ${[...seen].join(', ')}`).to.be.at.least(3);
    });
  }

  it('the simulations reached every kind of outcome', () => {
    expect([...reached].sort()).to.deep.equal([
      'established inSync=false', 'established inSync=true', 'standalone splitBrain=false', 'standalone splitBrain=true',
      'sync-source full=false', 'sync-source full=true', 'sync-target full=false', 'sync-target full=true',
    ]);
  });

  it('random STATE pairs from a small UUID pool (every role, disk, count, flag)', () => {
    const r = rng(4242);
    const n = (k: number): number => Math.floor(r() * k);
    const pool = [1, 2, 3, 4, 5];
    const randomGen = (other: string): Generations => {
      const fresh = n(8) === 0;
      const bitmap: Record<string, [number, boolean]> = {};
      if (!fresh && n(2) === 0) bitmap[other] = [pool[n(pool.length)] as number, n(2) === 0];
      const history = fresh ? [] : [...new Set(Array.from({ length: n(4) }, () => pool[n(pool.length)] as number))];
      const current = pool[n(pool.length)] as number;
      return gen(current, bitmap, history.filter((h) => h !== current), fresh);
    };
    const kinds = new Map<string, number>();
    for (let i = 0; i < 20000; i++) {
      const policies = policySet[n(policySet.length)] as AfterSbPolicies;
      const mk = (other: string): PeerState => st(randomGen(other), {
        role: n(3) === 0 ? 'Primary' : 'Secondary', disk: [...disks, 'Diskless' as const][n(5)] as DiskState,
        changedBlocks: n(3) === 0 ? 0 : n(4), discardMyData: n(6) === 0,
        protocol: n(50) === 0 ? 'A' : 'C', size: n(50) === 0 ? 4 * MiB : 8 * MiB,
        ...(n(4) === 0 ? {} : { feeds: Array.from({ length: n(3) === 0 ? n(3) : 0 }, (_, k) => ({ peer: `node-${'cde'[k]}`, replication: (['SyncSource', 'SyncTarget', 'Established'] as const)[n(3)] as Feed['replication'] })) }),
        ...(n(4) === 0 ? { staleBits: true } : {}),
      });
      const a = mk('node-b');
      const b = mk('node-a');
      const opts = { holdShared: true, staleBits: true, pauseIntoPrimary: true };
      const x = decideConnect(policies, 'node-a', a, 'node-b', b, opts);
      const y = decideConnect(policies, 'node-b', b, 'node-a', a, opts);
      expectMirrored(x, y, () => JSON.stringify({ a, b, policies }));
      expect(x.log).to.be.a('string').and.not.equal('');
      kinds.set(x.kind, (kinds.get(x.kind) ?? 0) + 1);
      // Paused exactly where the pair alone would move data and a side has another source.
      const alone = decideConnect(policies, 'node-a', { ...a, feeds: undefined }, 'node-b', { ...b, feeds: undefined }, { staleBits: true });
      const flows = alone.kind === 'sync-source' || alone.kind === 'sync-target' || (alone.kind === 'established' && (a.role === 'Primary' || b.role === 'Primary'));
      const aSends = alone.kind === 'sync-source' || (alone.kind === 'established' && a.role === 'Primary');
      const [target, source] = aSends ? [b, a] : [a, b];
      const busy = a.feeds !== undefined && b.feeds !== undefined && ((target.feeds ?? []).length > 0 || (source.feeds ?? []).some((f) => f.replication !== 'SyncSource'));
      // Two Secondaries at one generation taking one Primary's writes move nothing between them, and wait for nothing.
      const both = (f: Feed): boolean => f.replication === 'Established' && (b.feeds ?? []).some((g) => g.replication === 'Established' && g.peer === f.peer);
      const shared = a.role === 'Secondary' && b.role === 'Secondary' && a.generations.current === b.generations.current && (a.feeds ?? []).some(both);
      // Data that would flow into a Primary: the link waits instead of dropping, until the Primary changes (also
      // when the other side has no bits: its data may be newer all the same).
      const intoPrimary = alone.kind === 'standalone' && alone.log.includes('the data of the Primary would be overwritten');
      if (intoPrimary) {
        expect(x).to.include({ kind: 'paused', replication: a.role === 'Primary' ? 'PausedSyncT' : 'PausedSyncS' });
        expect((x as { peerNewer?: boolean }).peerNewer === true, 'peerNewer only on the Primary').to.equal(a.role === 'Primary');
        kinds.set('into-primary', (kinds.get('into-primary') ?? 0) + 1);
      } else if (shared && (alone.kind === 'sync-source' || alone.kind === 'sync-target')) expect(x).to.include({ kind: 'established', inSync: false });
      else if (flows && busy) expect(x).to.include({ kind: 'paused', replication: aSends ? 'PausedSyncS' : 'PausedSyncT' });
      else expect(noNewer(x)).to.deep.equal(alone);
      // Two Primaries are refused for now; the one whose data is to be replaced is told so (it refuses writes meanwhile).
      if (x.kind === 'standalone' && x.peerNewer !== undefined) {
        expect(x.retry === true && a.role === 'Primary' && b.role === 'Primary', JSON.stringify(x)).to.equal(true);
        const y2 = decideConnect(policies, 'node-b', b, 'node-a', a, opts);
        expect(y2.kind === 'standalone' && y2.peerNewer, 'never both sides').to.equal(undefined);
        kinds.set('two-primaries-newer', (kinds.get('two-primaries-newer') ?? 0) + 1);
      }
      // Same inputs, same answer: the decision is a pure function.
      if (!isDeepStrictEqual(decideConnect(policies, 'node-a', a, 'node-b', b, opts), x)) expect.fail('not deterministic');
      // Without holdShared (directory volumes, links of protocol 5) the pair waits or moves as alone.
      const plain = decideConnect(policies, 'node-a', a, 'node-b', b, { staleBits: true, pauseIntoPrimary: true });
      if (shared && (alone.kind === 'sync-source' || alone.kind === 'sync-target')) expect(plain.kind).to.equal(busy ? 'paused' : alone.kind);
      else expect(plain).to.deep.equal(x);
      // Without staleBits (links of protocol 6) the flags change nothing; with it, only a pair of Secondaries at one
      // generation where exactly one side's bits are stale decides otherwise, and then that side is the target.
      const strip = (s: PeerState): PeerState => { const { staleBits: _, ...rest } = s; return rest; };
      const old = decideConnect(policies, 'node-a', strip(a), 'node-b', strip(b), { holdShared: true, pauseIntoPrimary: true });
      expect(decideConnect(policies, 'node-a', a, 'node-b', b, { holdShared: true, pauseIntoPrimary: true })).to.deep.equal(old);
      // Before link protocol 8 data bound into a Primary drops the link, whatever else; the rest is the same.
      const pre8 = decideConnect(policies, 'node-a', a, 'node-b', b, { holdShared: true, staleBits: true });
      if (intoPrimary) expect(pre8).to.deep.equal(alone);
      else expect(pre8).to.deep.equal(noNewer(x));
      const oneStale = (a.staleBits === true) !== (b.staleBits === true) && a.role === 'Secondary' && b.role === 'Secondary' && a.generations.current === b.generations.current;
      if (!isDeepStrictEqual(x, old)) {
        expect(oneStale, JSON.stringify({ a, b, x, old })).to.equal(true);
        if (x.kind === 'sync-source' || x.kind === 'sync-target') expect(x.kind).to.equal(a.staleBits === true ? 'sync-target' : 'sync-source');
      }
    }
    expect([...kinds.keys()].sort()).to.deep.equal(['established', 'into-primary', 'paused', 'standalone', 'sync-source', 'sync-target', 'two-primaries-newer']);
  });
});
