import { isDeepStrictEqual } from 'node:util';
import { expect } from 'chai';
import {
  onConnectedAndSynced, onFirstWriteWhileDisconnected, onNewVolume, onPromoteWhileDisconnected, onResyncFinished, onResyncStarted,
  splitsNow, HISTORY_LENGTH, type Generations, type Mint,
} from '../../lib/replication/generations.js';
import { decideSync, describeDecision, replicationStateAfter, type Decision, type Side } from '../../lib/replication/sync-decision.js';
import { resolveSplitBrain, type AfterSbPolicies } from '../../lib/replication/after-sb.js';
import { canPromote, DISK_STATES, isDiskState, isRole, ROLES, type DiskState, type Role } from '../../lib/replication/states.js';

const u = (n: number): string => n.toString(16).padStart(16, '0');
const gen = (current: number, bitmap: Record<string, number> = {}, history: number[] = [], fresh = false): Generations => ({
  current: u(current), fresh, history: history.map(u),
  bitmap: Object.fromEntries(Object.entries(bitmap).map(([p, id]) => [p, { uuid: u(id), primaryAtSplit: false }])),
});
const side = (name: string, generations: Generations, disk: DiskState = 'UpToDate', role: Role = 'Secondary', changedBlocks = 0): Side =>
  ({ name, generations, disk, role, changedBlocks });
const A = (g: Generations, disk?: DiskState, role?: Role): Side => side('a', g, disk, role);
const B = (g: Generations, disk?: DiskState, role?: Role): Side => side('b', g, disk, role);

const other = (s: 'local' | 'peer'): 'local' | 'peer' => (s === 'local' ? 'peer' : 'local');
const mirror = (d: Decision): Decision => (d.kind === 'sync' ? { ...d, source: other(d.source) } : d.kind === 'refuse' ? { ...d, target: other(d.target) } : d);

// A seeded generator, so a failure names a reproducible case.
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

