// The marks a Primary holds during a Secondary's connect handshake (held-misses.ts): in order, bounded, and
// a peer that overflows counts as missing the whole volume.
import { expect } from 'chai';
import { HeldMisses } from '../../../lib/replication/volume/held-misses.js';

const GiB = 2 ** 30;

describe('replication/volume HeldMisses', () => {
  it('hands back what it held, in order, once', () => {
    const h = new HeldMisses(4);
    h.hold({ offset: 0, length: 4096, peer: 'c' });
    h.hold({ offset: 8192, length: 4096, peer: 'd' });
    expect(h.take(GiB)).to.deep.equal([{ offset: 0, length: 4096, peer: 'c' }, { offset: 8192, length: 4096, peer: 'd' }]);
    expect(h.take(GiB)).to.deep.equal([]);
  });

  it('past its bound, the peer that overflowed misses the whole volume, in 1 GiB ranges; the others keep their marks', () => {
    const h = new HeldMisses(3);
    h.hold({ offset: 0, length: 1, peer: 'd' });
    for (let i = 0; i < 5; i++) h.hold({ offset: i * 4096, length: 4096, peer: 'c' });
    const size = 2.5 * GiB;
    expect(h.take(size)).to.deep.equal([
      { offset: 0, length: 1, peer: 'd' },
      { offset: 0, length: GiB, peer: 'c' }, { offset: GiB, length: GiB, peer: 'c' }, { offset: 2 * GiB, length: 0.5 * GiB, peer: 'c' },
    ]);
    expect(h.take(size)).to.deep.equal([]);
  });

  it('clear drops everything, also an overflow', () => {
    const h = new HeldMisses(1);
    h.hold({ offset: 0, length: 1, peer: 'c' });
    h.hold({ offset: 1, length: 1, peer: 'c' });
    h.clear();
    expect(h.take(GiB)).to.deep.equal([]);
  });
});
