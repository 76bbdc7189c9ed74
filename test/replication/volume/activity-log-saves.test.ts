// What a write to a new activity-log extent costs on disk, and what a crash
// then leaves: the log's own small file is saved, not the metadata record with
// every bitmap; an evicted extent whose bits the saved record lacks stays in
// that file, so a crash snapshot still resyncs every block the absent peer missed.
import { expect } from 'chai';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { activityLogPath } from '../../../lib/replication/block/activity-log.js';
import { DEFAULT_EXTENT_SIZE } from '../../../lib/replication/block/activity-log.js';
import { ActivityLogStore } from '../../../lib/replication/block/activity-log-store.js';
import { markActivityLogOutOfSync } from '../../../lib/replication/block/metadata.js';
import { readSlots } from '../../../lib/replication/block/metadata-slot.js';
import { MetadataStore } from '../../../lib/replication/block/metadata-store.js';
import { openVolumeFiles } from '../../../lib/replication/volume/volume-open.js';
import { waitFor } from '../../helpers/env.js';
import { Cluster } from './pair-harness.js';

const EXTENT = DEFAULT_EXTENT_SIZE;
const AL_EXTENTS = 61; // the harness's al_extents

// The sequence number of a slot file's newest record, read from disk.
async function sequence(path: string): Promise<number> {
  const v = readSlots(await readFile(path));
  const slot = v.newest === null ? null : v.slots[v.newest];
  if (slot === null || !slot.ok) return expect.fail(`${path} has no valid slot`);
  return slot.sequence;
}

// The extents the log's file lists now, read from a copy.
async function loggedNow(c: Cluster, metadata: string): Promise<number[]> {
  const copy = join(c.root, `al-${Date.now()}-${Math.random()}`);
  await copyFile(activityLogPath(metadata), copy);
  const o = await ActivityLogStore.open(copy, EXTENT);
  if (!o.ok) return expect.fail(o.error.message);
  await o.store.close();
  return o.logged?.extents ?? [];
}

