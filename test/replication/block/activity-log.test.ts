// Activity log: LRU with pinned in-flight extents, exact bytes, a decoder that
// never throws, and the write-ahead rule as a property over random workloads.
import { expect } from 'chai';
import { crc32 } from 'node:zlib';
import { ActivityLog, DEFAULT_AL_EXTENTS, DEFAULT_EXTENT_SIZE, SEQUENTIAL_AHEAD } from '../../../lib/replication/block/activity-log.js';
import { rng } from '../../helpers/random.js';

const MiB = 1 << 20;

describe('replication/block activity log', () => {
  it('parts(): extent-aligned pieces of at most half the log less one extent, covering the range once, in order', () => {
    const E = 4096;
    const log = new ActivityLog(8, E);
    expect(log.partSpan).to.equal(3 * E);
    expect([...log.parts(E / 2, 10 * E)]).to.deep.equal([
      { offset: E / 2, length: 2.5 * E }, { offset: 3 * E, length: 3 * E }, { offset: 6 * E, length: 3 * E }, { offset: 9 * E, length: 1.5 * E },
    ]);
    expect([...log.parts(5, 100)]).to.deep.equal([{ offset: 5, length: 100 }]);
    expect([...log.parts(0, 0)]).to.deep.equal([]);
    for (let i = 0; i < 200; i++) {
      const offset = (i * 7919) % (20 * E);
      const length = 1 + ((i * 104729) % (30 * E));
      const ps = [...log.parts(offset, length)];
      let at = offset;
      for (const p of ps) {
        expect(p.offset).to.equal(at);
        expect(p.length).to.be.within(1, log.partSpan);
        expect(log.extentsOf(p.offset, p.length).length, 'fits beside the writes in flight').to.be.at.most(log.capacity / 2);
        at += p.length;
      }
      expect(at).to.equal(offset + length);
    }
  });

  it('defaults: 1237 extents of 4 MiB (drbdsetup --al-extents)', () => {
    const al = new ActivityLog();
    expect(al.capacity).to.equal(DEFAULT_AL_EXTENTS).and.equal(1237);
    expect(al.extentSize).to.equal(DEFAULT_EXTENT_SIZE).and.equal(4 * MiB);
    expect(() => new ActivityLog(6)).to.throw(RangeError);
    expect(() => new ActivityLog(7, 3 * MiB)).to.throw(RangeError);
  });

  it('hot() says whether touch() would change nothing and the extents are on disk, and changes nothing itself', () => {
    const al = new ActivityLog(7);
    expect(al.hot(0, 4096), 'an empty log').to.equal(false);
    al.touch(0, 4096);
    expect(al.hot(0, 4096), 'logged, not saved yet').to.equal(false);
    al.saved(al.snapshot().upTo);
    expect(al.hot(0, 4096)).to.equal(true);
    expect(al.hot(4 * MiB - 4096, 4096), 'the end of extent 0').to.equal(true);
    expect(al.hot(4 * MiB - 512, 1024), 'across into extent 1').to.equal(false);
    expect(al.hot(0, 0), 'an empty range').to.equal(false);
    expect(al.extents()).to.deep.equal([0]);
    expect(al.inFlight(0), 'hot() pins nothing').to.equal(1);
    for (const [offset, length] of [[0, 4096], [4 * MiB - 512, 1024], [9 * MiB, 8192]] as const) {
      const before = al.hot(offset, length);
      expect(al.touch(offset, length)).to.include({ ok: true, changed: !before });
      al.saved(al.snapshot().upTo);
    }
  });

  it('an extent is on disk only once a snapshot taken after it was added is saved; freshest() says which epoch to wait for', () => {
    const al = new ActivityLog(7);
    al.touch(0, 4096); // extent 0, epoch 0
    expect(al.freshest(0, 4096)).to.equal(0);
    const first = al.snapshot(); // holds extent 0: upTo 0
    al.touch(4 * MiB, 4096); // extent 1, added after the snapshot: epoch 1
    expect(first).to.deep.equal({ extents: [0, 1].slice(0, 1), upTo: 0 });
    expect(al.freshest(0, 8 * MiB), 'the range waits for the newer epoch').to.equal(1);
    al.saved(first.upTo);
    expect(al.hot(0, 4096)).to.equal(true);
    expect(al.hot(4 * MiB, 4096), 'added after the snapshot that was saved').to.equal(false);
    expect(al.freshest(0, 4096)).to.equal(-1);
    const second = al.snapshot();
    al.saved(second.upTo);
    expect(al.freshest(0, 8 * MiB)).to.equal(-1);
    // An extent evicted and added again is fresh again.
    al.release(0, 4096);
    al.release(4 * MiB, 4096);
    for (let e = 2; e < 8; e++) {
      al.touch(e * 4 * MiB, 1);
      al.release(e * 4 * MiB, 1);
    }
    expect(al.has(0), 'the oldest, evicted').to.equal(false);
    al.touch(0, 1);
    expect(al.hot(0, 1)).to.equal(false);
    expect(al.freshest(0, 1)).to.equal(2);
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

  it('a stream (each write starting where the last ended) keeps extents logged ahead, topped up once half are used', () => {
    expect(SEQUENTIAL_AHEAD).to.equal(256);
    const al = new ActivityLog(80, 4 * MiB, SEQUENTIAL_AHEAD); // a quarter of 80: 20 ahead
    expect(() => new ActivityLog(7, 4 * MiB, -1)).to.throw(RangeError, /ahead -1 is not a whole number/);
    expect(al.touch(0, MiB)).to.deep.include({ changed: true, added: [0] }); // nothing written before: no stream yet
    const changes: Array<[number, number[]]> = [];
    for (let at = MiB; at < 160 * MiB; at += MiB) {
      const t = al.touch(at, MiB);
      if (!t.ok) return expect.fail(t.detail);
      if (t.changed) changes.push([Math.floor(at / (4 * MiB)), t.added]);
      al.release(at, MiB);
    }
    const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    // Checked as the stream enters an extent: at 1 it logs 2..21 with it; then 11 of the 20 ahead are missing at 12, 23, 34.
    expect(changes).to.deep.equal([[1, range(1, 21)], [12, range(22, 32)], [23, range(33, 43)], [34, range(44, 54)]]);
    expect(al.has(54) && !al.hot(54 * 4 * MiB, 1), 'logged ahead, and on disk only once a snapshot is saved').to.equal(true);
    expect(al.has(55)).to.equal(false);
    // A small log keeps a quarter of itself ahead; writes that do not follow on are no stream, even in one extent.
    const b = new ActivityLog(12, 4 * MiB, SEQUENTIAL_AHEAD);
    b.touch(0, 4 * MiB - 4096);
    expect(b.touch(4 * MiB - 4096, 8192)).to.deep.include({ added: [1, 2, 3, 4] });
    const c = new ActivityLog(12, 4 * MiB, SEQUENTIAL_AHEAD);
    c.touch(8192, 4096);
    expect(c.touch(0, 4096)).to.deep.include({ changed: false, added: [] });
    expect(c.touch(MiB, 4096)).to.deep.include({ changed: false, added: [] });
    // Nothing is logged past the volume's last extent.
    const d = new ActivityLog(80, 4 * MiB, SEQUENTIAL_AHEAD, 9);
    d.touch(0, 4 * MiB);
    expect(d.touch(4 * MiB, 4 * MiB)).to.deep.include({ added: [1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(d.touch(36 * MiB, 4 * MiB)).to.deep.include({ changed: false, added: [] });
  });

  it('random writes log nothing ahead, and logging ahead never fails or blocks a write', () => {
    const al = new ActivityLog(7, 4 * MiB, 3); // a quarter of 7: one ahead
    for (const e of [9, 2, 30, 4]) expect(al.touch(e * 4 * MiB, 1)).to.deep.include({ added: [e] });
    expect(al.touch(17 * 4 * MiB, 4 * MiB - 1)).to.deep.include({ added: [17] }); // no stream: 4 wrote one byte elsewhere
    // Five extents pinned, two slots free: a write at extent 18 runs on from the one that ended there and gets one ahead, 19.
    expect(al.touch(18 * 4 * MiB - 1, 2)).to.deep.include({ ok: true, added: [18, 19], evicted: [] });
    // Full, and every extent but 19 is pinned: a write at 20 does not start where the last ended: no stream; 19 is evicted.
    expect(al.touch(20 * 4 * MiB, 1)).to.deep.include({ ok: true, added: [20], evicted: [19] });
    // A stream whose ahead extent finds no idle room still gets its own extent.
    al.release(9 * 4 * MiB, 1);
    expect(al.touch(20 * 4 * MiB + 1, 4 * MiB)).to.deep.include({ ok: true, added: [21], evicted: [9] });
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
      const al = new ActivityLog(capacity, extentSize, run % 2 === 0 ? 0 : 1 + Math.floor(r() * 3)); // at most a quarter of the log ahead
      let stream = -1; // the next offset of a sequential run, or -1
      let persisted = new Set<number>(); // what a crash right now would find on disk
      const inFlight: Array<{ offset: number; length: number }> = [];
      const persist = (): void => {
        const snap = al.snapshot();
        persisted = new Set(snap.extents);
        al.saved(snap.upTo);
      };
      for (let step = 0; step < 400; step++) {
        if (inFlight.length > 0 && (r() < 0.45 || inFlight.length > capacity)) {
          const w = inFlight.splice(Math.floor(r() * inFlight.length), 1)[0];
          if (w !== undefined) al.release(w.offset, w.length);
        } else {
          // Random writes, and now and then a sequential run (the logging-ahead path).
          if (stream < 0 && r() < 0.05) stream = Math.floor(r() * (volume / 2));
          const offset = stream >= 0 && stream < volume - extentSize ? stream : Math.floor(r() * (volume - 1));
          const length = 1 + Math.floor(r() * Math.min(volume - offset - 1, extentSize * (r() < 0.2 ? 3 : 0.5)));
          stream = stream >= 0 && r() < 0.95 ? offset + length : -1;
          const t = al.touch(offset, length);
          if (!t.ok) continue; // caller waits for a release; nothing is written
          // Write-ahead: persist before the data may move whenever an extent is not on disk.
          const fresh = al.freshest(offset, length) >= 0;
          // A change to a range already on disk is extents logged ahead of a stream, never the range's own.
          if (t.changed && !fresh) for (const e of t.added) expect(al.extentsOf(offset, length)).to.not.include(e);
          if (fresh) persist();
          else for (const e of al.extentsOf(offset, length)) expect(persisted.has(e), `said on disk but ${e} is not`).to.equal(true);
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
