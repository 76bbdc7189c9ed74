import { expect } from 'chai';
import { TandemError } from '../../lib/errors.js';
import {
  bitmapEntry, bitmapUuid, followPrimary, HISTORY_LENGTH, onConnectedAndSynced, onFirstWriteWhileDisconnected, onNewVolume,
  onPeerStartedGeneration, onPromoteWhileDisconnected, onResyncFinished, onResyncStarted, randomUuid, withoutBitmapEntries, ZERO_UUID, type Generations, type Mint,
} from '../../lib/replication/generations.js';
import { decodeGenerations, encodeGenerations, loadGenerations, MAX_JSON_BYTES } from '../../lib/replication/generations-json.js';

// Deterministic UUIDs: u(1) = '0000000000000001', ...
const u = (n: number): string => n.toString(16).padStart(16, '0');
const seq = (...ns: number[]): Mint => {
  let i = 0;
  return () => u(ns[i++] ?? 0xdead);
};
const gen = (current: number, bitmap: Record<string, [number, boolean]> = {}, history: number[] = []): Generations => ({
  current: u(current), fresh: false, history: history.map(u),
  bitmap: Object.fromEntries(Object.entries(bitmap).map(([p, [id, primaryAtSplit]]) => [p, { uuid: u(id), primaryAtSplit }])),
});

describe('replication/generations transitions', () => {
  it('a new volume is fresh with a random non-zero current and nothing else', () => {
    const g = onNewVolume(seq(7));
    expect(g).to.deep.equal({ current: u(7), fresh: true, bitmap: {}, history: [] });
    expect(Object.isFrozen(g) && Object.isFrozen(g.history) && Object.isFrozen(g.bitmap)).to.equal(true);
    const a = onNewVolume();
    const b = onNewVolume();
    expect(a.current).to.match(/^[0-9a-f]{16}$/).and.not.equal(ZERO_UUID);
    expect(a.current).to.not.equal(b.current);
  });

  it('the forced first promotion of a fresh volume drops the fresh UUID entirely', () => {
    const g = onPromoteWhileDisconnected(onNewVolume(seq(7)), ['b'], seq(8));
    expect(g).to.deep.equal({ current: u(8), fresh: false, bitmap: {}, history: [] });
  });

  it('promotion while disconnected: old current -> bitmap of each absent in-sync peer and history, secondary at the split', () => {
    const g = onPromoteWhileDisconnected(gen(1, { c: [9, true] }, [5]), ['b', 'c'], seq(2));
    expect(g).to.deep.equal(gen(2, { b: [1, false], c: [9, true] }, [1, 5]));
  });

  it('first write while disconnected: a Primary at the split; a lagging peer keeps its older split point', () => {
    expect(onFirstWriteWhileDisconnected(gen(1), 'b', seq(2))).to.deep.equal(gen(2, { b: [1, true] }, [1]));
    const twice = onFirstWriteWhileDisconnected(gen(2, { b: [1, true] }, [1]), ['b'], seq(3));
    expect(twice).to.deep.equal(gen(3, { b: [1, true] }, [2, 1]));
  });

  it('history is newest first and bounded', () => {
    let g = gen(1);
    for (let i = 2; i <= 10; i++) g = onFirstWriteWhileDisconnected(g, 'b', seq(i));
    expect(g.history).to.deep.equal([9, 8, 7, 6].map(u));
    expect(g.history).to.have.length(HISTORY_LENGTH);
    expect(bitmapUuid(g, 'b')).to.equal(u(1));
  });

  it('minting skips zero and known UUIDs, and gives up on a broken source', () => {
    expect(onFirstWriteWhileDisconnected(gen(1, {}, [5]), 'b', seq(0, 1, 5, 6)).current).to.equal(u(6));
    expect(() => onFirstWriteWhileDisconnected(gen(1), 'b', () => u(1))).to.throw(TandemError).with.property('code', 'GENERATION_MINT');
    expect(() => onFirstWriteWhileDisconnected(gen(1), 'b', () => 'XYZ')).to.throw(TandemError).with.property('code', 'GENERATION_MINT');
    expect(randomUuid()).to.match(/^[0-9a-f]{16}$/);
  });

  it('a connected Secondary follows its Primary\'s new current', () => {
    expect(onPeerStartedGeneration(gen(1), u(2), ['c'])).to.deep.equal(gen(2, { c: [1, false] }, [1]));
    const same = gen(2);
    expect(onPeerStartedGeneration(same, u(2), ['c'])).to.equal(same);
    expect(() => onPeerStartedGeneration(same, ZERO_UUID, [])).to.throw(TandemError);
  });

  it('connected and synced clears only that peer\'s bitmap UUID', () => {
    const g = gen(3, { b: [1, true], c: [2, false] }, [2, 1]);
    expect(onConnectedAndSynced(g, 'b')).to.deep.equal(gen(3, { c: [2, false] }, [2, 1]));
    expect(onConnectedAndSynced(g, 'x')).to.equal(g);
  });

  it('resync finished: the source clears the bitmap, the target adopts current and history', () => {
    const source = gen(3, { b: [1, true], c: [2, false] }, [2, 1]);
    expect(onResyncFinished(source, 'b', { asTarget: false })).to.deep.equal(gen(3, { c: [2, false] }, [2, 1]));
    const target = gen(1, { c: [7, false] }, [7]);
    expect(onResyncFinished(target, 'a', { asTarget: true, source })).to.deep.equal(gen(3, {}, [2, 1]));
    expect(onResyncFinished(onNewVolume(seq(9)), 'a', { asTarget: true, source }).fresh).to.equal(false);
  });

  it('peer names that are Object.prototype keys are just names', () => {
    const g = gen(1);
    expect(bitmapEntry(g, 'constructor')).to.equal(undefined);
    expect(bitmapUuid(g, '__proto__')).to.equal(ZERO_UUID);
    const h = onFirstWriteWhileDisconnected(g, ['constructor', '__proto__'], seq(2));
    expect(Object.keys(h.bitmap).sort()).to.deep.equal(['__proto__', 'constructor']);
    expect(bitmapUuid(h, '__proto__')).to.equal(u(1));
    expect(Object.getPrototypeOf(h.bitmap)).to.equal(Object.prototype);
  });
});

