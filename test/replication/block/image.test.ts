// Backing image: sparse creation, size checks that name both sizes, no shrink,
// and a real block device (a loop device, root only; CI must have it).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OpenImageResult, openImage, splitDev } from '../../../lib/replication/block/image.js';
import { requireLab } from '../../helpers/env.js';

const MiB = 1 << 20;

async function ok(r: Promise<OpenImageResult>): Promise<Extract<OpenImageResult, { ok: true }>['image']> {
  const v = await r;
  if (!v.ok) return expect.fail(`${v.reason}: ${v.error.message}`);
  return v.image;
}

async function refused(r: Promise<OpenImageResult>, reason: string): Promise<string> {
  const v = await r;
  if (v.ok) {
    await v.image.fd.close();
    return expect.fail(`expected ${reason}, got an image`);
  }
  expect(v.reason).to.equal(reason);
  expect(v.error.code).to.match(/^IMAGE_/);
  return v.error.message;
}

describe('replication/block image', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-image-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a missing image sparse at the configured size, and reopens it as it is', async () => {
    const path = join(dir, 'db.img');
    const img = await ok(openImage(path, 256 * MiB));
    expect(img).to.deep.include({ path, size: 256 * MiB, kind: 'file', created: true });
    await img.fd.close();
    const st = await stat(path);
    expect(st.size).to.equal(256 * MiB);
    expect(st.blocks * 512).to.be.lessThan(MiB); // sparse: no data blocks yet
    expect(st.mode & 0o777, 'the data is the application\'s: root only, whatever the umask').to.equal(0o600);
    const again = await ok(openImage(path, 256 * MiB));
    expect(again.created).to.equal(false);
    await again.fd.write(Buffer.from('data'), 0, 4, 256 * MiB - 4); // opened read-write
    await again.fd.close();
  });

  it('an existing file of another size: mismatch names both sizes; bigger is never shrunk; smaller grows only when asked', async () => {
    const path = join(dir, 'db.img');
    await writeFile(path, Buffer.alloc(8192, 1));
    const small = await refused(openImage(path, 16384), 'size-mismatch');
    expect(small).to.contain('8192').and.contain('16384');
    const big = await refused(openImage(path, 4096), 'would-shrink');
    expect(big).to.contain('8192').and.contain('4096');
    expect((await stat(path)).size).to.equal(8192);
    const grown = await ok(openImage(path, 16384, { grow: true }));
    await grown.fd.close();
    expect((await stat(path)).size).to.equal(16384);
  });

  it('refuses a bad size, a missing file when told not to create, and what is not a file or block device', async () => {
    for (const size of [0, -512, 1000, 1.5 * 512, 2 ** 60]) await refused(openImage(join(dir, 'x.img'), size), 'bad-size');
    await refused(openImage(join(dir, 'missing.img'), 4096, { create: false }), 'not-found');
    await mkdir(join(dir, 'sub'));
    await refused(openImage(join(dir, 'sub'), 4096), 'io'); // EISDIR on open r+
    await refused(openImage('/dev/null', 4096), 'not-a-volume');
    await refused(openImage(join(dir, 'no', 'such', 'dir.img'), 4096), 'io');
  });

  it('splitDev follows the Linux dev_t encoding', () => {
    const make = (major: number, minor: number): bigint =>
      (BigInt(minor) & 0xffn) | ((BigInt(major) & 0xfffn) << 8n) | ((BigInt(minor) & ~0xffn) << 12n) | ((BigInt(major) & ~0xfffn) << 32n);
    for (const [maj, min] of [[7, 0], [8, 17], [259, 65537], [4096, 1 << 19]] as const) {
      expect(splitDev(make(maj, min))).to.deep.equal({ major: maj, minor: min });
    }
  });

  describe('a real block device (loop device)', () => {
    let dev: string | undefined;
    before(async function () {
      requireLab(this, ['losetup']);
      const backing = join(await mkdtemp(join(tmpdir(), 'tandem-loop-')), 'backing.img');
      await writeFile(backing, Buffer.alloc(0));
      execFileSync('truncate', ['-s', String(4 * MiB), backing]);
      dev = execFileSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' }).trim();
      await rm(backing); // the loop device keeps the inode alive; the directory goes
      await rm(join(backing, '..'), { recursive: true, force: true });
    });
    after(() => {
      if (dev !== undefined) execFileSync('losetup', ['-d', dev]);
    });

    it('opens at its own size and names both sizes on a mismatch', async () => {
      const img = await ok(openImage(dev as string, 4 * MiB));
      expect(img.kind).to.equal('block-device');
      await img.fd.close();
      const msg = await refused(openImage(dev as string, 8 * MiB), 'size-mismatch');
      expect(msg).to.contain(String(4 * MiB)).and.contain(String(8 * MiB));
    });
  });
});
