// Online verify's block comparison: which blocks differ, and their byte ranges.
import { expect } from 'chai';
import { blockRanges, differingBlocks, hashBlocks } from '../../../lib/replication/volume/verify.js';

describe('replicated volume: verify block comparison', () => {
  const BS = 4096;
  const data = (n: number, fill: (i: number) => number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => fill(i) & 0xff));

  it('finds exactly the blocks whose contents differ', () => {
    const a = data(5 * BS, (i) => i);
    const b = Buffer.from(a);
    b.writeUInt8(b.readUInt8(BS + 7) ^ 1, BS + 7);
    b.writeUInt8(b.readUInt8(4 * BS) ^ 0x80, 4 * BS);
    expect(differingBlocks(hashBlocks(a, BS), hashBlocks(b, BS))).to.deep.equal([1, 4]);
    expect(differingBlocks(hashBlocks(a, BS), hashBlocks(a, BS))).to.deep.equal([]);
  });

  it('counts a block we have no hash for as differing', () => {
    const a = data(3 * BS, (i) => i * 3);
    expect(differingBlocks(hashBlocks(a.subarray(0, 2 * BS), BS), hashBlocks(a, BS))).to.deep.equal([2]);
  });

  it('gives each block its byte range, the last one short at the end of the volume', () => {
    expect(blockRanges(1 << 20, 2 * BS + 512, BS, [0, 2])).to.deep.equal([
      { offset: 1 << 20, length: BS },
      { offset: (1 << 20) + 2 * BS, length: 512 },
    ]);
    expect(blockRanges(0, BS, BS, [])).to.deep.equal([]);
  });
});
