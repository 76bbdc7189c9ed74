// recent-extents.ts: the last N distinct extents a Secondary's stream touched.
import { expect } from 'chai';
import { RecentExtents } from '../../../lib/replication/volume/recent-extents.js';
import { rng } from '../../helpers/random.js';

const MiB = 1 << 20;

describe('replication/volume recent extents (a Secondary\'s view of its Primary\'s activity log)', () => {
  it('keeps the last `capacity` distinct extents, oldest evicted first; a touch refreshes an extent', () => {
    const r = new RecentExtents(4 * MiB, 3);
    r.touch(0, 4096);
    r.touch(5 * MiB, 4096);
    r.touch(9 * MiB, 4096);
    expect(r.extents()).to.deep.equal([0, 1, 2]);
    r.touch(100, 10); // extent 0 again: now the newest
    r.touch(13 * MiB, 4096); // evicts extent 1, the oldest
    expect(r.extents()).to.deep.equal([2, 0, 3]);
  });

  it('a write across extents touches each; one wider than the capacity keeps its last extents', () => {
    const r = new RecentExtents(4 * MiB, 2);
    r.touch(4 * MiB - 512, 1024);
    expect(r.extents()).to.deep.equal([0, 1]);
    r.touch(8 * MiB, 12 * MiB);
    expect(r.extents()).to.deep.equal([3, 4]);
    r.clear();
    expect(r.extents()).to.deep.equal([]);
  });

  it('matches a plain model over random writes', () => {
    const next = rng(99);
    const r = new RecentExtents(4 * MiB, 7);
    let model: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const offset = Math.floor(next() * 64) * MiB;
      const length = 1 + Math.floor(next() * 6 * MiB);
      r.touch(offset, length);
      for (let e = Math.floor(offset / (4 * MiB)); e <= Math.floor((offset + length - 1) / (4 * MiB)); e++) model = [...model.filter((x) => x !== e), e];
      model = model.slice(-7);
      expect(r.extents()).to.deep.equal(model);
    }
  });

  it('refuses a size or capacity that is not positive', () => {
    expect(() => new RecentExtents(0, 3)).to.throw(RangeError);
    expect(() => new RecentExtents(4 * MiB, 0)).to.throw(RangeError);
  });
});
