// A Secondary's activity log for its Primary's stream (secondary-log.ts), with real volumes in process: a
// Secondary that crashes resyncs the extents it logged from the Primary, and one that crashes together with
// its Primary (a double failure) still has them reconciled with the other Secondary by the next Primary. A
// clean restart marks nothing.
import { expect } from 'chai';
import { copyFile } from 'node:fs/promises';
import { activityLogPath } from '../../../lib/replication/block/activity-log.js';
import type { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';
import { waitFor } from '../../helpers/env.js';
import { established, failNextImageFlush, meshOfThree, MiB, overwriteBlock, pattern, sameImages } from './pair-checks.js';
import { Cluster } from './pair-harness.js';

describe('replicated volume: a Secondary logs its Primary\'s writes, and a crash of it forgets none', function () {
  this.timeout(90000);
  let c: Cluster;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    if (c) await c.destroy();
  });

  // `name`'s metadata as a crash now would leave it: copied aside, put back after a clean stop.
  async function crash(name: string): Promise<void> {
    const meta = c.config(name).metadata;
    const files = [meta, activityLogPath(meta)];
    for (const f of files) await copyFile(f, `${f}.crash`);
    await c.stop(name);
    for (const f of files) await copyFile(`${f}.crash`, f);
  }

  const overwrite = (name: string, offset: number, byte: number): Promise<void> => overwriteBlock(c, name, offset, byte);

  // node-a Primary, node-b in sync, a 16 MiB volume.
  async function pair(): Promise<ReplicatedVolume> {
    c = await Cluster.create({ size: 16 * MiB });
    const a = await c.start('node-a');
    await c.start('node-b');
    await a.promote(true);
    await established(c, 'node-a', 'node-b');
    return a;
  }

  const staleFor = (node: string): string[] => [...(c.get(node) as unknown as { record: { staleBitsFor: Set<string> } }).record.staleBitsFor];

  const resyncOf = (node: string): Record<string, unknown> | undefined => c.events.find((e) => e.type === 'replica.resync.started' && e.node === node)?.fields;

  it('a Secondary that crashed resyncs the extents it logged from the Primary: a write its disk lost comes back', async () => {
    const a = await pair();
    await a.io().write(1 * MiB, pattern(1, 64 * 1024), false);
    await a.io().write(9 * MiB, pattern(2, 64 * 1024), false);
    await a.io().flush();
    await crash('node-b');
    await overwrite('node-b', 1 * MiB, 0); // an acknowledged write the power loss took from its page cache
    c.events.length = 0;
    const b = await c.start('node-b');
    expect(staleFor('node-b')).to.deep.equal(['node-a']);
    expect(b.status().peers[0]).to.include({ name: 'node-a', stale_bits: true });
    expect(c.logs).to.include('node-b warn db: the last run ended while Secondary without a clean shutdown: 2 activity-log extent(s) (2048 block(s), 2048 bit(s) newly set over 1 bitmap(s)) marked out of sync towards every peer, whose copy of them wins at one generation');
    await waitFor('node-b resynced', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-b'), 20000);
    await established(c, 'node-a', 'node-b');
    expect(resyncOf('node-b')).to.include({ peer: 'node-a', direction: 'SyncTarget', full: false, bytes: 8 * MiB }); // the two extents, not the volume
    await sameImages(c, 'node-a', 'node-b');
    expect(staleFor('node-b'), 'resynced: nothing stale is left').to.deep.equal([]);
    expect(c.get('node-b').status().peers[0]).to.include({ name: 'node-a', stale_bits: false });
  });

  // Its bits say its own copy is the suspect one: with no Primary at one generation, the side with bits would
  // otherwise be taken for the one ahead, and its stale copy would overwrite the good one.
  it('a Secondary that crashed meets its former Primary, now Secondary: the former Primary\'s copy wins', async () => {
    const a = await pair();
    await a.io().write(1 * MiB, pattern(4, 64 * 1024), false);
    await a.io().flush();
    await crash('node-b');
    await overwrite('node-b', 1 * MiB, 0); // lost with node-b's page cache
    await a.demote(); // no write since: both stay at one generation
    const good = await c.image('node-a');
    c.events.length = 0;
    await c.start('node-b');
    await waitFor('node-b resynced', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-b'), 20000);
    expect(resyncOf('node-b')).to.include({ peer: 'node-a', direction: 'SyncTarget', full: false, bytes: 4 * MiB });
    expect(c.logs.some((l) => l.includes('node-b\'s bits are marks of its own crash as Secondary, its copy of them may be stale'))).to.equal(true);
    await established(c, 'node-a', 'node-b');
    expect((await c.image('node-a')).equals(good), 'node-a\'s data unchanged').to.equal(true);
    await sameImages(c, 'node-a', 'node-b');
    // Resynced: node-b's bits for node-a are gone, and with them what made them stale.
    expect(c.get('node-b').status().peers[0]).to.include({ out_of_sync_bytes: 0 });
  });

  it('an image that cannot be flushed at stop leaves the record unclean: the next start marks the log', async () => {
    const a = await pair();
    const b = c.get('node-b');
    await a.io().write(5 * MiB, pattern(5, 4096), false);
    await a.io().flush();
    (b.disk as unknown as { flush: () => Promise<void> }).flush = async () => { throw new Error('EIO'); };
    await c.stop('node-b');
    expect(c.logs).to.include('node-b error db: flushing the image at stop: EIO; the record stays unclean');
    await c.start('node-b');
    expect(c.logs.some((l) => l.startsWith('node-b warn db: the last run ended while Secondary without a clean shutdown: 1 activity-log extent(s)'))).to.equal(true);
    await established(c, 'node-a', 'node-b');
    await sameImages(c, 'node-a', 'node-b');
  });

  // Linux marks the pages of a failed fdatasync clean, and the next one succeeds without them.
  it('after an image flush that failed, nothing counts as flushed, and a clean stop leaves the record unclean', async () => {
    const a = await pair();
    failNextImageFlush(a);
    await a.io().write(5 * MiB, pattern(6, 4096), false);
    const err = await a.io().flush().then(() => null, (e: unknown) => e as Error);
    expect(err?.message).to.equal('EIO');
    expect(a.disk.flushFailure).to.equal('EIO');
    const durable = a.disk.durableThrough;
    await a.io().flush(); // succeeds, and proves nothing
    expect(a.disk.durableThrough).to.equal(durable);
    await c.stop('node-a');
    expect(c.logs).to.include('node-a error db: an image flush failed during this run (EIO): the record stays unclean, so the next start resyncs the logged extents');
    await c.start('node-a');
    expect(c.logs.some((l) => l.startsWith('node-a warn db: the last run ended while Secondary without a clean shutdown: 1 activity-log extent(s)'))).to.equal(true);
  });

  it('a Secondary restarted cleanly marks nothing: no resync', async () => {
    const a = await pair();
    await a.io().write(1 * MiB, pattern(3, 64 * 1024), false);
    await a.io().flush();
    await c.stop('node-b');
    c.events.length = 0;
    const b = await c.start('node-b');
    await established(c, 'node-a', 'node-b');
    expect(c.logs.some((l) => l.includes('without a clean shutdown'))).to.equal(false);
    expect(resyncOf('node-b')).to.equal(undefined);
    expect(b.bitmapFor('node-a').countSet()).to.equal(0);
    await sameImages(c, 'node-a', 'node-b');
  });

  // The Primary dies with a write in flight that reached node-b and not node-c, and node-b crashes with it (one
  // power loss): node-b's log is the only record of that extent. Before it, node-b came back with no marks and
  // node-c, with none either, promoted: the two disks differed silently.
  it('a double failure: a Secondary that crashed with its Primary brings back the extents it logged, and the next Primary reconciles them', async () => {
    c = await Cluster.create({ nodes: 3, size: 32 * MiB });
    const [a] = await meshOfThree(c);
    for (let i = 0; i < 4; i++) await a.io().write(i * MiB, pattern(i + 90, 64 * 1024), false);
    await a.io().flush();
    await c.stop('node-c'); // node-c restarts cleanly: it logged nothing of node-a's since
    await c.start('node-c');
    await established(c, 'node-a', 'node-c');
    await overwrite('node-b', 2 * MiB, 0xb5); // node-b applied a write node-c never got
    await crash('node-b');
    await a.disconnect(); // node-a is lost: node-c saw it go without a demote
    await c.stop('node-a');
    const c2 = c.get('node-c');
    await waitFor('node-c sees node-a gone', async () => c2.peers.get('node-a')?.connected === false, 10000);
    expect(c.logs.some((l) => l.startsWith('node-c info db: Primary node-a lost')), 'node-c logged no extent of node-a\'s').to.equal(false);
    c.events.length = 0;
    await c.start('node-b');
    expect(c.logs).to.include('node-b warn db: the last run ended while Secondary without a clean shutdown: 1 activity-log extent(s) (1024 block(s), 2048 bit(s) newly set over 2 bitmap(s)) marked out of sync towards every peer, whose copy of them wins at one generation');
    await c2.promote(false);
    await waitFor('node-b resynced from node-c', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-b'), 20000);
    await established(c, 'node-b', 'node-c');
    expect(resyncOf('node-b')).to.include({ peer: 'node-c', direction: 'SyncTarget', full: false, bytes: 4 * MiB });
    await sameImages(c, 'node-b', 'node-c');
  });
});