describe('replication/sync-decision table', () => {
  // [row, local, peer, expected]
  const rows: [string, Side, Side, Decision][] = [
    ['1 no-disk: local Diskless', A(gen(1), 'Diskless'), B(gen(1)), { kind: 'no-sync', rule: 'no-disk' }],
    ['1 no-disk: peer Attaching', A(gen(2, { b: 1 })), B(gen(1), 'Attaching'), { kind: 'no-sync', rule: 'no-disk' }],
    ['1 no-disk: peer DUnknown', A(gen(2)), B(gen(9), 'DUnknown'), { kind: 'no-sync', rule: 'no-disk' }],
    ['2 both-fresh', A(gen(1, {}, [], true), 'Inconsistent'), B(gen(2, {}, [], true), 'Inconsistent'), { kind: 'no-sync', rule: 'both-fresh' }],
    ['3 one-fresh: peer new', A(gen(5, {}, [4])), B(gen(2, {}, [], true), 'Inconsistent'), { kind: 'sync', source: 'local', full: true, rule: 'one-fresh' }],
    ['3 one-fresh: local new', A(gen(2, {}, [], true), 'Inconsistent'), B(gen(5), 'UpToDate', 'Primary'), { kind: 'sync', source: 'peer', full: true, rule: 'one-fresh' }],
    ['4 same-current', A(gen(3, {}, [1])), B(gen(3, {}, [2])), { kind: 'no-sync', rule: 'same-current' }],
    ['4 same-current, stale bitmap UUIDs', A(gen(3, { b: 1 })), B(gen(3, { a: 2 }), 'Outdated'), { kind: 'no-sync', rule: 'same-current' }],
    ['5 bitmaps-cross', A(gen(2, { b: 1 })), B(gen(1, { a: 2 })), { kind: 'split-brain', common: true, rule: 'bitmaps-cross' }],
    ['6 bitmap: local ahead (secondary failed)', A(gen(2, { b: 1 }, [1]), 'UpToDate', 'Primary'), B(gen(1)), { kind: 'sync', source: 'local', full: false, rule: 'bitmap-is-peer-current' }],
    ['6 bitmap: peer ahead', A(gen(1)), B(gen(2, { a: 1 }, [1])), { kind: 'sync', source: 'peer', full: false, rule: 'bitmap-is-peer-current' }],
    ['6 bitmap: the peer\'s stale bitmap UUID does not matter', A(gen(2, { b: 1 })), B(gen(1, { a: 7 })), { kind: 'sync', source: 'local', full: false, rule: 'bitmap-is-peer-current' }],
    ['6 bitmap: a bitmap UUID for another peer does not count', A(gen(2, { c: 1 }, [9])), B(gen(1)), { kind: 'split-brain', common: false, rule: 'shared-ancestor' }],
    ['7 currents-in-histories', A(gen(2, {}, [1])), B(gen(1, {}, [2])), { kind: 'split-brain', common: true, rule: 'currents-in-histories' }],
    ['8 history: peer behind, full', A(gen(3, {}, [2, 1])), B(gen(1)), { kind: 'sync', source: 'local', full: true, rule: 'current-in-history' }],
    ['8 history: local behind, full', A(gen(1, { b: 9 })), B(gen(3, {}, [2, 1])), { kind: 'sync', source: 'peer', full: true, rule: 'current-in-history' }],
    ['9 same-bitmap: split brain with a common parent', A(gen(2, { b: 1 }, [1])), B(gen(3, { a: 1 }, [1])), { kind: 'split-brain', common: true, rule: 'same-bitmap' }],
    ['10 shared-ancestor: histories meet, bitmaps differ', A(gen(2, { b: 1 }, [1])), B(gen(3, { a: 5 }, [5, 1])), { kind: 'split-brain', common: false, rule: 'shared-ancestor' }],
    ['10 shared-ancestor: one bitmap in the other history', A(gen(2, { b: 1 })), B(gen(3, {}, [1])), { kind: 'split-brain', common: false, rule: 'shared-ancestor' }],
    ['11 nothing-shared', A(gen(1, { b: 2 }, [3])), B(gen(4, { a: 5 }, [6])), { kind: 'unrelated', rule: 'nothing-shared' }],
    ['11 nothing-shared wins over Inconsistent', A(gen(1), 'Inconsistent'), B(gen(4)), { kind: 'unrelated', rule: 'nothing-shared' }],
    ['12 both-inconsistent', A(gen(3), 'Inconsistent'), B(gen(3), 'Inconsistent'), { kind: 'no-sync', rule: 'both-inconsistent' }],
    ['13 one-inconsistent: invalidated peer, same generation', A(gen(3)), B(gen(3), 'Inconsistent'), { kind: 'sync', source: 'local', full: true, rule: 'one-inconsistent' }],
    ['13 one-inconsistent: overrides a split brain', A(gen(2, { b: 1 }, [1]), 'Inconsistent'), B(gen(3, { a: 1 }, [1])), { kind: 'sync', source: 'peer', full: true, rule: 'one-inconsistent' }],
    ['13 one-inconsistent: never a source', A(gen(2, { b: 1 }), 'Inconsistent'), B(gen(1)), { kind: 'sync', source: 'peer', full: true, rule: 'one-inconsistent' }],
    ['1a resync-resumes: an interrupted bitmap resync', A(gen(2, { b: 1 })), B(gen(1), 'Inconsistent'), { kind: 'sync', source: 'local', full: false, rule: 'resync-resumes' }],
    ['1a resync-resumes: an interrupted initial sync (the target is still fresh)', A(gen(5, { b: 2 }, [4])), B(gen(2, {}, [], true), 'Inconsistent'), { kind: 'sync', source: 'local', full: false, rule: 'resync-resumes' }],
    ['1a resync-resumes: an interrupted same-generation resync', A(gen(3, { b: 3 })), B(gen(3), 'Inconsistent'), { kind: 'sync', source: 'local', full: false, rule: 'resync-resumes' }],
    ['1a resync-resumes: an interrupted split-brain recovery', A(gen(7, { b: 6 }, [1])), B(gen(6, { a: 1 }, [1]), 'Inconsistent'), { kind: 'sync', source: 'local', full: false, rule: 'resync-resumes' }],
    ['1a resync-resumes: never towards a Primary', A(gen(3, { b: 3 })), B(gen(3), 'Inconsistent', 'Primary'), { kind: 'refuse', rule: 'primary-would-be-target', target: 'peer' }],
    ['1a resync-resumes: not between two Inconsistent disks', A(gen(3, { b: 3 }), 'Inconsistent'), B(gen(3), 'Inconsistent'), { kind: 'no-sync', rule: 'both-inconsistent' }],
    ['1a resync-resumes: not when the bitmap UUID names another generation', A(gen(3, { b: 2 }, [2, 1])), B(gen(1), 'Inconsistent'), { kind: 'sync', source: 'local', full: true, rule: 'current-in-history' }],
    ['13 a full sync towards it stays full', A(gen(3, {}, [1])), B(gen(1), 'Inconsistent'), { kind: 'sync', source: 'local', full: true, rule: 'current-in-history' }],
    ['14 primary-would-be-target', A(gen(2, { b: 1 })), B(gen(1), 'UpToDate', 'Primary'), { kind: 'refuse', rule: 'primary-would-be-target', target: 'peer' }],
    ['14 primary-would-be-target (one-inconsistent)', A(gen(3), 'Inconsistent', 'Primary'), B(gen(3)), { kind: 'refuse', rule: 'primary-would-be-target', target: 'local' }],
    ['14 a Primary source is fine', A(gen(2, { b: 1 }), 'Consistent', 'Primary'), B(gen(1), 'Outdated'), { kind: 'sync', source: 'local', full: false, rule: 'bitmap-is-peer-current' }],
  ];
  for (const [name, local, peer, expected] of rows) {
    it(name, () => {
      expect(decideSync(local, peer)).to.deep.equal(expected);
      expect(decideSync(peer, local), 'seen from the peer').to.deep.equal(mirror(expected));
    });
  }

  it('names the replication state and a log line', () => {
    const [a, b] = [A(gen(2, { b: 1 })), B(gen(1))];
    const d = decideSync(a, b);
    expect(replicationStateAfter(d)).to.equal('SyncSource');
    expect(replicationStateAfter(decideSync(b, a))).to.equal('SyncTarget');
    expect(replicationStateAfter({ kind: 'no-sync', rule: 'same-current' })).to.equal('Established');
    expect(replicationStateAfter({ kind: 'split-brain', common: true, rule: 'same-bitmap' })).to.equal(null);
    // The resync moves the union of both bitmaps (connect-exchange.ts), not the source's alone.
    expect(describeDecision(d, a, b)).to.equal("a is SyncSource, b is SyncTarget (bitmap-based): the target is at the source's split point: the blocks either side marked since then are resynced");
    expect(describeDecision(decideSync(A(gen(1)), B(gen(2))), A(gen(1)), B(gen(2)))).to.match(/^Unrelated data, aborting! b/);
    expect(describeDecision({ kind: 'split-brain', common: true, rule: 'same-bitmap' }, a, b)).to.match(/^Split-Brain detected/);
  });
});

