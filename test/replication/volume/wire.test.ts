// Payload codecs of the volume's frames (wire.ts): exact hex fixtures, round
// trips, and hostile input. A decoder must answer every byte string with a
// value or {ok:false, detail}, never an exception (style.md habit 1).
import { expect } from 'chai';
import { onFirstWriteWhileDisconnected, onNewVolume, onPromoteWhileDisconnected, type Generations, type Mint } from '../../../lib/replication/generations.js';
import { encodeGenerations } from '../../../lib/replication/generations-json.js';
import {
  BLOCK_HASH_LEN, decodePeerOutOfSync, decodeResyncData, decodeResyncRequest, decodeState, decodeU64, decodeVerifyReply, decodeVerifyRequest, decodeWrite,
  encodePeerOutOfSync, encodeResyncDataHeader, encodeResyncRequest, encodeState, encodeU64, encodeVerifyReply, encodeVerifyRequest, encodeWriteHeader,
  encodeZeroes, HASH_LEN, MAX_REQUEST_LEN, type Decoded, type PeerState,
} from '../../../lib/replication/volume/wire.js';
import { rng } from '../../helpers/random.js';

const BS = 4096;
const u = (n: number): string => n.toString(16).padStart(16, '0');
const mints = (...ns: number[]): Mint => {
  let i = 0;
  return () => u(ns[i++] ?? 0xdead);
};
const hex = (b: Buffer): string => b.toString('hex');
const TWO_53 = 2 ** 53; // first offset that is not a safe integer