// Node b, a Secondary in step with Primary a; c is the third peer.
describe('replication/generations followPrimary', () => {
  it('adopts the Primary\'s entry for a peer that split at the generation we held, only when misses are forwarded', () => {
    const ours = gen(1, {}, [7]);
    const theirs = gen(2, { c: [1, true], b: [9, false] }, [1, 7]);
    expect(followPrimary(ours, 'b', 'a', theirs, true)).to.deep.equal({ generations: gen(2, { c: [1, false] }, [1, 7]) });
    expect(followPrimary(ours, 'b', 'a', theirs, false)).to.deep.equal({ generations: gen(2, {}, [1, 7]) });
  });

  it('two generations started between two STATEs: the middle one is in our history too, and a peer that split at it is adopted', () => {
    const r = followPrimary(gen(1, {}, [9]), 'b', 'a', gen(3, { c: [1, true], d: [2, true], e: [9, true] }, [2, 1, 9]), true);
    // e split at 9, before we held 1: we did not see its first misses.
    expect(r.generations).to.deep.equal(gen(3, { c: [1, false], d: [2, false] }, [2, 1, 9]));
  });

  it('does not adopt a split older than the generation we held: we did not see its first misses', () => {
    expect(followPrimary(gen(2, {}, [1]), 'b', 'a', gen(3, { c: [1, true] }, [2, 1]), true).generations).to.deep.equal(gen(3, {}, [2, 1]));
  });

  it('keeps an entry it tracked since the same split, across generations and as it was (primaryAtSplit too)', () => {
    const ours = gen(2, { c: [1, true] }, [1]);
    expect(followPrimary(ours, 'b', 'a', gen(3, { c: [1, false] }, [2, 1]), true).generations).to.deep.equal(gen(3, { c: [1, true] }, [2, 1]));
    const r = followPrimary(ours, 'b', 'a', gen(2, { c: [1, false] }, [1]), true);
    expect(r.generations).to.equal(ours);
  });

  it('drops an entry that names another split, or one a resync of ours set, or any entry when misses are not forwarded', () => {
    expect(followPrimary(gen(2, { c: [5, false] }, [1]), 'b', 'a', gen(3, { c: [1, false] }, [2, 1]), true).generations).to.deep.equal(gen(3, {}, [2, 1]));
    const resyncing: Generations = { ...gen(2, {}, [1]), bitmap: { c: { uuid: u(1), primaryAtSplit: false, resync: true } } };
    expect(followPrimary(resyncing, 'b', 'a', gen(2, { c: [1, false] }, [1]), true).generations).to.deep.equal(gen(2, {}, [1]));
    expect(followPrimary(gen(2, { c: [1, false] }, [1]), 'b', 'a', gen(2, { c: [1, false] }, [1]), false).generations).to.deep.equal(gen(2, {}, [1]));
  });

  it('drops the entry of a peer the Primary holds none for', () => {
    const r = followPrimary(gen(2, { c: [1, false], d: [1, false] }, [1]), 'b', 'a', gen(2, { d: [1, false] }, [1]), true);
    expect(r.generations).to.deep.equal(gen(2, { d: [1, false] }, [1]));
  });

  it('keeps our own entry for the Primary and ignores the Primary\'s entry for us', () => {
    const ours = gen(1, { a: [4, true] });
    expect(followPrimary(ours, 'b', 'a', gen(2, { b: [1, true] }, [1]), true).generations).to.deep.equal(gen(2, { a: [4, true] }, [1]));
    expect(followPrimary(ours, 'b', 'a', gen(1, { b: [1, true] }), true).generations).to.equal(ours);
  });

  it('a fresh record takes the Primary\'s current with no history and adopts nothing; a zero current is refused', () => {
    const fresh: Generations = { current: u(1), fresh: true, bitmap: {}, history: [] };
    expect(followPrimary(fresh, 'b', 'a', gen(2, { c: [1, false] }, [1]), true).generations).to.deep.equal(gen(2));
    expect(() => followPrimary(gen(1), 'b', 'a', { ...gen(1), current: ZERO_UUID }, true)).to.throw(TandemError);
  });
});

