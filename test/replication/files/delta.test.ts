import { expect } from 'chai';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { TandemError } from '../../../lib/errors.js';
import {
  blockSignatures, blockSpan, changedBlocks, DEFAULT_BLOCK_SIZE, type BlockDelta,
} from '../../../lib/replication/files/delta.js';
import { rng } from '../../helpers/random.js';

const MiB = 1024 * 1024;
const B = DEFAULT_BLOCK_SIZE;

function randomBytes(seed: number, n: number): Buffer {
  const r = rng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

const flip = (b: Buffer, i: number): void => { b[i] = (b[i] as number) ^ 0x5a; };

// Feeds a buffer in chunks of random sizes, so block boundaries fall anywhere inside chunks.
function chunked(buf: Buffer, seed: number): Readable {
  const r = rng(seed);
  const parts: Buffer[] = [];
  for (let off = 0; off < buf.length;) {
    const n = 1 + Math.floor(r() * 200_000);
    parts.push(buf.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts);
}

// What the receiver does with a delta: keep its bytes, take the sent blocks, cut to length.
function patch(old: Buffer, fresh: Buffer, d: BlockDelta, blockSize: number): Buffer {
  const out = Buffer.alloc(d.length);
  old.copy(out, 0, 0, Math.min(old.length, d.length));
  for (const i of d.blocks) {
    const span = blockSpan(i, blockSize, d.length);
    if (span) fresh.copy(out, span.offset, span.offset, span.offset + span.length);
  }
  return out;
}

async function delta(newer: Buffer, older: Buffer, blockSize = B): Promise<BlockDelta> {
  const [mine, theirs] = await Promise.all([blockSignatures(chunked(newer, 1), blockSize), blockSignatures(chunked(older, 2), blockSize)]);
  return changedBlocks(mine, theirs);
}

describe('replication/files/delta', () => {
  const base = randomBytes(42, 5 * MiB);

  it('a 5 MiB file read from disk with 3 changed places sends only those blocks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-delta-'));
    try {
      const changed = Buffer.from(base);
      flip(changed, 10); // block 0
      changed.fill(1, 2 * MiB, 2 * MiB + 100); // block 32
      flip(changed, 3 * MiB + B - 1); // the last byte of block 48
      writeFileSync(join(dir, 'old'), base);
      writeFileSync(join(dir, 'new'), changed);
      const theirs = await blockSignatures(createReadStream(join(dir, 'old')));
      const mine = await blockSignatures(createReadStream(join(dir, 'new')));
      expect(mine.blocks).to.have.length(80);
      expect(mine.blocks[5]?.hash).to.have.length(16);
      const d = changedBlocks(mine, theirs);
      expect(d).to.deep.equal({ length: 5 * MiB, blocks: [0, 32, 48] });
      expect(patch(base, changed, d, B).equals(changed)).to.equal(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a change spanning a block boundary sends both blocks', async () => {
    const changed = Buffer.from(base);
    changed.fill(0, 5 * B - 3, 5 * B + 3);
    expect((await delta(changed, base)).blocks).to.deep.equal([4, 5]);
  });

  it('identical content sends nothing, whatever the chunking', async () => {
    expect(await delta(base, base)).to.deep.equal({ length: base.length, blocks: [] });
  });

  it('grown: the old short last block and the new blocks are sent', async () => {
    const older = base.subarray(0, 10 * B + 100);
    const newer = base.subarray(0, 12 * B + 5);
    const d = await delta(newer, older);
    expect(d).to.deep.equal({ length: 12 * B + 5, blocks: [10, 11, 12] });
    expect(patch(older, newer, d, B).equals(newer)).to.equal(true);
  });

  it('grown from a whole number of blocks: only the new blocks', async () => {
    const d = await delta(base.subarray(0, 3 * B + 1), base.subarray(0, 3 * B));
    expect(d.blocks).to.deep.equal([3]);
  });

  it('shrunk: nothing but the cut short last block, and the new length', async () => {
    const older = base;
    const newer = base.subarray(0, 7 * B + 9);
    const d = await delta(newer, older);
    expect(d).to.deep.equal({ length: 7 * B + 9, blocks: [7] });
    expect(patch(older, newer, d, B).equals(newer)).to.equal(true);
    expect(await delta(base.subarray(0, 7 * B), base)).to.deep.equal({ length: 7 * B, blocks: [] });
  });

  it('empty files: no blocks; emptied or filled from empty', async () => {
    const empty = Buffer.alloc(0);
    const sig = await blockSignatures(Readable.from([]));
    expect(sig).to.deep.equal({ blockSize: B, length: 0, blocks: [] });
    expect(await delta(empty, empty)).to.deep.equal({ length: 0, blocks: [] });
    expect(await delta(empty, base)).to.deep.equal({ length: 0, blocks: [] });
    const d = await delta(base.subarray(0, 2 * B + 1), empty);
    expect(d).to.deep.equal({ length: 2 * B + 1, blocks: [0, 1, 2] });
  });

  it('random edits at a small block size always patch back to the new content', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const older = randomBytes(seed, Math.floor(r() * 50_000));
      let newer = Buffer.from(older);
      for (let k = Math.floor(r() * 5); k > 0 && newer.length > 0; k--) flip(newer, Math.floor(r() * newer.length));
      const cut = r();
      if (cut < 0.3) newer = newer.subarray(0, Math.floor(r() * newer.length));
      else if (cut < 0.6) newer = Buffer.concat([newer, randomBytes(seed + 1000, Math.floor(r() * 5000))]);
      const d = await delta(newer, older, 1024);
      expect(patch(older, newer, d, 1024).equals(newer), `seed ${seed}`).to.equal(true);
    }
  });

  it('different block sizes share nothing; bad sizes are refused', async () => {
    const a = await blockSignatures(chunked(base.subarray(0, 4096), 3), 1024);
    const b = await blockSignatures(chunked(base.subarray(0, 4096), 4), 2048);
    expect(changedBlocks(a, b).blocks).to.deep.equal([0, 1, 2, 3]);
    for (const bad of [0, 100, 1.5, 64 * MiB]) {
      const err = await blockSignatures(Readable.from([]), bad).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(TandemError).with.property('code', 'DELTA_BLOCK_SIZE');
    }
  });
});
