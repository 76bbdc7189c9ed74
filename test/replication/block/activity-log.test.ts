// Activity log: LRU with pinned in-flight extents, exact bytes, a decoder that
// never throws, and the write-ahead rule as a property over random workloads.
import { expect } from 'chai';
import { crc32 } from 'node:zlib';
import { ActivityLog, DEFAULT_AL_EXTENTS, DEFAULT_EXTENT_SIZE } from '../../../lib/replication/block/activity-log.js';
import { rng } from '../../helpers/random.js';

const MiB = 1 << 20;

describe('replication/block activity log', () => {
  it('defaults: 1237 extents of 4 MiB (drbdsetup --al-extents)', () => {
    const al = new ActivityLog();
    expect(al.capacity).to.equal(DEFAULT_AL_EXTENTS).and.equal(1237);
    expect(al.extentSize).to.equal(DEFAULT_EXTENT_SIZE).and.equal(4 * MiB);
    expect(() => new ActivityLog(6)).to.throw(RangeError);
    expect(() => new ActivityLog(7, 3 * MiB)).to.throw(RangeError);
  });

  it('hot() says whether touch() would change nothing, and changes nothing itself', () => {
    const al = new ActivityLog(7);
    expect(al.hot(0, 4096), 'an empty log').to.equal(false);
    al.touch(0, 4096);
    expect(al.hot(0, 4096)).to.equal(true);
    expect(al.hot(4 * MiB - 4096, 4096), 'the end of extent 0').to.equal(true);
    expect(al.hot(4 * MiB - 512, 1024), 'across into extent 1').to.equal(false);
    expect(al.hot(0, 0), 'an empty range').to.equal(false);
    expect(al.extents()).to.deep.equal([0]);
    expect(al.inFlight(0), 'hot() pins nothing').to.equal(1);
    for (const [offset, length] of [[0, 4096], [4 * MiB - 512, 1024], [9 * MiB, 8192]] as const) {
      const before = al.hot(offset, length);
      expect(al.touch(offset, length)).to.include({ ok: true, changed: !before });
    }
  });

  it('touch reports new extents as a change, a hot extent as none, and evicts the least recently used idle one', () => {
    const al = new ActivityLog(7);
    expect(al.touch(0, 4096)).to.deep.equal({ ok: true, changed: true, added: [0], evicted: [] });
    al.release(0, 4096);
    expect(al.touch(100, 4096)).to.deep.equal({ ok: true, changed: false, added: [], evicted: [] });
    al.release(100, 4096);
    // One write across a boundary needs both extents.
    expect(al.touch(4 * MiB - 512, 1024)).to.deep.equal({ ok: true, changed: true, added: [1], evicted: [] });
    al.release(4 * MiB - 512, 1024);
    for (let e = 2; e < 7; e++) {
      al.touch(e * 4 * MiB, 1);
      al.release(e * 4 * MiB, 1);
    }
    al.touch(0, 1); // 0 becomes most recent; 1 is now the oldest
    al.release(0, 1);
    expect(al.touch(7 * 4 * MiB, 1)).to.deep.equal({ ok: true, changed: true, added: [7], evicted: [1] });
    expect(al.extents()).to.deep.equal([2, 3, 4, 5, 6, 0, 7]);
    expect(al.touch(0, 0)).to.deep.equal({ ok: true, changed: false, added: [], evicted: [] });
  });

  it('never evicts an extent with a write in flight; says all-busy or too-many-extents instead', () => {
    const al = new ActivityLog(7);
    for (let e = 0; e < 7; e++) al.touch(e * 4 * MiB, 1);
    const busy = al.touch(7 * 4 * MiB, 1);
    expect(busy.ok).to.equal(false);
    if (!busy.ok) expect(busy.reason).to.equal('all-busy');
    expect(al.extents()).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    al.touch(3 * 4 * MiB, 1); // pinned twice
    al.release(3 * 4 * MiB, 1);
    al.release(5 * 4 * MiB, 1);
    expect(al.touch(7 * 4 * MiB, 1)).to.deep.include({ ok: true, evicted: [5] });
    const big = al.touch(0, 8 * 4 * MiB);
    expect(big.ok).to.equal(false);
    if (!big.ok) expect(big.reason).to.equal('too-many-extents');
    expect(() => al.release(5 * 4 * MiB, 1)).to.throw(RangeError);
  });

  it('ranges are whole extents in disk order, the last clipped to the volume', () => {
    const al = new ActivityLog(7);
    al.touch(9 * MiB, 1);
    al.touch(0, 1);
    expect(al.ranges(10 * MiB)).to.deep.equal([
      { offset: 0, length: 4 * MiB },
      { offset: 8 * MiB, length: 2 * MiB },
    ]);
    expect(al.ranges(8 * MiB)).to.deep.equal([{ offset: 0, length: 4 * MiB }]);
  });

  it('serializes to exact bytes and restores the LRU order (without pins: nothing is in flight after a restart)', () => {
    const al = new ActivityLog(7);
    al.touch(2 * 4 * MiB, 1);
    al.touch(0, 1);
    const head = '544e444d4143544c' + '0100' + '0000' + '00004000' + '07000000' + '02000000';
    const tail = '00000000' + '02000000' + '00000000';
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(Buffer.from(head + '00000000' + tail, 'hex')));
    expect(al.serialize().toString('hex')).to.equal(head + crc.toString('hex') + tail);
    const back = ActivityLog.deserialize(al.serialize());
    if (!back.ok) return expect.fail(back.detail);
    expect(back.log.extents()).to.deep.equal([2, 0]);
    expect(back.log.inFlight(2)).to.equal(0);
  });

  it('deserialize names the fault and never throws on truncations, bit flips or random bytes', () => {
    const al = new ActivityLog(9);
    for (const e of [5, 1, 7]) al.touch(e * 4 * MiB, 1);
    const bytes = al.serialize();
    const reseal = (b: Buffer): Buffer => {
      b.writeUInt32LE(0, 24);
      b.writeUInt32LE(crc32(b), 24);
      return b;
    };
    const dup = Buffer.from(bytes);
    dup.writeUInt32LE(5, 36);
    const cases: Array<[string, Buffer]> = [
      ['truncated', bytes.subarray(0, 10)],
      ['magic', Buffer.concat([Buffer.from('Y'), bytes.subarray(1)])],
      ['version', reseal(Buffer.from(bytes).fill(2, 8, 9))],
      ['geometry', reseal((() => { const b = Buffer.from(bytes); b.writeUInt32LE(10, 20); return b; })())],
      ['length', reseal(Buffer.concat([bytes, Buffer.alloc(4)]))],
      ['checksum', Buffer.from(bytes).fill(1, 33, 34)],
      ['duplicate', reseal(dup)],
    ];
    for (const [reason, b] of cases) {
      const r = ActivityLog.deserialize(b);
      expect(r.ok, reason).to.equal(false);
      if (!r.ok) expect(r.reason).to.equal(reason);
    }
    for (let n = 0; n < bytes.length; n++) expect(ActivityLog.deserialize(bytes.subarray(0, n)).ok).to.equal(false);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const b = Buffer.from(bytes);
      b[bit >> 3] = (b[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      expect(ActivityLog.deserialize(b).ok).to.equal(false);
    }
    const r = rng(11);
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(Math.floor(r() * 100));
      for (let k = 0; k < b.length; k++) b[k] = Math.floor(r() * 256);
      if (b.length >= 8 && r() < 0.5) Buffer.from('TNDMACTL').copy(b);
      expect(ActivityLog.deserialize(b).ok).to.equal(false);
    }
  });

  it('property: an extent written but not yet recorded never exists, whenever the crash comes', () => {
    const r = rng(2024);
    for (let run = 0; run < 40; run++) {
      const capacity = 7 + Math.floor(r() * 10);
      const extentSize = 64 * 1024;
      const volume = extentSize * (capacity * 3 + Math.floor(r() * 20));
      const al = new ActivityLog(capacity, extentSize);
      let persisted = new Set<number>(); // what a crash right now would find on disk
      const inFlight: Array<{ offset: number; length: number }> = [];
      const persist = (): void => {
        const d = ActivityLog.deserialize(al.serialize());
        if (!d.ok) return expect.fail(d.detail);
        persisted = new Set(d.log.extents());
      };
      for (let step = 0; step < 400; step++) {
        if (inFlight.length > 0 && (r() < 0.45 || inFlight.length > capacity)) {
          const w = inFlight.splice(Math.floor(r() * inFlight.length), 1)[0];
          if (w !== undefined) al.release(w.offset, w.length);
        } else {
          const offset = Math.floor(r() * (volume - 1));
          const length = 1 + Math.floor(r() * Math.min(volume - offset - 1, extentSize * (r() < 0.2 ? 3 : 0.5)));
          const t = al.touch(offset, length);
          if (!t.ok) continue; // caller waits for a release; nothing is written
          // Write-ahead: persist before the data may move whenever the log changed.
          if (t.changed) persist();
          else for (const e of al.extentsOf(offset, length)) expect(persisted.has(e), `unchanged but ${e} not on disk`).to.equal(true);
          inFlight.push({ offset, length });
        }
        // Crash here: every in-flight write lies in a persisted extent.
        for (const w of inFlight) {
          for (const e of al.extentsOf(w.offset, w.length)) {
            if (!persisted.has(e)) expect.fail(`run ${run} step ${step}: extent ${e} has a write in flight but is not recorded`);
          }
        }
        expect(persisted.size).to.be.at.most(capacity);
      }
    }
  });
});
