// Quick-sync bitmap: exact wire bytes, a naive bool-array model under random
// operations, the volume's short last block, and a decoder that never throws.
import { expect } from 'chai';
import { crc32 } from 'node:zlib';
import { BITMAP_HEADER_LEN, Bitmap, popcount32 } from '../../../lib/replication/block/bitmap.js';
import { rng } from '../../helpers/random.js';

class Model {
  bits: boolean[];
  constructor(
    readonly size: number,
    readonly g: number,
  ) {
    this.bits = new Array<boolean>(Math.ceil(size / g)).fill(false);
  }
  setRange(off: number, len: number): void {
    for (let b = 0; b < this.bits.length; b++) if (len > 0 && b * this.g < off + len && (b + 1) * this.g > off) this.bits[b] = true;
  }
  clearRange(off: number, len: number): void {
    for (let b = 0; b < this.bits.length; b++) {
      const start = b * this.g;
      const end = Math.min((b + 1) * this.g, this.size);
      if (start >= off && end <= off + len) this.bits[b] = false;
    }
  }
  oosBytes(): number {
    let n = 0;
    this.bits.forEach((v, b) => (n += v ? Math.min((b + 1) * this.g, this.size) - b * this.g : 0));
    return n;
  }
  next(from: number, value: boolean): number {
    for (let b = Math.max(0, from); b < this.bits.length; b++) if (this.bits[b] === value) return b;
    return -1;
  }
}

function agree(bm: Bitmap, m: Model, r: () => number): void {
  for (let b = 0; b < m.bits.length; b++) if (bm.isSet(b) !== m.bits[b]) expect.fail(`block ${b}: bitmap ${bm.isSet(b)}, model ${m.bits[b]}`);
  expect(bm.countSet()).to.equal(m.bits.filter(Boolean).length);
  expect(bm.outOfSyncBytes()).to.equal(m.oosBytes());
  for (let i = 0; i < 20; i++) {
    const from = Math.floor(r() * (m.bits.length + 40)) - 5;
    expect(bm.nextSet(from), `nextSet(${from})`).to.equal(m.next(from, true));
    const c = m.next(from, false);
    expect(bm.nextClear(from), `nextClear(${from})`).to.equal(c === -1 ? m.bits.length : c);
  }
}