describe('replication/sync-decision first Primary', () => {
  it('the side forced first becomes the full initial sync source; both forced -> unrelated, refused', () => {
    const mint = ((n) => () => u(n++))(0x100) as Mint;
    const a0 = onNewVolume(mint);
    const b0 = onNewVolume(mint);
    expect(decideSync(A(a0, 'Inconsistent'), B(b0, 'Inconsistent')).rule).to.equal('both-fresh');
    const a1 = onPromoteWhileDisconnected(a0, ['b'], mint);
    expect(decideSync(A(a1, 'UpToDate', 'Primary'), B(b0, 'Inconsistent'))).to.deep.equal({ kind: 'sync', source: 'local', full: true, rule: 'one-fresh' });
    const b1 = onPromoteWhileDisconnected(b0, ['a'], mint);
    expect(decideSync(A(a1), B(b1))).to.deep.equal({ kind: 'unrelated', rule: 'nothing-shared' });
  });
});

describe('replication/sync-decision resumable resync', () => {
  const mint = ((n) => () => u(n++))(0x200) as Mint;

  it('a same-generation resync cut off: the source\'s first write splits, so a target forced Primary meets a split brain', () => {
    // After a Primary crash both are at generation 3 and the activity-log blocks resync from a to b.
    const a0 = onResyncStarted(gen(3), 'b', u(3));
    expect(a0.bitmap.b?.uuid, 'the bitmap UUID names the target\'s current, here our own').to.equal(u(3));
    expect(decideSync(A(a0, 'UpToDate', 'Primary'), B(gen(3), 'Inconsistent')).rule).to.equal('resync-resumes');
    // The link is cut; a, Primary, writes on: that is the first change b misses.
    expect(splitsNow(a0, 'b')).to.equal(true);
    const a1 = onFirstWriteWhileDisconnected(a0, 'b', mint);
    expect(a1.bitmap.b?.uuid, 'b still stands at 3').to.equal(u(3));
    expect(splitsNow(a1, 'b'), 'once per loss').to.equal(false);
    expect(decideSync(A(a1, 'UpToDate', 'Primary'), B(gen(3), 'Inconsistent')).rule, 'still resumes').to.equal('resync-resumes');
    // b is forced Primary instead: both changed data since 3, which is a split brain, not a sync that drops a's write.
    const b1 = onPromoteWhileDisconnected(gen(3), ['a'], mint);
    expect(decideSync(A(a1), B(b1))).to.deep.equal({ kind: 'split-brain', common: true, rule: 'same-bitmap' });
  });

  it('onResyncStarted leaves a fresh record alone and keeps who was Primary at the split', () => {
    const fresh = gen(5, {}, [], true);
    expect(onResyncStarted(fresh, 'b', u(2))).to.equal(fresh);
    const split = { ...gen(7, {}, [6]), bitmap: { b: { uuid: u(6), primaryAtSplit: true } } };
    const started = onResyncStarted(split, 'b', u(9));
    expect(started.bitmap.b).to.deep.equal({ uuid: u(9), primaryAtSplit: true, resync: true });
    expect(onResyncStarted(started, 'b', u(9)), 'already there').to.equal(started);
  });

  it('a RESYNC_DONE lost on the way: the source\'s next write still splits, so a promoted target meets a split brain', () => {
    // a (Primary, 5) syncs b (fresh) in full; b finishes and adopts 5, but a never hears it.
    const a0 = onResyncStarted(gen(5, {}, [4]), 'b', u(2));
    const b1 = onResyncFinished(gen(2, {}, [], true), 'a', { asTarget: true, source: a0 });
    expect(splitsNow(a0, 'b'), 'the entry of a resync that may have ended').to.equal(true);
    const a1 = onFirstWriteWhileDisconnected(a0, 'b', mint);
    expect(a1.bitmap.b).to.deep.equal({ uuid: u(2), primaryAtSplit: true });
    // Without the split, b promoted would be the bitmap source over a's write.
    const b2 = onPromoteWhileDisconnected(b1, ['a'], mint);
    expect(decideSync(A(a1), B(b2, 'UpToDate', 'Primary')).kind).to.equal('split-brain');
    // b left Secondary: it is behind a, a full sync brings it (its bitmap UUID for a is gone).
    expect(decideSync(A(a1, 'UpToDate', 'Primary'), B(b1))).to.deep.equal({ kind: 'sync', source: 'local', full: true, rule: 'current-in-history' });
  });
});

