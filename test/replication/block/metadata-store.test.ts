// MetadataStore on real files: create / open / save, serialized and coalesced
// saves, and crashes simulated by writing bytes directly: a torn or garbled
// newest slot, a truncated file, a leftover temp file, both slots gone.
import { expect } from 'chai';
import { mkdtemp, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import { type MetadataRecord, encodeRecord } from '../../../lib/replication/block/metadata.js';
import { encodeSlot, readSlots } from '../../../lib/replication/block/metadata-slot.js';
import { MetadataStore, type OpenResult } from '../../../lib/replication/block/metadata-store.js';
import { sameRecord, sampleRecord } from './metadata.test.js';

function marked(n: number, peers = ['node-b']): MetadataRecord {
  const r = sampleRecord(256 * 4096, peers);
  r.generations = { n };
  for (const bm of r.bitmaps.values()) bm.setBlocks(n % 200, (n % 200) + 3);
  return r;
}

function opened(r: OpenResult): Extract<OpenResult, { ok: true }> {
  if (!r.ok) return expect.fail(`${r.reason}: ${r.error.message}`);
  return r;
}

describe('replication/block metadata store', () => {
  let dir: string;
  let path: string;
  const stores: MetadataStore[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-meta-'));
    path = join(dir, 'db.img.meta');
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const keep = <T extends { store: MetadataStore }>(r: T): T => {
    stores.push(r.store);
    return r;
  };

  it('create writes slot A and refuses an existing file; open of a missing file says not-found', async () => {
    const c = await MetadataStore.create(path, marked(1));
    if (!c.ok) return expect.fail(c.error.message);
    keep(c);
    const again = await MetadataStore.create(path, marked(2));
    expect(again.ok === false && again.reason).to.equal('exists');
    expect(again.ok === false && again.error.code).to.equal('METADATA_EXISTS');
    const o = keep(opened(await MetadataStore.open(path)));
    expect(o.sequence).to.equal(1);
    expect(o.other.ok === false && o.other.reason).to.equal('empty');
    sameRecord(o.record, marked(1));
    const none = await MetadataStore.open(join(dir, 'nope.meta'));
    expect(none.ok === false && none.error.code).to.equal('METADATA_NOT_FOUND');
    expect(await readdir(dir)).to.deep.equal(['db.img.meta']); // no temp file left
    expect((await stat(path)).mode & 0o777, 'root only, whatever the umask').to.equal(0o600);
  });

  it('saves alternate slots with rising sequence numbers; open returns the newest', async () => {
    const c = await MetadataStore.create(path, marked(1));
    if (!c.ok) return expect.fail(c.error.message);
    keep(c);
    for (let n = 2; n <= 5; n++) {
      await c.store.save(marked(n));
      const v = readSlots(await readFile(path));
      expect(v.newest).to.equal(n % 2 === 0 ? 1 : 0);
      expect(v.slots[0].ok && v.slots[1].ok).to.equal(true);
    }
    const o = keep(opened(await MetadataStore.open(path)));
    expect(o.sequence).to.equal(5);
    sameRecord(o.record, marked(5));
  });

  it('concurrent saves never interleave and the last one wins, in at most two writes', async () => {
    const c = await MetadataStore.create(path, marked(0));
    if (!c.ok) return expect.fail(c.error.message);
    keep(c);
    const all = Array.from({ length: 20 }, (_, i) => c.store.save(marked(i + 1)));
    await Promise.all(all);
    expect(c.store.sequence).to.be.within(2, 3);
    const o = keep(opened(await MetadataStore.open(path)));
    sameRecord(o.record, marked(20));
    // A record changed after save() was called does not leak into the saved copy.
    const r = marked(21);
    const p = c.store.save(r);
    r.diskState = 'Inconsistent';
    await p;
    const o2 = keep(opened(await MetadataStore.open(path)));
    expect(o2.record.diskState).to.equal('UpToDate');
  });

  it('crash mid-save: a torn, garbled or truncated newest slot falls back to the previous record', async () => {
    const c = await MetadataStore.create(path, marked(1));
    if (!c.ok) return expect.fail(c.error.message);
    await c.store.save(marked(2)); // slot B, sequence 2
    await c.store.close();
    const cap = readSlots(await readFile(path)).capacity as number;
    const pristine = await readFile(path);
    const next = encodeSlot(3, cap, encodeRecord(marked(3))); // the save that "crashed", aimed at A

    const crashes: Array<[string, (fd: import('node:fs/promises').FileHandle) => Promise<void>, number]> = [
      ['half of the new slot written over A', (fd) => fd.write(next, 0, next.length >> 1, 0).then(() => undefined), 2],
      ['only the new header written over A', (fd) => fd.write(next, 0, 32, 0).then(() => undefined), 2],
      ['garbage over the newest slot B', (fd) => fd.write(Buffer.alloc(300, 0x5a), 0, 300, cap + 100).then(() => undefined), 1],
      ['one flipped bit in B', async (fd) => {
        const b = Buffer.alloc(1);
        await fd.read(b, 0, 1, cap + 40);
        b[0] = (b[0] ?? 0) ^ 4;
        await fd.write(b, 0, 1, cap + 40);
      }, 1],
      ['the file cut inside B', (fd) => fd.truncate(cap + 100), 1],
      ['the new slot complete: nothing lost', (fd) => fd.write(next, 0, next.length, 0).then(() => undefined), 3],
    ];
    for (const [what, crash, want] of crashes) {
      await writeFile(path, pristine);
      const fd = await open(path, 'r+');
      await crash(fd);
      await fd.close();
      const o = opened(await MetadataStore.open(path));
      expect(o.sequence, what).to.equal(want);
      sameRecord(o.record, marked(want));
      // Saving again after the fallback goes to the bad slot and the file heals.
      await o.store.save(marked(10));
      await o.store.close();
      const healed = opened(await MetadataStore.open(path));
      expect(healed.sequence, what).to.equal(want + 1);
      sameRecord(healed.record, marked(10));
      await healed.store.close();
    }
  });

  it('no complete record anywhere is a typed error, never a half state', async () => {
    const c = await MetadataStore.create(path, marked(1));
    if (!c.ok) return expect.fail(c.error.message);
    await c.store.save(marked(2));
    await c.store.close();
    const fd = await open(path, 'r+');
    await fd.write(Buffer.alloc(64, 0xff), 0, 64, 0);
    await fd.write(Buffer.alloc(64, 0xff), 0, 64, (await fd.stat()).size / 2);
    await fd.close();
    const o = await MetadataStore.open(path);
    expect(o.ok).to.equal(false);
    if (!o.ok) {
      expect(o.reason).to.equal('no-valid-copy');
      expect(o.error.code).to.equal('METADATA_CORRUPT');
      expect(o.error.message).to.match(/slot A: magic.*slot B: magic/);
    }
    await truncate(path, 0);
    const empty = await MetadataStore.open(path);
    expect(empty.ok === false && empty.reason).to.equal('no-valid-copy');
  });

  it('a checksum-valid record the generations owner refuses is invalid-record, not a fallback', async () => {
    const c = await MetadataStore.create(path, marked(1));
    if (!c.ok) return expect.fail(c.error.message);
    await c.store.close();
    const o = await MetadataStore.open(path, { checkGenerations: () => 'unknown generation format' });
    expect(o.ok === false && o.error.code).to.equal('METADATA_INVALID');
    expect(o.ok === false && o.error.message).to.contain('unknown generation format');
  });

  it('a record that outgrows its slot moves to a bigger file by rename; a crash before the rename leaves the old file', async () => {
    const c = await MetadataStore.create(path, marked(1));
    if (!c.ok) return expect.fail(c.error.message);
    keep(c);
    const before = (await stat(path)).size;
    const big = sampleRecord(2 ** 30, ['node-b', 'node-c', 'node-d']); // 3 x 32 KiB bitmaps
    big.generations = { n: 2 };
    expect(encodeRecord(big).length).to.be.greaterThan(before / 2);
    await c.store.save(big);
    expect((await stat(path)).size).to.be.greaterThan(before);
    await c.store.save({ ...big, diskState: 'Consistent' });
    let o = keep(opened(await MetadataStore.open(path)));
    expect(o.sequence).to.equal(3);
    expect(o.record.diskState).to.equal('Consistent');
    expect(o.record.bitmaps.size).to.equal(3);
    // A crash before the rename: a complete or a garbled temp file is ignored.
    const cap = readSlots(await readFile(path)).capacity as number;
    const whole = Buffer.alloc(4 * cap);
    encodeSlot(4, 2 * cap, encodeRecord({ ...big, diskState: 'Outdated' })).copy(whole);
    await writeFile(`${path}.tmp-1-1`, whole);
    await writeFile(`${path}.tmp-1-2`, Buffer.alloc(5000, 0x42));
    o = keep(opened(await MetadataStore.open(path)));
    expect(o.sequence).to.equal(3);
    expect(o.record.diskState).to.equal('Consistent');
  });

  it('after an I/O error the store refuses further saves until reopened', async () => {
    const c = await MetadataStore.create(path, marked(1));
    if (!c.ok) return expect.fail(c.error.message);
    // Pull the descriptor away underneath: the next pwrite fails with EBADF.
    await (c.store as unknown as { file: { fd: import('node:fs/promises').FileHandle } }).file.fd.close();
    let first: unknown;
    await c.store.save(marked(2)).catch((e: unknown) => (first = e));
    expect((first as { code?: string }).code).to.equal('METADATA_IO');
    let second: unknown;
    await c.store.save(marked(3)).catch((e: unknown) => (second = e));
    expect(second).to.equal(first);
    const o = opened(await MetadataStore.open(path));
    expect(o.sequence).to.equal(1);
    await o.store.close();
  });

  it('a bitmap of the wrong geometry is refused before any byte is written', async () => {
    const c = await MetadataStore.create(path, marked(1));
    if (!c.ok) return expect.fail(c.error.message);
    keep(c);
    const bad = marked(2);
    bad.bitmaps.set('node-x', new Bitmap(4096));
    expect(() => c.store.save(bad)).to.throw(RangeError);
    expect(c.store.sequence).to.equal(1);
  });
});