describe('replication/block bitmap', () => {
  it('popcount32 agrees with counting bits one by one', () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const x = Math.floor(r() * 2 ** 32);
      let n = 0;
      for (let k = 0; k < 32; k++) n += (x >>> k) & 1;
      expect(popcount32(x)).to.equal(n);
    }
    expect(popcount32(0xffffffff)).to.equal(32);
  });

  it('serializes to exact bytes: header, little-endian words, crc32 over the whole with its field zero', () => {
    const bm = new Bitmap(10 * 4096 + 1, 4096); // 11 blocks, the last 1 byte long
    bm.setRange(0, 1);
    bm.setRange(10 * 4096, 1);
    const hex = bm.serialize().toString('hex');
    const body = '544e444d424d4150' + '0100' + '0000' + '00100000' + '01a0000000000000';
    const crc = crc32(Buffer.from(body + '00000000' + '00000000' + '01040000', 'hex'));
    const crcHex = Buffer.alloc(4);
    crcHex.writeUInt32LE(crc);
    expect(hex).to.equal(body + crcHex.toString('hex') + '00000000' + '01040000');
    expect(hex.slice(48, 56)).to.equal('18b72f84'); // pinned: zlib.crc32 of these bytes, checked with Python's zlib
  });

  it('agrees with a naive model over random operations (sizes with and without a short last block)', () => {
    const r = rng(42);
    for (const [size, g] of [
      [4096 * 100, 4096],
      [4096 * 100 + 17, 4096],
      [512 * 33, 512],
      [65536 * 64 - 1, 65536],
      [4096 * 31 + 4095, 4096],
      [1000, 4096], // one partial block only
    ] as const) {
      const bm = new Bitmap(size, g);
      const m = new Model(size, g);
      for (let step = 0; step < 300; step++) {
        const off = Math.floor(r() * size);
        const len = Math.floor(r() * (size - off + 1) * (r() < 0.7 ? 0.1 : 1));
        const op = r();
        if (op < 0.45) {
          const before = bm.countSet();
          const changed = bm.setRange(off, len);
          m.setRange(off, len);
          expect(bm.countSet() - before).to.equal(changed);
        } else if (op < 0.85) {
          bm.clearRange(off, len);
          m.clearRange(off, len);
        } else if (op < 0.9) {
          const other = new Bitmap(size, g);
          const o = Math.floor(r() * size);
          other.setRange(o, Math.floor(r() * (size - o)));
          bm.merge(other);
          for (let b = 0; b < m.bits.length; b++) if (other.isSet(b)) m.bits[b] = true;
        } else if (op < 0.93) {
          bm.setAll();
          m.bits.fill(true);
        } else if (op < 0.95) {
          bm.clearAll();
          m.bits.fill(false);
        } else {
          const back = Bitmap.deserialize(bm.serialize());
          if (!back.ok) expect.fail(back.detail);
          expect(back.bitmap.equals(bm)).to.equal(true);
          expect(back.bitmap.countSet()).to.equal(bm.countSet());
        }
        agree(bm, m, r);
      }
    }
  });

  it('clearTouched clears every block a range touches (as setRange marks them); intersect keeps the blocks set in both', () => {
    const r = rng(7);
    for (const [size, g] of [[4096 * 100 + 17, 4096], [512 * 70, 512]] as const) {
      const x = new Bitmap(size, g);
      const y = new Bitmap(size, g);
      const mx = new Model(size, g);
      const my = new Model(size, g);
      for (let step = 0; step < 200; step++) {
        const off = Math.floor(r() * size);
        const len = Math.floor(r() * (size - off + 1) * 0.2);
        const [bm, m] = r() < 0.5 ? [x, mx] : [y, my];
        if (r() < 0.6) {
          bm.setRange(off, len);
          m.setRange(off, len);
        } else {
          const cleared = bm.clearTouched(off, len);
          const touched = new Model(size, g);
          touched.setRange(off, len);
          let was = 0;
          touched.bits.forEach((t, b) => { if (t && m.bits[b] === true) { was++; m.bits[b] = false; } });
          expect(cleared).to.equal(was);
        }
        const both = mx.bits.map((v, b) => v && my.bits[b] === true);
        const z = x.clone();
        expect(z.intersect(y)).to.equal(both.filter(Boolean).length);
        expect(z.countSet()).to.equal(both.filter(Boolean).length);
        expect(both.every((v, b) => z.isSet(b) === v), 'the blocks kept').to.equal(true);
        expect(x.countSet()).to.equal(mx.bits.filter(Boolean).length);
      }
    }
    expect(() => new Bitmap(8192, 4096).intersect(new Bitmap(8192, 512))).to.throw(RangeError, /cannot intersect/);
  });

  it('a short last block: dirty by any byte, clean only by a range reaching the volume end, counted by its real bytes', () => {
    const bm = new Bitmap(3 * 4096 + 100, 4096);
    expect(bm.bits).to.equal(4);
    bm.setRange(3 * 4096 + 99, 1);
    expect(bm.isSet(3)).to.equal(true);
    expect(bm.outOfSyncBytes()).to.equal(100);
    expect(bm.clearRange(3 * 4096, 99)).to.equal(0);
    expect(bm.clearRange(3 * 4096, 100)).to.equal(1);
    bm.setAll();
    expect(bm.outOfSyncBytes()).to.equal(3 * 4096 + 100);
    expect(bm.blockRange(2, 4)).to.deep.equal({ offset: 8192, length: 4096 + 100 });
    // A half-covered block stays dirty: it was not copied whole.
    expect(bm.clearRange(100, 8000)).to.equal(0);
    expect(bm.clearRange(0, 8192)).to.equal(2);
    expect(() => bm.setRange(3 * 4096 + 100, 1)).to.throw(RangeError);
    expect(() => bm.setRange(-1, 1)).to.throw(RangeError);
  });

  it('resync walks dirty runs in disk order and resumes where it stopped', () => {
    const bm = new Bitmap(4096 * 1000);
    for (const [a, b] of [[3, 5], [31, 33], [64, 65], [999, 1000]] as const) bm.setBlocks(a, b);
    const runs: Array<[number, number]> = [];
    for (let b = bm.nextSet(0); b !== -1; b = bm.nextSet(bm.nextClear(b))) runs.push([b, bm.nextClear(b)]);
    expect(runs).to.deep.equal([[3, 5], [31, 33], [64, 65], [999, 1000]]);
    // A sync target clears as it copies; a restart continues from the first dirty block.
    bm.clearBlocks(3, 5);
    bm.clearBlocks(31, 32);
    expect(bm.nextSet(0)).to.equal(32);
  });

  it('a 10 GiB volume: 2.6M bits in a 320 KiB image, sparse walks skip empty words', () => {
    const size = 10 * 2 ** 30;
    const bm = new Bitmap(size);
    expect(bm.bits).to.equal(2621440);
    expect(bm.serialize().length).to.equal(BITMAP_HEADER_LEN + 327680);
    bm.setRange(size - 1, 1);
    bm.setRange(5 * 2 ** 30, 1 << 20);
    expect(bm.nextSet(0)).to.equal((5 * 2 ** 30) / 4096);
    expect(bm.nextSet((5 * 2 ** 30) / 4096 + 256)).to.equal(2621439);
    expect(bm.outOfSyncBytes()).to.equal((1 << 20) + 4096);
    bm.setAll();
    expect(bm.countSet()).to.equal(2621440);
    expect(bm.nextClear(0)).to.equal(2621440);
  });

  it('words out and in: wordBytes copies little-endian words, orWordBytes ORs and counts, refuses bits past the last block', () => {
    const bm = new Bitmap(40 * 4096, 4096); // 40 blocks: two words, 24 spare bits in the second
    bm.setBlocks(1, 3);
    const w = bm.wordBytes(0, 2);
    expect(w.toString('hex')).to.equal('06000000' + '00000000');
    w[0] = 0xff;
    expect(bm.countSet(), 'a copy, not a view').to.equal(2);
    bm.orWordBytes(0, Buffer.from('09000000' + '80000000', 'hex'));
    expect(bm.countSet()).to.equal(5); // blocks 0..3 and 39
    expect(bm.isSet(0) && bm.isSet(3) && bm.isSet(39)).to.equal(true);
    expect(() => bm.orWordBytes(1, Buffer.from('00010000', 'hex'))).to.throw(RangeError, /past the last block/);
    expect(() => bm.orWordBytes(2, Buffer.from('01000000', 'hex'))).to.throw(RangeError, /outside/);
    expect(() => bm.orWordBytes(0, Buffer.from('010000', 'hex'))).to.throw(RangeError, /whole words/);
    expect(() => bm.wordBytes(1, 2)).to.throw(RangeError, /outside/);
    expect(bm.countSet(), 'a refused orWordBytes changes nothing').to.equal(5);
  });

  it('transitions and bounded scans agree with the bool-array model on every range', () => {
    const r = rng(5);
    for (let n = 0; n < 40; n++) {
      const bits = 1 + Math.floor(r() * 200);
      const bm = new Bitmap(bits * 4096, 4096);
      const m: boolean[] = [];
      const density = r();
      for (let b = 0; b < bits; b++) {
        m.push(r() < density);
        if (m[b]) bm.setBlocks(b, b + 1);
      }
      for (let first = 0; first <= bits; first += 1 + Math.floor(r() * 5)) {
        for (let end = first; end <= bits; end += 1 + Math.floor(r() * 7)) {
          let t = 0;
          for (let b = first + 1; b < end; b++) if (m[b] !== m[b - 1]) t++;
          expect(bm.transitions(first, end), `${bits} blocks, [${first}, ${end})`).to.equal(t);
          const set = m.findIndex((x, b) => b >= first && b < end && x);
          expect(bm.nextSet(first, end)).to.equal(set);
          const clear = m.findIndex((x, b) => b >= first && b < end && !x);
          expect(bm.nextClear(first, end)).to.equal(clear === -1 ? end : clear);
        }
      }
    }
  });

  it('refuses bad geometry and merging a different geometry', () => {
    expect(() => new Bitmap(0)).to.throw(RangeError);
    expect(() => new Bitmap(4096, 3000)).to.throw(RangeError);
    expect(() => new Bitmap(4096, 256)).to.throw(RangeError);
    expect(() => new Bitmap(4096, 2 << 20)).to.throw(RangeError);
    expect(() => new Bitmap(2 ** 44 + 4096, 4096)).to.throw(RangeError);
    expect(() => new Bitmap(8192).merge(new Bitmap(8192, 512))).to.throw(RangeError);
  });

  it('deserialize names the fault: truncated, magic, version, geometry, length, checksum, padding', () => {
    const good = new Bitmap(5 * 4096);
    good.setRange(0, 4096);
    const bytes = good.serialize();
    const reseal = (b: Buffer): Buffer => {
      b.writeUInt32LE(0, 24);
      b.writeUInt32LE(crc32(b), 24);
      return b;
    };
    const cases: Array<[string, Buffer]> = [
      ['truncated', bytes.subarray(0, 31)],
      ['magic', Buffer.concat([Buffer.from('X'), bytes.subarray(1)])],
      ['version', reseal(Buffer.from(bytes).fill(9, 8, 9))],
      ['geometry', reseal(Buffer.from(bytes).fill(0x30, 12, 13))], // granularity 4144
      ['length', reseal(Buffer.concat([bytes, Buffer.alloc(4)]))],
      ['checksum', Buffer.from(bytes).fill(0xff, 32, 33)],
      ['padding', reseal((() => { const b = Buffer.from(bytes); b[35] = 0x80; return b; })())],
    ];
    for (const [reason, b] of cases) {
      const r = Bitmap.deserialize(b);
      expect(r.ok, reason).to.equal(false);
      if (!r.ok) expect(r.reason).to.equal(reason);
    }
  });

  it('deserialize never throws: random bytes, every truncation, every single bit flip', () => {
    const r = rng(3);
    const bm = new Bitmap(100 * 4096 + 5);
    bm.setRange(4096, 50000);
    const bytes = bm.serialize();
    for (let n = 0; n < bytes.length; n++) expect(Bitmap.deserialize(bytes.subarray(0, n)).ok).to.equal(false);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const b = Buffer.from(bytes);
      b[bit >> 3] = (b[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      expect(Bitmap.deserialize(b).ok, `bit ${bit}`).to.equal(false);
    }
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(Math.floor(r() * 200));
      for (let k = 0; k < b.length; k++) b[k] = Math.floor(r() * 256);
      if (r() < 0.5 && b.length >= 8) Buffer.from('TNDMBMAP').copy(b);
      expect(Bitmap.deserialize(b).ok).to.equal(false);
    }
  });
});