describe('replication/generations withoutBitmapEntries', () => {
  it('drops the named peers\' entries only; nothing to drop gives the same record', () => {
    const g = gen(5, { b: [3, true], c: [4, false] }, [4, 3]);
    expect(withoutBitmapEntries(g, ['c', 'x'])).to.deep.equal(gen(5, { b: [3, true] }, [4, 3]));
    expect(withoutBitmapEntries(g, ['x'])).to.equal(g);
  });
});

describe('replication/generations JSON', () => {
  const g = gen(0xabc, { b: [0x12, true], a: [0x34, false] }, [0x12, 0x34]);

  it('encodes an exact fixture, sorted by peer, and round-trips', () => {
    const json = encodeGenerations(g);
    expect(json).to.equal(
      '{"format":1,"current":"0000000000000abc","fresh":false,"bitmap":{"a":{"uuid":"0000000000000034","primaryAtSplit":false},'
      + '"b":{"uuid":"0000000000000012","primaryAtSplit":true}},"history":["0000000000000012","0000000000000034"]}',
    );
    expect(decodeGenerations(json)).to.deep.equal({ ok: true, generations: g });
    const fresh = onNewVolume(seq(5));
    expect(loadGenerations(encodeGenerations(fresh))).to.deep.equal(fresh);
  });

  it('a resync under way marks its entry "resync": true, and only then; it round-trips', () => {
    const r = onResyncStarted(g, 'a', u(0x77));
    const json = encodeGenerations(r);
    expect(json).to.include('"a":{"uuid":"0000000000000077","primaryAtSplit":false,"resync":true}');
    expect(json).to.include('"b":{"uuid":"0000000000000012","primaryAtSplit":true}}');
    expect(decodeGenerations(json)).to.deep.equal({ ok: true, generations: r });
  });

  const base = JSON.parse(encodeGenerations(g)) as Record<string, unknown>;
  const withField = (k: string, v: unknown): string => JSON.stringify({ ...base, [k]: v });
  const rows: [string, string, RegExp][] = [
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['unknown key', withField('extra', 1), /unknown key "extra"/],
    ['another format', withField('format', 2), /format 2 is not 1/],
    ['zero current', withField('current', '0000000000000000'), /current .* non-zero UUID/],
    ['uppercase current', withField('current', '0000000000000ABC'), /current/],
    ['short current', withField('current', 'abc'), /current/],
    ['bigint-like number', withField('current', 2748), /current/],
    ['fresh not boolean', withField('fresh', 'no'), /fresh is not a boolean/],
    ['bitmap array', withField('bitmap', []), /bitmap is not an object/],
    ['bad peer name', withField('bitmap', { 'a b': { uuid: u(1), primaryAtSplit: false } }), /peer name "a b"/],
    ['zero bitmap uuid', withField('bitmap', { a: { uuid: ZERO_UUID, primaryAtSplit: false } }), /bitmap.a.uuid/],
    ['bitmap entry extra key', withField('bitmap', { a: { uuid: u(1), primaryAtSplit: false, x: 1 } }), /bitmap.a has unknown key "x"/],
    ['bitmap flag missing', withField('bitmap', { a: { uuid: u(1) } }), /primaryAtSplit is not a boolean/],
    ['resync false', withField('bitmap', { a: { uuid: u(1), primaryAtSplit: false, resync: false } }), /bitmap.a.resync is false, only true \(or absent\)/],
    ['history not array', withField('history', 'x'), /history is not an array/],
    ['history too long', withField('history', [1, 2, 3, 4, 5].map(u)), /more than 4/],
    ['history zero', withField('history', [ZERO_UUID]), /history\[0\]/],
    ['history repeats current', withField('history', [u(0xabc)]), /repeats the current/],
    ['history duplicate', withField('history', [u(1), u(1)]), /history\[1\] repeats history\[0\]/],
    ['fresh with history', JSON.stringify({ ...base, fresh: true }), /fresh record/],
    ['too large', ' '.repeat(MAX_JSON_BYTES + 1), /longer than/],
  ];
  for (const [name, text, reason] of rows) {
    it(`rejects ${name}`, () => {
      const r = decodeGenerations(text);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.reason).to.match(reason);
      expect(() => loadGenerations(text, '/var/lib/tandem/db.meta')).to.throw(TandemError, /db\.meta: generation identifiers are invalid/)
        .with.property('code', 'METADATA_GENERATIONS_INVALID');
    });
  }

  it('keeps a peer named __proto__ as an own key', () => {
    const text = '{"format":1,"current":"0000000000000001","fresh":false,"bitmap":{"__proto__":{"uuid":"0000000000000002","primaryAtSplit":false}},"history":[]}';
    const r = decodeGenerations(text);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(Object.keys(r.generations.bitmap)).to.deep.equal(['__proto__']);
    expect(bitmapUuid(r.generations, '__proto__')).to.equal(u(2));
    expect(encodeGenerations(r.generations)).to.equal(text);
  });

  it('never throws on mangled input (fuzz)', () => {
    const text = encodeGenerations(g);
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const chars = [...text];
      for (let k = 0; k <= rnd(4); k++) chars[rnd(chars.length)] = String.fromCharCode(rnd(128));
      const r = decodeGenerations(chars.join('').slice(0, rnd(3) === 0 ? rnd(chars.length) : undefined));
      if (r.ok) {
        accepted++;
        expect(decodeGenerations(encodeGenerations(r.generations))).to.deep.equal(r);
      }
    }
    expect(accepted).to.be.lessThan(5000);
  });
});