function bytes(r: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

// A realistic record: promoted, lost node-b, wrote.
function history(): Generations {
  const g0 = onNewVolume(mints(1));
  const g1 = onPromoteWhileDisconnected(g0, ['node-b'], mints(2));
  return onFirstWriteWhileDisconnected(g1, 'node-b', mints(3));
}

function state(over: Partial<PeerState> = {}): PeerState {
  return {
    role: 'Secondary', disk: 'UpToDate', generations: history(), size: 8 << 20, blockSize: BS, protocol: 'C',
    changedBlocks: 17, discardMyData: false, ...over,
  };
}

// Decoders under test, each with a thunk that must never throw.
const DECODERS: Array<[string, (b: Buffer) => Decoded<unknown>]> = [
  ['decodeWrite', (b) => decodeWrite(b, false)],
  ['decodeWrite (zeroes)', (b) => decodeWrite(b, true)],
  ['decodeU64', (b) => decodeU64(b, 'WRITE_ACK')],
  ['decodeState', (b) => decodeState(b)],
  ['decodeResyncRequest', (b) => decodeResyncRequest(b)],
  ['decodeResyncData', (b) => decodeResyncData(b)],
  ['decodeVerifyRequest', (b) => decodeVerifyRequest(b, BS)],
  ['decodeVerifyReply', (b) => decodeVerifyReply(b, BS)],
  ['decodePeerOutOfSync', (b) => decodePeerOutOfSync(b)],
];

function expectRejected(d: Decoded<unknown>, match?: RegExp): void {
  expect(d.ok, JSON.stringify(d)).to.equal(false);
  if (d.ok) return;
  expect(d.detail).to.be.a('string').and.not.equal('');
  if (match) expect(d.detail).to.match(match);
}

function value<T>(d: Decoded<T>): T {
  if (!d.ok) throw new Error(`rejected: ${d.detail}`);
  return d.value;
}

describe('replication/volume wire: hex fixtures', () => {
  it('WRITE header, zeroes and u64', () => {
    expect(hex(encodeWriteHeader(0x0102030405))).to.equal('0000000102030405');
    expect(hex(encodeZeroes(4096, 8192))).to.equal('0000000000001000' + '00002000');
    expect(hex(encodeU64(0xdeadbeefn))).to.equal('00000000deadbeef');
    expect(hex(encodeU64(2 ** 53 - 1))).to.equal('001fffffffffffff');
  });

  it('RESYNC_REQUEST with and without a hash, RESYNC_DATA header', () => {
    expect(hex(encodeResyncRequest(0x10000, 0x100000, null))).to.equal('0000000000010000' + '00100000' + '00');
    const h = Buffer.alloc(HASH_LEN, 0xab);
    expect(hex(encodeResyncRequest(1, 2, h))).to.equal('0000000000000001' + '00000002' + '20' + 'ab'.repeat(32));
    expect(hex(encodeResyncDataHeader(8192, 4096, false))).to.equal('0000000000002000' + '00001000' + '00');
    expect(hex(encodeResyncDataHeader(8192, 4096, true))).to.equal('0000000000002000' + '00001000' + '01');
  });

  it('PEER_OUT_OF_SYNC: offset, length, then the peer\'s name', () => {
    expect(encodePeerOutOfSync({ offset: 0x12345000, length: 0x10000, peer: 'node-c' }).toString('hex')).to.equal('000000001234500000010000' + Buffer.from('node-c').toString('hex'));
  });

  it('VERIFY_REQUEST and VERIFY_REPLY', () => {
    const hashes = Buffer.alloc(2 * BLOCK_HASH_LEN, 0x5a);
    expect(hex(encodeVerifyRequest(0, 8192, hashes))).to.equal('0000000000000000' + '00002000' + '5a'.repeat(32));
    expect(hex(encodeVerifyReply(4096, 3 * 4096, [0, 2]))).to.equal('0000000000001000' + '00003000' + '00000002' + '00000000' + '00000002');
    expect(hex(encodeVerifyReply(0, 4096, []))).to.equal('0000000000000000' + '00001000' + '00000000');
  });

  it('STATE is the JSON of the fields with the generation record in its metadata form', () => {
    const s = state();
    const json = JSON.parse(encodeState(s).toString('utf8')) as Record<string, unknown>;
    expect(json).to.deep.equal({
      role: 'Secondary', disk: 'UpToDate', size: 8 << 20, blockSize: BS, protocol: 'C', changedBlocks: 17, discardMyData: false,
      generations: JSON.parse(encodeGenerations(s.generations)) as unknown,
    });
    expect(json.generations).to.deep.equal({ format: 1, current: u(3), fresh: false, bitmap: { 'node-b': { uuid: u(2), primaryAtSplit: true } }, history: [u(2)] });
  });
});

describe('replication/volume wire: round trips', () => {
  it('WRITE with data, at offsets up to 2^53-1', () => {
    for (const off of [0, 1, 4096, 2 ** 32, 2 ** 40 + 7, TWO_53 - 1]) {
      for (const n of [1, 512, 4096, 65537]) {
        const data = bytes(rng(off + n), n);
        const d = value(decodeWrite(Buffer.concat([encodeWriteHeader(off), data]), false));
        expect(d.offset).to.equal(off);
        expect(d.length).to.equal(n);
        expect(d.data?.equals(data)).to.equal(true);
      }
    }
  });

  it('WRITE zeroes', () => {
    for (const [off, n] of [[0, 1], [4096, 4096], [TWO_53 - 1, 0xffffffff]] as const) {
      expect(value(decodeWrite(encodeZeroes(off, n), true))).to.deep.equal({ offset: off, length: n, data: null });
    }
  });

  it('u64 (WRITE_ACK, BARRIER, BARRIER_ACK) over the whole u64 range', () => {
    for (const v of [0n, 1n, 255n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]) expect(value(decodeU64(encodeU64(v), 'x'))).to.equal(v);
  });

  it('STATE with every role, disk state, protocol and real generation histories', () => {
    const gens: Generations[] = [onNewVolume(mints(9)), onPromoteWhileDisconnected(onNewVolume(mints(9)), [], mints(10)), history()];
    for (const role of ['Primary', 'Secondary'] as const) {
      for (const disk of ['Diskless', 'Attaching', 'Inconsistent', 'Outdated', 'DUnknown', 'Consistent', 'UpToDate'] as const) {
        for (const protocol of ['A', 'B', 'C'] as const) {
          for (const generations of gens) {
            const s = state({ role, disk, protocol, generations, discardMyData: disk === 'Outdated', changedBlocks: disk.length });
            expect(value(decodeState(encodeState(s)))).to.deep.equal(s);
          }
        }
      }
    }
    const big = state({ size: Number.MAX_SAFE_INTEGER, blockSize: 1 << 20, changedBlocks: 0 });
    expect(value(decodeState(encodeState(big)))).to.deep.equal(big);
  });

  it('STATE feeds (link protocol 4): none, some, or absent as from a peer speaking 3', () => {
    const some = state({ feeds: [{ peer: 'node-c', replication: 'SyncTarget' }, { peer: 'node-d', replication: 'Established' }, { peer: 'x'.repeat(63), replication: 'SyncSource' }] });
    for (const s of [state({ feeds: [] }), some, state()]) expect(value(decodeState(encodeState(s)))).to.deep.equal(s);
    expect(JSON.parse(encodeState(state()).toString('utf8'))).to.not.have.property('feeds');
  });

  it('STATE staleBits (link protocol 7): true round-trips; false and absent decode as absent', () => {
    expect(value(decodeState(encodeState(state({ staleBits: true }))))).to.deep.equal(state({ staleBits: true }));
    expect(value(decodeState(encodeState(state({ staleBits: false }))))).to.deep.equal(state());
    expect(value(decodeState(encodeState(state())))).to.deep.equal(state());
  });

  it('STATE lostPrimaryBlocks: a count up to changedBlocks round-trips; 0 and absent decode as absent (an older peer sends none)', () => {
    expect(value(decodeState(encodeState(state({ lostPrimaryBlocks: 17 }))))).to.deep.equal(state({ lostPrimaryBlocks: 17 }));
    expect(value(decodeState(encodeState(state({ lostPrimaryBlocks: 0 }))))).to.deep.equal(state());
    expect(value(decodeState(encodeState(state())))).to.deep.equal(state());
  });

  it('PEER_OUT_OF_SYNC at offsets up to 2^53-1, lengths up to 2^32-1, names up to 63 bytes', () => {
    for (const m of [{ offset: 0, length: 1, peer: 'n' }, { offset: 2 ** 53 - 1, length: 0xffffffff, peer: 'é'.repeat(31) + 'x' }, { offset: 4096, length: 65536, peer: 'node-c' }]) {
      expect(decodePeerOutOfSync(encodePeerOutOfSync(m))).to.deep.equal({ ok: true, value: m });
    }
    expect(() => encodePeerOutOfSync({ offset: 0, length: 1, peer: '' })).to.throw(RangeError);
  });

  it('RESYNC_REQUEST with and without a hash', () => {
    const h = bytes(rng(1), HASH_LEN);
    expect(value(decodeResyncRequest(encodeResyncRequest(TWO_53 - 1, MAX_REQUEST_LEN, h)))).to.deep.equal({ offset: TWO_53 - 1, length: MAX_REQUEST_LEN, hash: h });
    expect(value(decodeResyncRequest(encodeResyncRequest(4096, 1, null)))).to.deep.equal({ offset: 4096, length: 1, hash: null });
  });

  it('RESYNC_DATA with data and "same"', () => {
    const data = bytes(rng(2), 3 * BS);
    const d = value(decodeResyncData(Buffer.concat([encodeResyncDataHeader(BS, data.length, false), data])));
    expect(d.offset).to.equal(BS);
    expect(d.length).to.equal(data.length);
    expect(d.data?.equals(data)).to.equal(true);
    expect(value(decodeResyncData(encodeResyncDataHeader(0, MAX_REQUEST_LEN, true)))).to.deep.equal({ offset: 0, length: MAX_REQUEST_LEN, data: null });
  });

  it('VERIFY_REQUEST: one 16-byte hash per (possibly partial) block', () => {
    for (const n of [1, BS, BS + 1, 5 * BS, MAX_REQUEST_LEN]) {
      const hashes = bytes(rng(n), Math.ceil(n / BS) * BLOCK_HASH_LEN);
      const d = value(decodeVerifyRequest(encodeVerifyRequest(BS * 3, n, hashes), BS));
      expect(d.offset).to.equal(BS * 3);
      expect(d.length).to.equal(n);
      expect(d.hashes.equals(hashes)).to.equal(true);
    }
  });

  it('VERIFY_REPLY with none, some and every block mismatched', () => {
    const blocks = MAX_REQUEST_LEN / BS;
    for (const m of [[], [0], [1, 5, 7], [...Array(blocks).keys()]]) {
      expect(value(decodeVerifyReply(encodeVerifyReply(0, MAX_REQUEST_LEN, m), BS))).to.deep.equal({ offset: 0, length: MAX_REQUEST_LEN, mismatched: m });
    }
    expect(value(decodeVerifyReply(encodeVerifyReply(7, BS + 1, [1]), BS)).mismatched).to.deep.equal([1]);
  });
});

describe('replication/volume wire: bad payloads are rejected with a reason', () => {
  const u64 = (v: bigint): Buffer => encodeU64(v);
  const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };

  it('WRITE: empty, header only, offset beyond 2^53', () => {
    expectRejected(decodeWrite(Buffer.alloc(0), false), /0 bytes/);
    expectRejected(decodeWrite(Buffer.alloc(8), false), /no data/);
    expectRejected(decodeWrite(Buffer.concat([u64(2n ** 53n), Buffer.alloc(1)]), false), /2\^53/);
    expectRejected(decodeWrite(Buffer.concat([u64(2n ** 64n - 1n), Buffer.alloc(4096)]), false), /2\^53/);
  });

  it('WRITE zeroes: wrong length, zero length, offset beyond 2^53', () => {
    for (const n of [0, 8, 11, 13, 20]) expectRejected(decodeWrite(Buffer.alloc(n), true), /want 12/);
    expectRejected(decodeWrite(encodeZeroes(0, 0), true), /length 0/);
    expectRejected(decodeWrite(Buffer.concat([u64(2n ** 53n), u32(1)]), true), /2\^53/);
  });

  it('u64: any length but 8', () => {
    for (const n of [0, 1, 7, 9, 16]) expectRejected(decodeU64(Buffer.alloc(n), 'BARRIER'), new RegExp(`BARRIER payload is ${n} bytes, want 8`));
  });

  it('RESYNC_REQUEST: truncated, length 0 or above 4 MiB, bad hash length, trailing bytes', () => {
    const good = encodeResyncRequest(0, BS, Buffer.alloc(HASH_LEN));
    for (let n = 0; n < good.length; n++) expectRejected(decodeResyncRequest(good.subarray(0, n)));
    expectRejected(decodeResyncRequest(Buffer.concat([good, Buffer.alloc(1)])), /want 45/);
    expectRejected(decodeResyncRequest(encodeResyncRequest(0, 0, null)), /length 0/);
    expectRejected(decodeResyncRequest(encodeResyncRequest(0, MAX_REQUEST_LEN + 1, null)), /length 4194305/);
    expectRejected(decodeResyncRequest(Buffer.concat([u64(2n ** 53n), u32(1), Buffer.of(0)])), /2\^53/);
    const bad = Buffer.from(good);
    bad[12] = 16;
    expectRejected(decodeResyncRequest(bad), /hash length 16/);
    expectRejected(decodeResyncRequest(encodeResyncRequest(0, 1, null).subarray(0, 12)), /hash length/);
  });

  it('RESYNC_DATA: truncated, data of the wrong length, "same" with data, unknown kind', () => {
    const data = Buffer.alloc(BS, 1);
    const good = Buffer.concat([encodeResyncDataHeader(0, BS, false), data]);
    for (const n of [0, 5, 12, 13, 14, good.length - 1]) expectRejected(decodeResyncData(good.subarray(0, n)));
    expectRejected(decodeResyncData(Buffer.concat([good, Buffer.alloc(1)])), /4097 bytes for a 4096-byte range/);
    expectRejected(decodeResyncData(Buffer.concat([encodeResyncDataHeader(0, BS, true), data])), /"same" carries data/);
    const k = Buffer.from(good);
    k[12] = 2;
    expectRejected(decodeResyncData(k), /kind 2/);
    expectRejected(decodeResyncData(encodeResyncDataHeader(0, MAX_REQUEST_LEN + 1, true)), /length/);
  });

  it('PEER_OUT_OF_SYNC: truncated, length 0, offset beyond 2^53, a name too long, not UTF-8 or with a control character', () => {
    const good = encodePeerOutOfSync({ offset: 0, length: BS, peer: 'node-c' });
    for (let n = 0; n <= 12; n++) expectRejected(decodePeerOutOfSync(good.subarray(0, n)), new RegExp(`payload is ${n} bytes`));
    expectRejected(decodePeerOutOfSync(Buffer.concat([u64(0n), u32(0), Buffer.from('c')])), /length 0/);
    expectRejected(decodePeerOutOfSync(Buffer.concat([u64(2n ** 53n), u32(1), Buffer.from('c')])), /2\^53/);
    expectRejected(decodePeerOutOfSync(Buffer.concat([u64(0n), u32(1), Buffer.alloc(64, 0x61)])), /name is 64 bytes/);
    expectRejected(decodePeerOutOfSync(Buffer.concat([u64(0n), u32(1), Buffer.from([0x6e, 0xc3])])), /not UTF-8/);
    expectRejected(decodePeerOutOfSync(Buffer.concat([u64(0n), u32(1), Buffer.from('a\nb')])), /control character/);
  });

  it('VERIFY_REQUEST: hash bytes that do not match the range', () => {
    expectRejected(decodeVerifyRequest(encodeVerifyRequest(0, 2 * BS, Buffer.alloc(BLOCK_HASH_LEN)), BS), /want 32/);
    expectRejected(decodeVerifyRequest(encodeVerifyRequest(0, BS, Buffer.alloc(BLOCK_HASH_LEN + 1)), BS), /want 16/);
    expectRejected(decodeVerifyRequest(encodeVerifyRequest(0, BS, Buffer.alloc(0)), BS), /want 16/);
    expectRejected(decodeVerifyRequest(Buffer.alloc(11), BS), /under 12/);
    expectRejected(decodeVerifyRequest(encodeVerifyRequest(0, 0, Buffer.alloc(0)), BS), /length 0/);
  });

  it('VERIFY_REPLY: no count, count above the blocks, count and bytes disagree, block outside the range', () => {
    expectRejected(decodeVerifyReply(encodeVerifyReply(0, BS, []).subarray(0, 15), BS), /no count/);
    expectRejected(decodeVerifyReply(encodeVerifyReply(0, BS, [0, 0]), BS), /count 2/);
    const short = encodeVerifyReply(0, 4 * BS, [0, 1]);
    expectRejected(decodeVerifyReply(short.subarray(0, short.length - 1), BS), /count 2/);
    expectRejected(decodeVerifyReply(Buffer.concat([short, Buffer.alloc(4)]), BS), /count 2/);
    expectRejected(decodeVerifyReply(encodeVerifyReply(0, 2 * BS, [2]), BS), /block 2 is outside the 2-block range/);
    expectRejected(decodeVerifyReply(encodeVerifyReply(0, 2 * BS, [0xffffffff]), BS), /outside/);
    // A count near 2^32 must not make the decoder allocate or loop.
    const huge = encodeVerifyReply(0, BS, []);
    huge.writeUInt32BE(0xffffffff, 12);
    expectRejected(decodeVerifyReply(huge, BS), /count 4294967295/);
  });
});

