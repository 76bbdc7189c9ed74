// UnsavedBits in memory: which extents stay listed in the activity log's
// file until a saved record holds their bits.
import { expect } from 'chai';
import { UnsavedBits } from '../../../lib/replication/volume/unsaved-bits.js';

const EXTENT = 4 << 20;
const list = (u: UnsavedBits): number[] => [...u.extents()].sort((a, b) => a - b);

describe('replicated volume: unsaved bits', () => {
  it('notes every extent a range touches, once each; an empty range its first extent', () => {
    const u = new UnsavedBits(EXTENT);
    u.note(EXTENT - 4096, 8192); // across the border of extents 0 and 1
    u.note(5 * EXTENT, 3 * EXTENT); // 5, 6, 7
    u.note(6 * EXTENT + 10, 1); // 6 again
    u.note(9 * EXTENT, 0);
    expect(list(u)).to.deep.equal([0, 1, 5, 6, 7, 9]);
    expect(u.size).to.equal(6);
  });

  it('a completed save forgets what it encoded, and keeps extents with bits set after it was encoded', () => {
    const u = new UnsavedBits(EXTENT);
    u.note(0, 4096);
    u.note(EXTENT, 4096);
    const token = u.saving(); // encoded: extents 0 and 1
    u.note(EXTENT, 4096); // 1 again, after the encode
    u.note(2 * EXTENT, 4096); // 2, new
    u.saved(token);
    expect(list(u)).to.deep.equal([1, 2]);
  });

  it('saves that complete in any order never forget a bit set after the save that completes', () => {
    const u = new UnsavedBits(EXTENT);
    u.note(0, 1);
    const first = u.saving();
    u.note(EXTENT, 1);
    const second = u.saving();
    u.note(2 * EXTENT, 1);
    u.saved(second); // holds 0 and 1
    expect(list(u)).to.deep.equal([2]);
    u.saved(first); // older: nothing it holds is still listed
    expect(list(u)).to.deep.equal([2]);
    const third = u.saving();
    u.saved(third);
    expect(u.size).to.equal(0);
  });
});
