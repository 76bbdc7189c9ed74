// A replica's I/O past the page cache (O_DIRECT through page-aligned bounce
// buffers): data lands and reads back intact, nothing of it stays cached
// (fincore, util-linux), and what O_DIRECT cannot take is done buffered.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_CHUNK, DirectIo } from '../../../lib/replication/block/direct-io.js';
import { FileBackend } from '../../../lib/replication/block/nbd/file-backend.js';
import { requireTool, skipOutsideCi } from '../../helpers/env.js';

const MiB = 1 << 20;
const SIZE = 16 * MiB;

// Bytes of the file in the page cache.
function cached(path: string): number {
  return Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' }).trim());
}

function pattern(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) b.writeUInt32LE((seed * 2654435761 + i) >>> 0, i);
  return b;
}

describe('replication/block direct-io', () => {
  let dir: string;
  let path: string;
  let disk: FileBackend;

  before(async function () {
    requireTool(this, 'fincore', 'util-linux');
    const d = await mkdtemp(join(tmpdir(), 'tandem-direct-'));
    const fh = await open(join(d, 'probe'), 'w+');
    const w = await DirectIo.reopen(fh.fd);
    await w?.close();
    await fh.close();
    await rm(d, { recursive: true, force: true });
    if (w === null) skipOutsideCi(this, `${tmpdir()} refuses O_DIRECT`);
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-direct-'));
    path = join(dir, 'db.img');
    await writeFile(path, Buffer.alloc(SIZE)); // allocated and cached, as an image written by dd
    disk = await FileBackend.open({ path });
  });

  // GNU dd's iflag=nocache with count=0 drops the file's clean pages (POSIX_FADV_DONTNEED).
  async function dropCache(): Promise<void> {
    await disk.flush();
    execFileSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
    expect(cached(path), 'nothing cached to start with').to.equal(0);
  }

  afterEach(async () => {
    await disk.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('tells which ranges O_DIRECT can take: 4 KiB multiples at 4 KiB offsets', () => {
    const rows: Array<[number, number, boolean]> = [
      [0, 4096, true],
      [4096, MiB, true],
      [3 * MiB, 3 * MiB + 8192, true],
      [512, 4096, false],
      [4096, 512, false],
      [4096, 4096 + 1, false],
      [0, 0, false],
    ];
    for (const [offset, length, want] of rows) expect(DirectIo.aligned(offset, length), `${offset}+${length}`).to.equal(want);
  });

  it('writes aligned data intact and caches none of it', async () => {
    await dropCache();
    const small = pattern(1, 4096);
    const large = pattern(2, 3 * DIRECT_CHUNK + 8192); // crosses bounce-buffer pieces
    await disk.writeUncached(4096, small);
    await disk.writeUncached(2 * MiB, large);
    expect(cached(path)).to.equal(0);
    const img = await readFile(path);
    expect(img.subarray(4096, 8192).equals(small)).to.equal(true);
    expect(img.subarray(2 * MiB, 2 * MiB + large.length).equals(large)).to.equal(true);
    expect(img.subarray(0, 4096).equals(Buffer.alloc(4096))).to.equal(true);
    expect(img.subarray(2 * MiB + large.length).equals(Buffer.alloc(SIZE - 2 * MiB - large.length))).to.equal(true);
  });

  it('drops the pages it overwrites from the page cache', async () => {
    expect(cached(path), 'the image starts cached').to.equal(SIZE);
    const data = pattern(4, SIZE);
    await disk.writeUncached(0, data);
    expect(cached(path)).to.equal(0);
    expect((await readFile(path)).equals(data)).to.equal(true);
  });

  it('writes a misaligned range buffered, intact', async () => {
    await dropCache();
    const data = pattern(3, 4096);
    await disk.writeUncached(1000, data);
    expect(cached(path), 'the buffered write went through the page cache').to.be.greaterThan(0);
    expect((await readFile(path)).subarray(1000, 1000 + data.length).equals(data)).to.equal(true);
  });

  it('goes on buffered, with the data intact, once a direct write is refused with EINVAL', async () => {
    await dropCache();
    const real = Object.getOwnPropertyDescriptor(DirectIo.prototype, 'write') as PropertyDescriptor;
    let calls = 0;
    // A test double for a kernel that refuses the memory or the file after the open.
    DirectIo.prototype.write = async () => {
      calls++;
      throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
    };
    try {
      const first = pattern(5, 64 * 1024);
      const second = pattern(6, 64 * 1024);
      await disk.writeUncached(0, first);
      await disk.writeUncached(MiB, second);
      expect(calls, 'refused once, then not tried again').to.equal(1);

      expect(cached(path), 'both went through the page cache').to.be.at.least(first.length + second.length);
      const img = await readFile(path);
      expect(img.subarray(0, first.length).equals(first)).to.equal(true);
      expect(img.subarray(MiB, MiB + second.length).equals(second)).to.equal(true);
      await dropCache();
      expect((await disk.readUncached(0, first.length)).equals(first)).to.equal(true);
      expect(cached(path), 'reads go through the page cache too').to.be.greaterThan(0);
    } finally {
      Object.defineProperty(DirectIo.prototype, 'write', real);
    }
  });

  it('reads aligned ranges intact without caching them, zeroes past the end of the file', async () => {
    const data = pattern(7, SIZE);
    await writeFile(path, data);
    await dropCache();
    const head = await disk.readUncached(0, 3 * DIRECT_CHUNK + 8192); // crosses bounce-buffer pieces
    const tail = await disk.readUncached(SIZE - 4096, 8192);
    expect(cached(path)).to.equal(0);
    expect(head.equals(data.subarray(0, head.length))).to.equal(true);
    expect(tail.subarray(0, 4096).equals(data.subarray(SIZE - 4096))).to.equal(true);
    expect(tail.subarray(4096).equals(Buffer.alloc(4096))).to.equal(true);
  });

  it('reads what a buffered write left dirty in the page cache', async () => {
    const data = pattern(8, 64 * 1024);
    await disk.write(MiB, data, false); // not flushed: O_DIRECT must see it all the same
    expect((await disk.readUncached(MiB, data.length)).equals(data)).to.equal(true);
  });

  it('reads a misaligned range buffered, intact', async () => {
    const data = pattern(9, SIZE);
    await writeFile(path, data);
    expect((await disk.readUncached(1000, 5000)).equals(data.subarray(1000, 6000))).to.equal(true);
  });

  it('writes more ranges at once than it has bounce buffers, every one intact', async () => {
    const writes = Array.from({ length: 12 }, (_, i) => ({ offset: i * MiB, data: pattern(10 + i, MiB) }));
    await Promise.all(writes.map((w) => disk.writeUncached(w.offset, w.data)));
    const img = await readFile(path);
    for (const w of writes) expect(img.subarray(w.offset, w.offset + MiB).equals(w.data), `at ${w.offset}`).to.equal(true);
  });
});