describe('replication/volume wire: decodeState rejects what a peer must not claim', () => {
  const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o), 'utf8');
  const base = (): Record<string, unknown> => JSON.parse(encodeState(state()).toString('utf8')) as Record<string, unknown>;
  const withField = (k: string, v: unknown): Buffer => json({ ...base(), [k]: v });
  const without = (k: string): Buffer => { const o = base(); delete o[k]; return json(o); };

  it('not JSON, not an object, oversized', () => {
    for (const s of ['', '{', 'nul', '{"role":', '\u0000', '[]', 'null', '1', '"Primary"', 'true']) expectRejected(decodeState(Buffer.from(s)));
    expectRejected(decodeState(Buffer.from([0xff, 0xfe, 0x00])), /not JSON/);
    const padded = Buffer.concat([encodeState(state()), Buffer.alloc(64 * 1024, 0x20)]);
    expectRejected(decodeState(padded), /at most 65536/);
  });

  it('bad roles', () => {
    for (const r of ['Unknown', 'primary', 'PRIMARY', '', null, 1, ['Primary'], { role: 'Primary' }]) expectRejected(decodeState(withField('role', r)), /role/);
    expectRejected(decodeState(without('role')), /role/);
  });

  it('bad disk states', () => {
    for (const d of ['uptodate', 'Up To Date', 'Detached', '', null, 0, true]) expectRejected(decodeState(withField('disk', d)), /disk/);
    expectRejected(decodeState(without('disk')), /disk/);
  });

  it('bad protocols', () => {
    for (const p of ['D', 'a', 'c', 'AB', '', null, 3]) expectRejected(decodeState(withField('protocol', p)), /protocol/);
  });

  it('negative, fractional, unsafe or non-numeric sizes and counts', () => {
    for (const k of ['size', 'blockSize', 'changedBlocks']) {
      for (const v of [-1, -4096, 1.5, 2 ** 53, 1e300, '4096', null, true, [1]]) expectRejected(decodeState(withField(k, v)), new RegExp(k));
      expectRejected(decodeState(without(k)), new RegExp(k));
    }
    // JSON has no NaN or Infinity: they arrive as the text of a number too large or as garbage.
    expectRejected(decodeState(Buffer.from(encodeState(state()).toString().replace('"size":8388608', '"size":1e999'))), /size/);
  });

  it('feeds must be a short list of { peer, replication } with a data-moving replication state', () => {
    const bad: unknown[] = [
      null, 'SyncTarget', {}, [null], [{}], [{ peer: 'node-c' }], [{ peer: '', replication: 'SyncTarget' }], [{ peer: 'x'.repeat(64), replication: 'SyncTarget' }],
      [{ peer: 'node-c', replication: 'PausedSyncT' }], [{ peer: 'node-c', replication: 'Off' }], [{ peer: 7, replication: 'SyncTarget' }],
      Array.from({ length: 65 }, () => ({ peer: 'node-c', replication: 'SyncSource' })),
    ];
    for (const v of bad) expectRejected(decodeState(withField('feeds', v)), /feeds/);
  });

  it('discardMyData must be a boolean', () => {
    for (const v of [0, 1, 'true', null]) expectRejected(decodeState(withField('discardMyData', v)), /discardMyData/);
  });

  it('staleBits (link protocol 7) must be a boolean when present', () => {
    for (const v of [0, 1, 'true', null, []]) expectRejected(decodeState(withField('staleBits', v)), /staleBits/);
  });

  it('lostPrimaryBlocks must be an integer 0..changedBlocks when present', () => {
    for (const v of [-1, 18, 1.5, '3', null, true]) expectRejected(decodeState(withField('lostPrimaryBlocks', v)), /lostPrimaryBlocks .* is not an integer 0\.\.changedBlocks \(17\)/);
  });

  it('bad generations', () => {
    const g = JSON.parse(encodeGenerations(history())) as Record<string, unknown>;
    const bad: unknown[] = [
      null, 'x', [], {},
      { ...g, format: 2 },
      { ...g, current: '0000000000000000' },
      { ...g, current: 'ABCDEF0123456789' },
      { ...g, current: u(1).slice(1) },
      { ...g, fresh: 'no' },
      { ...g, history: [u(3)] }, // repeats current
      { ...g, history: [u(4), u(4)] },
      { ...g, history: [u(4), u(5), u(6), u(7), u(8)] }, // longer than HISTORY_LENGTH
      { ...g, bitmap: { 'node-b': { uuid: '0000000000000000', primaryAtSplit: true } } },
      { ...g, bitmap: { 'bad name!': { uuid: u(2), primaryAtSplit: true } } },
      { ...g, bitmap: { 'node-b': { uuid: u(2) } } },
      { ...g, bitmap: { 'node-b': { uuid: u(2), primaryAtSplit: true, extra: 1 } } },
      { ...g, fresh: true }, // a fresh record has no bitmap and no history
      { ...g, extra: true },
    ];
    for (const v of bad) expectRejected(decodeState(withField('generations', v)), /generations/);
    expectRejected(decodeState(without('generations')), /generations/);
  });

  it('a key named __proto__ does not pollute anything', () => {
    const text = encodeState(state()).toString().replace('{', '{"__proto__":{"polluted":1},');
    const d = decodeState(Buffer.from(text));
    expect(d.ok).to.equal(true);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});

