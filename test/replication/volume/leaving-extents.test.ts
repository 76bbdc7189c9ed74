// Extents that left the activity log stay listed in its file until an image flush begun after they left is
// done (leaving-extents.ts), in memory.
import { expect } from 'chai';
import { LeavingExtents } from '../../../lib/replication/volume/leaving-extents.js';

describe('replication/volume LeavingExtents', () => {
  it('an extent gone from the log is listed until a flush that began after it left is done', () => {
    const l = new LeavingExtents();
    expect(l.snapshot([1, 2, 3], 0, 0)).to.deep.equal([]);
    // Extent 1 was evicted; flush 1 had begun before this snapshot saw it gone: it does not count.
    expect(l.snapshot([2, 3, 4], 1, 0)).to.deep.equal([1]);
    expect(l.snapshot([2, 3, 4], 1, 1)).to.deep.equal([1]);
    // Flush 2 began after: once it is done, 1 is on stable storage.
    expect(l.snapshot([2, 3, 4], 2, 1)).to.deep.equal([1]);
    expect(l.snapshot([2, 3, 4], 2, 2)).to.deep.equal([]);
    expect(l.size).to.equal(0);
  });

  it('an extent back in the log is no longer leaving; several leave at different times', () => {
    const l = new LeavingExtents();
    l.snapshot([1, 2], 0, 0);
    expect(l.snapshot([2, 3], 0, 0)).to.deep.equal([1]);
    expect(l.snapshot([1, 3], 1, 0)).to.deep.equal([2]); // 1 is back, 2 left after flush 1 began
    expect(l.snapshot([1, 3], 1, 1)).to.deep.equal([2]);
    expect(l.snapshot([4], 3, 2)).to.deep.equal([1, 3]); // flush 2 began after 2 left: done, so 2 is on disk
    expect(l.snapshot([4], 3, 3)).to.deep.equal([1, 3]);
    expect(l.snapshot([4], 4, 4)).to.deep.equal([]);
  });
});