describe('replication/sync-decision properties', () => {
  it('random records: never throws, both sides see mirrored decisions, and rule implies kind', () => {
    const r = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[r(xs.length)] as T;
    const pool = [1, 2, 3, 4, 5, 6];
    const randomGen = (other: string): Generations => {
      const fresh = r(8) === 0;
      const bitmap: Record<string, number> = {};
      if (!fresh && r(2) === 0) bitmap[other] = pick(pool);
      if (!fresh && r(4) === 0) bitmap.c = pick(pool);
      const history = fresh ? [] : [...new Set(Array.from({ length: r(5) }, () => pick(pool)))];
      return gen(pick(pool), bitmap, history, fresh);
    };
    const seen = new Set<string>();
    for (let i = 0; i < 20000; i++) {
      const a = side('a', randomGen('b'), pick(DISK_STATES), pick(ROLES), r(3));
      const b = side('b', randomGen('a'), pick(DISK_STATES), pick(ROLES), r(3));
      const d = decideSync(a, b);
      if (!isDeepStrictEqual(decideSync(b, a), mirror(d))) expect.fail(`not mirrored: ${JSON.stringify([a, b])}`);
      expect(describeDecision(d, a, b)).to.be.a('string');
      seen.add(d.rule);
      if (d.kind === 'sync') expect((d.source === 'local' ? a : b).disk).to.not.equal('Inconsistent');
      if (d.kind === 'sync') expect((d.source === 'local' ? b : a).role).to.not.equal('Primary');
    }
    expect(seen.size).to.equal(15); // every rule was reached
  });
});

