import { expect } from 'chai';
import { crc32 } from 'node:zlib';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import { BitmapAssembly, CHUNK_BITS, encodeBitmapPieces, PIECE_HEADER_LEN } from '../../../lib/replication/volume/bitmap-chunks.js';
import { rng } from '../../helpers/random.js';

const BS = 4096;
const TiB = 2 ** 40;

// 40 blocks: 3..5 and 39 set.
function small(): Bitmap {
  const bm = new Bitmap(40 * BS, BS);
  bm.setBlocks(3, 6);
  bm.setBlocks(39, 40);
  return bm;
}

function assemble(pieces: Buffer[], size: number, granularity = BS): Bitmap {
  const a = new BitmapAssembly(size, granularity);
  for (const p of pieces) expect(a.add(p)).to.equal(null);
  expect(a.complete).to.equal(true);
  return a.bitmap;
}

// A piece changed in place, its crc made right again (so the check under test is the one that fires).
function mutate(piece: Buffer, change: (b: Buffer) => Buffer | void): Buffer {
  const b = Buffer.from(piece);
  const out = change(b) ?? b;
  out.writeUInt32LE(0, 32);
  out.writeUInt32LE(crc32(out), 32);
  return out;
}

describe('replicated volume: bitmap pieces at connect (link protocol 5)', () => {
  it('codes a mostly clear bitmap as runs: exact bytes', () => {
    const [piece, ...rest] = encodeBitmapPieces(small());
    expect(rest).to.deep.equal([]);
    expect(piece?.toString('hex')).to.equal(
      '02' + '01' + '0000' + '00100000' + '0080020000000000' + '0000000000000000' + '2800000000000000' + 'b977d894' + '00000000'
      + '03' + '03' + '21' + '01', // clear 3, set 3, clear 33, set 1
    );
  });

  it('codes alternating bits as plain words, the last piece short: exact bytes', () => {
    const bm = new Bitmap(40 * BS, BS);
    for (let i = 0; i < 40; i += 2) bm.setBlocks(i, i + 1);
    const pieces = encodeBitmapPieces(bm, 32);
    expect(pieces.map((p) => p.toString('hex'))).to.deep.equal([
      '01' + '00' + '0000' + '00100000' + '0080020000000000' + '0000000000000000' + '2000000000000000' + '35346a91' + '00000000' + '55555555',
      '01' + '01' + '0000' + '00100000' + '0080020000000000' + '2000000000000000' + '2800000000000000' + 'ed57a7cb' + '00000000' + '55000000',
    ]);
    expect(assemble(pieces, 40 * BS).equals(bm)).to.equal(true);
  });

  it('round-trips random bitmaps of every density, size and piece size', () => {
    const r = rng(7);
    for (let n = 0; n < 300; n++) {
      const bits = 1 + Math.floor(r() * 700);
      const granularity = 512 * 2 ** Math.floor(r() * 4);
      const size = bits * granularity - (r() < 0.3 ? Math.floor(r() * granularity) : 0) || granularity;
      const bm = new Bitmap(size, granularity);
      const density = [0, 0.001, 0.05, 0.5, 0.95, 1][n % 6] as number;
      const runny = r() < 0.5;
      for (let b = 0; b < bm.bits; b++) {
        if (runny && r() < 0.02) bm.setBlocks(b, Math.min(bm.bits, b + 1 + Math.floor(r() * 64)));
        else if (r() < density) bm.setBlocks(b, b + 1);
      }
      const chunk = 32 * (1 + Math.floor(r() * 8));
      const pieces = encodeBitmapPieces(bm, chunk);
      expect(pieces.length, `${bm.bits} blocks in pieces of ${chunk}`).to.equal(Math.ceil(bm.bits / chunk));
      for (const p of pieces) expect(p.length).to.be.at.most(PIECE_HEADER_LEN + chunk / 8);
      const back = assemble(pieces, size, granularity);
      expect(back.equals(bm), `case ${n}`).to.equal(true);
      expect(back.countSet()).to.equal(bm.countSet());
    }
  });

  it('a 1 TiB volume at 4 KiB blocks crosses in pieces of at most 4 MiB; clear or set, in a few bytes', () => {
    const bm = new Bitmap(TiB, BS); // 2^28 blocks: 32 MiB of plain words
    const clear = encodeBitmapPieces(bm);
    expect(clear).to.have.length(2 ** 28 / CHUNK_BITS);
    expect(clear.reduce((n, p) => n + p.length, 0)).to.be.below(1024);
    bm.setRange(5 * 2 ** 30, 2 ** 20); // 1 MiB at 5 GiB: the pieces a disconnect leaves behind
    bm.setRange(TiB - 2 * BS, 2 * BS);
    const sparse = encodeBitmapPieces(bm);
    expect(sparse.reduce((n, p) => n + p.length, 0)).to.be.below(1024);
    expect(assemble(sparse, TiB).equals(bm)).to.equal(true);
    bm.setAll();
    const full = encodeBitmapPieces(bm);
    expect(full.reduce((n, p) => n + p.length, 0)).to.be.below(1024);
    expect(assemble(full, TiB).countSet()).to.equal(2 ** 28);
  });

  it('worst case (alternating bits over 1 TiB): plain pieces, none above 4 MiB and its header', () => {
    const bm = new Bitmap(TiB, BS);
    bm.orWordBytes(0, Buffer.alloc(CHUNK_BITS / 8, 0x55)); // the first piece alternates, the rest are clear
    const pieces = encodeBitmapPieces(bm);
    expect(pieces[0]?.[0]).to.equal(1); // plain
    for (const p of pieces) expect(p.length).to.be.at.most(PIECE_HEADER_LEN + CHUNK_BITS / 8);
    expect(assemble(pieces, TiB).equals(bm)).to.equal(true);
  });

  describe('refuses a piece that is wrong, naming what, and takes none of its bits', () => {
    const size = 100 * BS; // 100 blocks: pieces of 32 -> 0..32, 32..64, 64..96, 96..100
    const bm = new Bitmap(size, BS);
    bm.setBlocks(10, 50);
    bm.setBlocks(97, 99);
    const pieces = encodeBitmapPieces(bm, 32);
    const p0 = pieces[0] as Buffer;
    const last = pieces[3] as Buffer;
    const cases: Array<[string, Buffer[], string]> = [
      ['truncated header', [p0.subarray(0, PIECE_HEADER_LEN - 1)], 'the header alone has 40'],
      ['unknown coding', [mutate(p0, (b) => { b[0] = 3; })], 'coding 3'],
      ['reserved flag bit', [mutate(p0, (b) => { b[1] = 2; })], 'reserved bits'],
      ['reserved u16', [mutate(p0, (b) => { b.writeUInt16LE(1, 2); })], 'reserved bits'],
      ['reserved u32', [mutate(p0, (b) => { b.writeUInt32LE(1, 36); })], 'reserved bits'],
      ['other granularity', [mutate(p0, (b) => { b.writeUInt32LE(512, 4); })], 'geometry'],
      ['other size', [mutate(p0, (b) => { b.writeBigUInt64LE(BigInt(size + BS), 8); })], 'geometry'],
      ['a piece skipped', [pieces[1] as Buffer], 'starts at block 32, want 0'],
      ['a piece twice', [p0, p0], 'starts at block 0, want 32'],
      ['ends before it starts', [mutate(p0, (b) => { b.writeBigUInt64LE(0n, 24); })], 'ends at block 0'],
      ['ends past the volume', [mutate(p0, (b) => { b.writeBigUInt64LE(101n, 24); })], 'ends at block 101'],
      ['last flag missing', [...pieces.slice(0, 3), mutate(last, (b) => { b[1] = 0; })], 'not marked last'],
      ['last flag early', [mutate(p0, (b) => { b[1] = 1; })], 'before the volume\'s 100'],
      ['crc', [Buffer.concat([p0.subarray(0, 32), Buffer.from([p0[32]! ^ 1]), p0.subarray(33)])], 'crc32 mismatch'],
      ['after the last', [...pieces, last], 'after the last one'],
    ];
    for (const [name, sequence, fragment] of cases) {
      it(name, () => {
        const a = new BitmapAssembly(size, BS);
        const results = sequence.map((p) => a.add(p));
        const error = results.find((e) => e !== null);
        expect(error, name).to.be.a('string').that.includes(fragment);
        expect(results.slice(0, -1).every((e) => e === null), 'only the last one is refused').to.equal(true);
      });
    }

    // A piece of 64 blocks, 0..64, misaligned or with bad data.
    const plain = (first: number, end: number, words: number[], lastPiece = false): Buffer => {
      const b = Buffer.alloc(PIECE_HEADER_LEN + 4 * words.length);
      b[0] = 1;
      b[1] = lastPiece ? 1 : 0;
      b.writeUInt32LE(BS, 4);
      b.writeBigUInt64LE(BigInt(size), 8);
      b.writeBigUInt64LE(BigInt(first), 16);
      b.writeBigUInt64LE(BigInt(end), 24);
      words.forEach((w, i) => b.writeUInt32LE(w, PIECE_HEADER_LEN + 4 * i));
      return mutate(b, () => {});
    };
    const runs = (first: number, end: number, bytes: number[], lastPiece = false): Buffer => {
      const b = Buffer.concat([plain(first, end, [], lastPiece), Buffer.from(bytes)]);
      b[0] = 2;
      return mutate(b, () => {});
    };
    const more: Array<[string, Buffer, string]> = [
      ['a middle piece not on a word boundary', plain(0, 40, [1, 0]), 'not a multiple of 32'],
      ['plain: too few words', plain(0, 64, [1]), 'need 8'],
      ['plain: too many words', plain(0, 64, [1, 2, 3]), 'need 8'],
      ['plain: bits past the last block', plain(0, 100, [0, 0, 0, 0x10], true), 'past block 100'],
      ['runs: short of the piece', runs(0, 64, [10, 10]), 'cover 20 of its 64'],
      ['runs: past the piece', runs(0, 64, [60, 10]), 'more than its 64'],
      ['runs: an empty run after the first', runs(0, 64, [0, 10, 0, 54]), 'run 3 is empty'],
      ['runs: a length cut off', runs(0, 64, [0x80]), 'cut off'],
      ['runs: a length of six bytes', runs(0, 64, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 'longer than 5 bytes'],
      ['runs: a length not in its shortest form', runs(0, 64, [0x80, 0x00, 64]), 'shortest form'],
    ];
    for (const [name, piece, fragment] of more) {
      it(name, () => {
        const a = new BitmapAssembly(size, BS);
        expect(a.add(piece)).to.be.a('string').that.includes(fragment);
        expect(a.bitmap.countSet(), 'no bit taken').to.equal(0);
        expect(a.complete).to.equal(false);
      });
    }
    it('accepts the hand-made pieces when they are right (the helpers above are sound)', () => {
      const a = new BitmapAssembly(size, BS);
      expect(a.add(runs(0, 64, [0, 10, 54]))).to.equal(null);
      expect(a.add(plain(64, 100, [0, 0x3], true))).to.equal(null);
      expect(a.complete).to.equal(true);
      expect(a.bitmap.countSet()).to.equal(12);
    });
  });

  it('refuses a piece wider than CHUNK_BITS, and the encoder will not make one', () => {
    const g = 512;
    const size = (CHUNK_BITS + 32) * g; // 16 GiB + 16 KiB at 512 bytes per block
    const b = Buffer.alloc(PIECE_HEADER_LEN + 5);
    b[0] = 2;
    b[1] = 1;
    b.writeUInt32LE(g, 4);
    b.writeBigUInt64LE(BigInt(size), 8);
    b.writeBigUInt64LE(BigInt(CHUNK_BITS + 32), 24);
    let v = CHUNK_BITS + 32; // one clear run over the whole volume
    let at = PIECE_HEADER_LEN;
    while (v >= 0x80) { b[at++] = (v % 0x80) | 0x80; v = Math.floor(v / 0x80); }
    b[at++] = v;
    const piece = mutate(b.subarray(0, at), () => {});
    const a = new BitmapAssembly(size, g);
    expect(a.add(piece)).to.equal(`bitmap piece covers ${CHUNK_BITS + 32} blocks, at most ${CHUNK_BITS}`);
    expect(() => encodeBitmapPieces(new Bitmap(size, g), 2 * CHUNK_BITS)).to.throw(RangeError, /multiple of 32 in 32\.\./);
    const pieces = encodeBitmapPieces(new Bitmap(size, g));
    expect(pieces).to.have.length(2);
    expect(assemble(pieces, size, g).countSet()).to.equal(0);
  });

  it('fuzz: random corruption of valid pieces is refused or taken, never thrown', () => {
    const r = rng(11);
    const size = 300 * BS;
    const bm = new Bitmap(size, BS);
    for (let b = 0; b < bm.bits; b++) if (r() < 0.3) bm.setBlocks(b, b + 1);
    const pieces = encodeBitmapPieces(bm, 64);
    for (let n = 0; n < 3000; n++) {
      const a = new BitmapAssembly(size, BS);
      for (const p of pieces) {
        let q: Buffer = Buffer.from(p);
        const kind = r();
        if (kind < 0.3) q[Math.floor(r() * q.length)] = Math.floor(r() * 256);
        else if (kind < 0.45) q = q.subarray(0, Math.floor(r() * q.length));
        else if (kind < 0.6) q = mutate(q, (b) => { b[PIECE_HEADER_LEN + Math.floor(r() * Math.max(1, b.length - PIECE_HEADER_LEN))] = Math.floor(r() * 256); });
        const result = a.add(q);
        if (result !== null) break;
      }
      expect(a.bitmap.countSet()).to.be.at.most(bm.bits);
    }
  });
});