describe('replication/volume wire: fuzz (seeded), never throws', () => {
  // Valid payloads to mutate from, per decoder.
  const seeds: Record<string, Buffer[]> = {
    'decodeWrite': [Buffer.concat([encodeWriteHeader(4096), Buffer.alloc(100, 7)])],
    'decodeWrite (zeroes)': [encodeZeroes(8192, 4096)],
    'decodeU64': [encodeU64(42)],
    'decodeState': [encodeState(state()), encodeState(state({ generations: onNewVolume(mints(5)), role: 'Primary' }))],
    'decodeResyncRequest': [encodeResyncRequest(0, 1 << 20, Buffer.alloc(HASH_LEN, 3)), encodeResyncRequest(4096, 4096, null)],
    'decodeResyncData': [Buffer.concat([encodeResyncDataHeader(0, 64, false), Buffer.alloc(64, 9)]), encodeResyncDataHeader(0, 4096, true)],
    'decodeVerifyRequest': [encodeVerifyRequest(0, 3 * BS, Buffer.alloc(3 * BLOCK_HASH_LEN, 1))],
    'decodeVerifyReply': [encodeVerifyReply(0, 8 * BS, [1, 3, 7])],
  };

  // What an accepted value must satisfy, whatever the bytes were.
  function checkAccepted(name: string, input: Buffer, v: unknown): void {
    const r = v as { offset?: number; length?: number };
    if (r.offset !== undefined) expect(Number.isSafeInteger(r.offset) && r.offset >= 0, `${name} offset`).to.equal(true);
    if (r.length !== undefined) expect(Number.isSafeInteger(r.length) && r.length > 0, `${name} length`).to.equal(true);
    // Canonical: an accepted payload encodes back to the same bytes.
    switch (name) {
      case 'decodeWrite': {
        const w = v as { offset: number; data: Buffer };
        expect(Buffer.concat([encodeWriteHeader(w.offset), w.data]).equals(input)).to.equal(true);
        break;
      }
      case 'decodeWrite (zeroes)': {
        const w = v as { offset: number; length: number };
        expect(encodeZeroes(w.offset, w.length).equals(input)).to.equal(true);
        break;
      }
      case 'decodeResyncRequest': {
        const q = v as { offset: number; length: number; hash: Buffer | null };
        expect(q.length).to.be.at.most(MAX_REQUEST_LEN);
        expect(encodeResyncRequest(q.offset, q.length, q.hash).equals(input)).to.equal(true);
        break;
      }
      case 'decodeResyncData': {
        const q = v as { offset: number; length: number; data: Buffer | null };
        expect(q.data === null || q.data.length === q.length).to.equal(true);
        expect(Buffer.concat([encodeResyncDataHeader(q.offset, q.length, q.data === null), q.data ?? Buffer.alloc(0)]).equals(input)).to.equal(true);
        break;
      }
      case 'decodeVerifyRequest': {
        const q = v as { offset: number; length: number; hashes: Buffer };
        expect(encodeVerifyRequest(q.offset, q.length, q.hashes).equals(input)).to.equal(true);
        break;
      }
      case 'decodeVerifyReply': {
        const q = v as { offset: number; length: number; mismatched: number[] };
        expect(q.mismatched.every((m) => m < Math.ceil(q.length / BS))).to.equal(true);
        expect(encodeVerifyReply(q.offset, q.length, q.mismatched).equals(input)).to.equal(true);
        break;
      }
      case 'decodeState': {
        const s = v as PeerState;
        expect(['Primary', 'Secondary']).to.include(s.role);
        expect(['A', 'B', 'C']).to.include(s.protocol);
        for (const k of ['size', 'blockSize', 'changedBlocks'] as const) expect(Number.isSafeInteger(s[k]) && s[k] >= 0).to.equal(true);
        // What was accepted encodes and decodes to itself.
        expect(value(decodeState(encodeState(s)))).to.deep.equal(s);
        break;
      }
      default:
        break;
    }
  }

  function run(name: string, decode: (b: Buffer) => Decoded<unknown>, input: Buffer, stats: { ok: number; bad: number }): void {
    let d: Decoded<unknown>;
    try {
      d = decode(input);
    } catch (e) {
      throw new Error(`${name} threw on ${input.toString('hex').slice(0, 200)}: ${(e as Error).stack ?? String(e)}`);
    }
    expect(d).to.be.an('object');
    if (d.ok) {
      stats.ok++;
      checkAccepted(name, input, d.value);
    } else {
      stats.bad++;
      expect(d.detail, name).to.be.a('string').and.not.equal('');
    }
  }

  for (const [name, decode] of DECODERS) {
    it(`${name}: random bytes, truncations, extensions and bit flips of valid payloads`, () => {
      const r = rng(0x5eed + name.length * 31 + (name.charCodeAt(6) ?? 0));
      const stats = { ok: 0, bad: 0 };
      const valid = seeds[name] ?? [];
      for (const v of valid) run(name, decode, v, stats); // the seeds themselves decode
      expect(stats.ok, `${name} seeds decode`).to.equal(valid.length);
      for (let i = 0; i < 3000; i++) {
        const kind = i % 5;
        const src = valid[Math.floor(r() * valid.length)] ?? Buffer.alloc(0);
        let input: Buffer;
        if (kind === 0) input = bytes(r, Math.floor(r() * 64)); // short garbage
        else if (kind === 1) input = src.subarray(0, Math.floor(r() * src.length)); // truncated
        else if (kind === 2) input = Buffer.concat([src, bytes(r, 1 + Math.floor(r() * 40))]); // trailing bytes
        else if (kind === 3) {
          input = Buffer.from(src); // a few random bytes overwritten
          for (let k = 0, n = 1 + Math.floor(r() * 3); k < n && input.length > 0; k++) input[Math.floor(r() * input.length)] = Math.floor(r() * 256);
        } else input = bytes(r, Math.floor(r() * 300)); // longer garbage
        run(name, decode, input, stats);
      }
      // Truncated valid payloads (every length short of the original) are never accepted, except a WRITE
      // which is any non-empty data after the offset, and a STATE (JSON), which fails to parse anyway.
      for (const v of valid) {
        for (let n = 0; n < v.length; n++) {
          const d = decode(v.subarray(0, n));
          if (name !== 'decodeWrite' || n <= 8) expect(d.ok, `${name} truncated to ${n}`).to.equal(false);
        }
      }
      expect(stats.bad, `${name} rejects garbage`).to.be.greaterThan(1000);
    });
  }

  it('decodeState: random JSON values of the right shape with wrong field values', () => {
    const r = rng(77);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const junk: unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 53, '', 'x', 'Primary', 'UpToDate', 'C', [], {}, [1, 2], { a: 1 }];
    const good = JSON.parse(encodeState(state()).toString()) as Record<string, unknown>;
    const keys = Object.keys(good);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const o: Record<string, unknown> = { ...good };
      for (let k = 0, n = 1 + Math.floor(r() * 3); k < n; k++) {
        const key = pick(keys);
        if (r() < 0.2) delete o[key];
        else o[key] = pick(junk);
      }
      const buf = Buffer.from(JSON.stringify(o));
      let d: Decoded<PeerState>;
      try {
        d = decodeState(buf);
      } catch (e) {
        throw new Error(`decodeState threw on ${buf.toString()}: ${(e as Error).message}`);
      }
      if (d.ok) {
        accepted++;
        checkAccepted('decodeState', buf, d.value);
      } else expect(d.detail).to.match(/^STATE /);
    }
    // Junk that happens to be legal ('Primary' as role, 0 as a count) is fine; most is not.
    expect(accepted).to.be.lessThan(600);
  });
});