// A two-node cluster driven by random events, with the data each node holds as
// ground truth (sets of write ids): decisions must never lose a write silently.
describe('replication/sync-decision simulation', () => {
  interface Node {
    name: 'a' | 'b';
    gen: Generations;
    role: Role;
    disk: DiskState;
    data: Set<number>;
    bits: Set<number>; // writes made while the other was away (the block bitmap)
  }
  const subset = (x: Set<number>, y: Set<number>): boolean => [...x].every((w) => y.has(w));
  const same = (x: Set<number>, y: Set<number>): boolean => subset(x, y) && subset(y, x);
  const policies: AfterSbPolicies[] = [
    { after_sb_0pri: 'discard-zero-changes', after_sb_1pri: 'consensus', after_sb_2pri: 'disconnect' },
    { after_sb_0pri: 'discard-least-changes', after_sb_1pri: 'discard-secondary', after_sb_2pri: 'violently-as0p' },
    { after_sb_0pri: 'discard-younger-primary', after_sb_1pri: 'violently-as0p', after_sb_2pri: 'disconnect' },
  ];

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: no write is lost by a resync, also one cut off and resumed; bitmaps cover what a bitmap resync moves`, () => {
      const r = prng(seed);
      let next = 1;
      const mint: Mint = () => u(0x1000 + r(1 << 20));
      const mk = (name: 'a' | 'b'): Node => ({ name, gen: onNewVolume(mint), role: 'Secondary', disk: 'Inconsistent', data: new Set(), bits: new Set() });
      const nodes = [mk('a'), mk('b')] as const;
      let connected = false;
      // Writes no rule protects: given up by a split-brain resolution, or made on an Inconsistent disk (a
      // Primary victim of after-sb "violently" writes on while its resync is cut off).
      const forfeit = new Set<number>();
      let resumable: { src: string; dst: string } | null = null; // a resync cut off by the link
      const cutHeld = new Map<string, Set<number>>(); // a cut-off target: the writes its resync was bringing
      const counts: Record<string, number> = {};
      const asSide = (n: Node): Side => side(n.name, n.gen, n.disk, n.role, n.bits.size);

      const resync = (src: Node, dst: Node, full: boolean): void => {
        // A bitmap resync copies only what either side marked since the split.
        if (!full) for (const w of new Set([...src.data, ...dst.data])) if (src.data.has(w) !== dst.data.has(w)) expect(src.bits.has(w) || dst.bits.has(w), `write ${w} unmarked`).to.equal(true);
        // Both sides keep what the resync moves (a full one: everything) in their bitmaps, then clear it as it moves.
        const moving = full ? new Set([...src.data, ...dst.data]) : new Set([...src.bits, ...dst.bits]);
        src.gen = onResyncStarted(src.gen, dst.name, dst.gen.current);
        for (const w of moving) { src.bits.add(w); dst.bits.add(w); }
        dst.disk = 'Inconsistent';
        const cut = r(3) === 0; // the link drops partway
        for (const w of moving) {
          // 0 not requested yet, 1 sent and lost with the link, 2 written but not yet on stable storage, 3 done
          const fate = cut ? r(4) : 3;
          if (fate === 0) continue;
          src.bits.delete(w); // the source clears as it sends
          if (fate === 1) continue;
          if (src.data.has(w)) dst.data.add(w);
          else dst.data.delete(w);
          if (fate === 3) dst.bits.delete(w); // the target once the block is on stable storage
        }
        if (!cut && r(6) === 0) {
          // RESYNC_DONE lost: the target ends UpToDate, the source never hears it and keeps its entry.
          counts['done-lost'] = (counts['done-lost'] ?? 0) + 1;
          dst.data = new Set(src.data);
          dst.disk = 'UpToDate';
          dst.gen = onResyncFinished(dst.gen, src.name, { asTarget: true, source: src.gen });
          dst.bits.clear();
          connected = false;
          return;
        }
        if (cut) {
          counts.cut = (counts.cut ?? 0) + 1;
          resumable = { src: src.name, dst: dst.name };
          connected = false;
          cutHeld.set(dst.name, new Set(src.data));
          return;
        }
        dst.data = new Set(src.data);
        dst.disk = 'UpToDate';
        dst.gen = onResyncFinished(dst.gen, src.name, { asTarget: true, source: src.gen });
        src.gen = onResyncFinished(src.gen, dst.name, { asTarget: false });
        src.bits.clear();
        dst.bits.clear();
        connected = true;
      };

      const apart = new Map<string, number>(); // generations each node minted since the pair was last connected
      for (let step = 0; step < 400; step++) {
        const was = nodes.map((x) => x.gen.current);
        if (connected) apart.clear();
        const n = nodes[r(2)]!;
        const o = n === nodes[0] ? nodes[1] : nodes[0];
        switch (r(6)) {
          case 0: { // connect
            if (connected) break;
            const d = decideSync(asSide(n), asSide(o));
            expect(decideSync(asSide(o), asSide(n))).to.deep.equal(mirror(d));
            counts[d.rule] = (counts[d.rule] ?? 0) + 1;
            // A cut resync resumes, bitmap-based, at the next connect (unless its target is a Primary now).
            const cutOff = resumable as { src: string; dst: string } | null; // set inside resync(), which TS does not follow
            resumable = null;
            if (cutOff !== null && nodes.find((x) => x.name === cutOff.dst)?.role !== 'Primary') {
              expect(d.rule, 'a cut resync resumes').to.equal('resync-resumes');
              expect(d.kind === 'sync' && (d.source === 'local' ? n : o).name).to.equal(cutOff.src);
            }
            // Unless one side minted more generations apart than its history keeps (DRBD's history is bounded too).
            if (Math.max(...nodes.map((x) => apart.get(x.name) ?? 0)) < HISTORY_LENGTH) expect(d.kind, 'two nodes of one volume are never unrelated').to.not.equal('unrelated');
            if (d.kind === 'no-sync' && d.rule === 'same-current') {
              expect(same(n.data, o.data), 'same generation, same data').to.equal(true);
              n.gen = onConnectedAndSynced(n.gen, o.name);
              o.gen = onConnectedAndSynced(o.gen, n.name);
              n.bits.clear();
              o.bits.clear();
              connected = true;
            } else if (d.kind === 'sync') {
              const [src, dst] = d.source === 'local' ? [n, o] : [o, n];
              // A target cut off mid-resync may still hold writes that were forfeit.
              expect([...dst.data].every((w) => src.data.has(w) || forfeit.has(w)), `resync ${src.name} -> ${dst.name} would drop writes`).to.equal(true);
              resync(src, dst, d.full);
            } else if (d.kind === 'split-brain') {
              const res = resolveSplitBrain(policies[r(policies.length)]!, { ...asSide(n), discardMyData: r(3) === 0 }, asSide(o), d.common);
              if (res.kind === 'discard') {
                const [victim, survivor] = res.victim === 'local' ? [n, o] : [o, n];
                if (res.reason === 'zero-changes') expect([...victim.data].every((w) => survivor.data.has(w) || forfeit.has(w))).to.equal(true);
                if (res.reason === 'no-changes-either-side') expect(same(victim.data, survivor.data)).to.equal(true);
                for (const w of victim.data) if (!survivor.data.has(w)) forfeit.add(w);
                resync(survivor, victim, res.full);
              }
            }
            break;
          }
          case 1: // disconnect: a Primary mints on its next write
            if (!connected) break;
            connected = false;
            break;
          case 2: { // promote (forced for the pair's first Primary, and now and then for a cut-off resync target)
            if (n.role === 'Primary' || (connected && o.role === 'Primary')) break;
            const first = n.gen.fresh && o.gen.fresh;
            const cutOff = !connected && n.disk === 'Inconsistent' && !n.gen.fresh && r(4) === 0;
            if (n.disk !== 'UpToDate' && !first && !cutOff) break;
            // The operator gives up what the cut resync had not brought yet; what the other wrote since stays protected.
            if (cutOff) for (const w of cutHeld.get(n.name) ?? []) if (!n.data.has(w)) forfeit.add(w);
            if (cutOff && n.name === (resumable as { dst: string } | null)?.dst) resumable = null;
            if (!connected) n.gen = onPromoteWhileDisconnected(n.gen, [o.name], mint);
            n.role = 'Primary';
            n.disk = 'UpToDate';
            break;
          }
          case 3: // demote
            n.role = 'Secondary';
            break;
          default: { // write
            if (n.role !== 'Primary') break;
            const w = next++;
            n.data.add(w);
            if (n.disk === 'Inconsistent') forfeit.add(w);
            if (n.name === (resumable as { dst: string } | null)?.dst) resumable = null; // a cut-off target that writes (a Primary victim) minted a new generation
            if (connected) o.data.add(w);
            else {
              if (splitsNow(n.gen, o.name)) n.gen = onFirstWriteWhileDisconnected(n.gen, o.name, mint); // as volume.ts markOutOfSync
              n.bits.add(w);
            }
          }
        }
        if (!connected) nodes.forEach((x, i) => { if (x.gen.current !== was[i]) apart.set(x.name, (apart.get(x.name) ?? 0) + 1); });
      }
      if (process.env.SIM_DEBUG) console.log(seed, counts);
      expect(Object.keys(counts).length, JSON.stringify(counts)).to.be.greaterThan(2);
    });
  }
});

describe('replication/states promotion', () => {
  // [disk, plain, forced]: replication.md "States": only UpToDate, or forced (DRBD's primary --force, Outdated included).
  const rows: [DiskState, boolean, boolean][] = [
    ['UpToDate', true, true],
    ['Consistent', false, true],
    ['Inconsistent', false, true],
    ['Outdated', false, true],
    ['Diskless', false, false],
    ['Attaching', false, false],
    ['DUnknown', false, false],
  ];
  it('covers every disk state', () => expect(rows.map((r) => r[0]).sort()).to.deep.equal([...DISK_STATES].sort()));
  for (const [disk, plain, forced] of rows) {
    it(`${disk}: ${plain ? 'promotes' : 'refused'}; forced: ${forced ? 'promotes' : 'refused'}`, () => {
      expect(canPromote(disk, false).ok).to.equal(plain);
      expect(canPromote(disk, true).ok).to.equal(forced);
    });
  }
  it('says why', () => {
    expect(canPromote('Outdated', false)).to.include({ ok: false, reason: 'disk-outdated' });
    expect(canPromote('Outdated', true)).to.deep.equal({ ok: true, forced: true });
    expect(canPromote('Inconsistent', false)).to.deep.include({ ok: false, reason: 'disk-not-up-to-date' });
    expect(canPromote('Diskless', true)).to.include({ ok: false, reason: 'no-local-disk' });
    expect(canPromote('Consistent', true)).to.deep.equal({ ok: true, forced: true });
    expect(canPromote('UpToDate', true)).to.deep.equal({ ok: true, forced: false });
    expect(isDiskState('UpToDate') && isRole('Primary') && !isDiskState('uptodate') && !isRole('primary')).to.equal(true);
  });
});