describe('replicated volume: activity-log saves', function () {
  this.timeout(60000);
  let c: Cluster;
  afterEach(async () => {
    if (c) await c.destroy();
  });

  // A write to an evicted extent may still be in the page cache only: after a power loss the extent must still count.
  it('an extent evicted from the log stays listed in its file until an image flush begun after it left is done', async () => {
    c = await Cluster.create({ alExtents: 7, size: 16 * EXTENT });
    const a = await c.start('node-a');
    await c.start('node-b');
    await waitFor('connected', async () => a.peers.get('node-b')?.connected === true, 10000);
    await a.promote(true);
    await waitFor('in sync', async () => a.peers.get('node-b')?.replication === 'Established' && c.get('node-b').diskState === 'UpToDate', 30000);
    for (let e = 0; e < 12; e++) await a.io().write(e * EXTENT, Buffer.alloc(4096, e + 1), false);
    // The log holds 7 extents; 0..4 left it, with no flush since.
    expect(await loggedNow(c, a.cfg.metadata)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await a.io().flush();
    await a.io().write(12 * EXTENT, Buffer.alloc(4096, 13), false); // the next save: 5 leaves now, 0..4 are on disk
    expect(await loggedNow(c, a.cfg.metadata)).to.deep.equal([5, 6, 7, 8, 9, 10, 11, 12]);
    // The same on the Secondary, which logs its Primary's writes.
    expect(await loggedNow(c, c.get('node-b').cfg.metadata)).to.deep.equal([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('connected and in sync: writes to more extents than the log holds save only the log file, never the record', async () => {
    const extents = AL_EXTENTS + 9;
    c = await Cluster.create({ size: extents * EXTENT });
    await c.start('node-a');
    await c.start('node-b');
    const a = c.get('node-a');
    await waitFor('connected', async () => a.peers.get('node-b')?.connected === true, 10000);
    await a.promote(true);
    await waitFor('in sync', async () => a.peers.get('node-b')?.replication === 'Established' && c.get('node-b').diskState === 'UpToDate', 30000);
    const meta = a.cfg.metadata;
    const [meta0, al0] = [await sequence(meta), await sequence(activityLogPath(meta))];
    const io = a.io();
    // Twice over every extent, out of order (no stream to log ahead of): the second round evicts from a full log.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < extents; i++) {
        const e = (i * 37) % extents;
        await io.write(e * EXTENT + round * 4096, Buffer.alloc(4096, e + 1), false);
      }
    }
    expect(await sequence(meta)).to.equal(meta0);
    // A scan over more extents than the log holds finds each one cold (LRU): one log save per write.
    expect(await sequence(activityLogPath(meta))).to.equal(al0 + 2 * extents);
    expect(a.peers.get('node-b')?.status().out_of_sync_bytes).to.equal(0);
  });

  it('peer away: the record is saved about once per al_extents extents; with its saves held back, a crash snapshot still resyncs every block the peer missed', async () => {
    const extents = 3 * AL_EXTENTS;
    c = await Cluster.create({ size: extents * EXTENT });
    const a = await c.start('node-a');
    await a.promote(true);
    const meta = a.cfg.metadata;
    const meta0 = await sequence(meta);
    const io = a.io();
    const written: number[] = [];
    const write = async (i: number): Promise<void> => {
      const e = (i * 37) % extents; // every extent once, out of order
      const offset = e * EXTENT + (i % 7) * 4096;
      await io.write(offset, Buffer.alloc(4096, 0x5a), false);
      written.push(offset / 4096);
    };
    await write(0); // the first write the peer misses starts a generation: a record save it waits for
    // A slow metadata disk: record saves wait until the snapshot is taken. Writes go on meanwhile.
    const store = (a as unknown as { kept: { store: { save(r: unknown): Promise<void> } } }).kept.store;
    const realSave = store.save.bind(store);
    let release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    store.save = (r) => gate.then(() => realSave(r));
    for (let i = 1; i < extents; i++) await write(i);
    // A crash now: the log file first, then the record (a later record only has more bits).
    const snap = join(c.root, 'crash');
    await mkdir(snap);
    const cfg = { ...a.cfg, device: join(snap, 'db.img'), metadata: join(snap, 'db.meta') };
    await copyFile(activityLogPath(meta), activityLogPath(cfg.metadata));
    await copyFile(meta, cfg.metadata);
    await copyFile(a.cfg.device, cfg.device);
    release();
    // The record alone, with its own copy of the log, misses most: the log file's list is what covers them.
    const alone = await MetadataStore.open(cfg.metadata);
    if (!alone.ok) return expect.fail(alone.error.message);
    await alone.store.close();
    markActivityLogOutOfSync(alone.record);
    const bitsAlone = alone.record.bitmaps.get('node-b');
    expect(written.filter((b) => !bitsAlone?.isSet(b)).length, 'blocks the record alone misses').to.be.greaterThan(AL_EXTENTS);
    const warnings: string[] = [];
    const files = await openVolumeFiles(cfg, { info: () => {}, warn: (m) => warnings.push(m), error: () => {} });
    try {
      const bits = files.record.bitmaps.get('node-b');
      expect(written.filter((b) => !bits?.isSet(b)), 'blocks not marked out of sync').to.deep.equal([]);
      expect(warnings.join('\n')).to.match(/ended while Primary without a clean shutdown: \d+ activity-log extent/);
    } finally {
      await files.alStore.close();
      await files.store.close();
      await files.disk.close();
    }
    // Saves flow again: over 3 x al_extents extents, a handful of record saves, not one per extent.
    for (let i = 0; i < extents; i++) await write(i);
    await waitFor('the held save written', async () => (await sequence(meta)) > meta0 + 1, 5000);
    expect((await sequence(meta)) - meta0, 'record saves').to.be.within(2, 8);
  });
});
