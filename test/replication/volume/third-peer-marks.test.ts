// Secondaries track what a third peer misses (PEER_OUT_OF_SYNC and
// generations.ts followPrimary): with three nodes, a node that was away
// while the Primary wrote resyncs by bitmap from whichever node it meets
// next, also after a failover, and never from bits a crash may have cut short.
import { expect } from 'chai';
import { copyFile } from 'node:fs/promises';
import { activityLogPath } from '../../../lib/replication/block/activity-log.js';
import { bitmapEntry } from '../../../lib/replication/generations.js';
import type { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';
import { waitFor } from '../../helpers/env.js';
import { away, established, meshOfThree, MiB, pattern, peerOf, sameImages, slowResyncWrites } from './pair-checks.js';
import { Cluster } from './pair-harness.js';

describe('replicated volume, three nodes: Secondaries track what a third peer misses', function () {
  this.timeout(90000);
  let c: Cluster;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    if (c) await c.destroy();
  });

  async function threeNodes(size = 64 * MiB): Promise<[ReplicatedVolume, ReplicatedVolume, ReplicatedVolume]> {
    c = await Cluster.create({ nodes: 3, size });
    return meshOfThree(c);
  }

  // node-c goes away, and node-a writes 64 KiB at each of the first eight MiB.
  async function writesNodeCMisses(a: ReplicatedVolume): Promise<void> {
    await away(c, 'node-c');
    for (let i = 0; i < 8; i++) await a.io().write(i * MiB, pattern(i + 300, 64 * 1024), false);
    await a.io().flush();
  }

  const resyncOf = (node: string): Record<string, unknown> | undefined => c.events.find((e) => e.type === 'replica.resync.started' && e.node === node)?.fields;

  it('the Secondary marks each range the Primary says the absent peer missed, and holds the Primary\'s entry for it', async () => {
    const [a, b] = await threeNodes();
    const before = b.generations.current; // where node-c stands
    await writesNodeCMisses(a);
    await waitFor('node-b follows node-a\'s generation', async () => b.generations.current === a.generations.current, 10000);
    expect(bitmapEntry(a.generations, 'node-c')?.uuid).to.equal(before);
    expect(bitmapEntry(b.generations, 'node-c')).to.deep.equal({ uuid: before, primaryAtSplit: false });
    await waitFor('node-b marked all eight writes', async () => b.bitmapFor('node-c').countSet() === 8 * 16, 10000);
    expect(b.bitmapFor('node-c').countSet()).to.equal(a.bitmapFor('node-c').countSet());
    expect(b.bitmapFor('node-a').countSet()).to.equal(0);
  });

  it('the Primary is lost while a node is away: the next Primary resyncs that node by bitmap, and every write is there', async () => {
    const [a, b] = await threeNodes();
    await writesNodeCMisses(a);
    await waitFor('node-b marked the writes', async () => b.bitmapFor('node-c').countSet() === 8 * 16, 10000);
    await a.disconnect(); // node-a is lost without a word, as in a crash
    await waitFor('node-b marked node-a\'s last extents', async () => c.logs.some((l) => l.startsWith('node-b info db: Primary node-a lost')), 10000);
    await c.stop('node-a');
    await b.promote(false);
    await b.io().write(40 * MiB, pattern(400, 64 * 1024), false); // node-b's own, which node-c misses too
    await b.io().flush();
    c.events.length = 0;
    await c.start('node-c');
    await established(c, 'node-b', 'node-c');
    // The eight writes lie in node-a's last two 4 MiB extents, which node-b marked when node-a was lost; before
    // PEER_OUT_OF_SYNC this was a full sync of 64 MiB.
    expect(resyncOf('node-c')).to.include({ peer: 'node-b', direction: 'SyncTarget', full: false, bytes: 8 * MiB + 64 * 1024 });
    await sameImages(c, 'node-b', 'node-c');
  });

  it('the absent node comes back to the live Primary: the other Secondary drops its entry and bits for it, and their link is in sync', async () => {
    const [a, b] = await threeNodes();
    await writesNodeCMisses(a);
    await waitFor('node-b marked the writes', async () => b.bitmapFor('node-c').countSet() === 8 * 16, 10000);
    c.events.length = 0;
    await c.start('node-c');
    await established(c, 'node-a', 'node-c');
    expect(resyncOf('node-c')).to.include({ peer: 'node-a', direction: 'SyncTarget', full: false, bytes: 8 * 64 * 1024 });
    await waitFor('node-b dropped its entry and bits for node-c', async () => bitmapEntry(b.generations, 'node-c') === undefined && b.bitmapFor('node-c').countSet() === 0, 10000);
    await established(c, 'node-b', 'node-c');
    expect(c.events.some((e) => e.type === 'replica.resync.started' && e.fields.peer !== 'node-a' && e.node !== 'node-a')).to.equal(false);
    await sameImages(c, 'node-a', 'node-b', 'node-c');
  });

  it('a Secondary that becomes SyncTarget drops its entries for third peers as the resync starts: its data changes untracked', async () => {
    const [a, b] = await threeNodes();
    await writesNodeCMisses(a);
    await waitFor('node-b tracks node-c', async () => bitmapEntry(b.generations, 'node-c') !== undefined, 10000);
    await b.disconnect();
    await waitFor('node-a sees node-b gone', async () => !a.peers.get('node-b')?.connected, 10000);
    for (let i = 0; i < 16; i++) await a.io().write(16 * MiB + i * MiB, pattern(i + 600, 256 * 1024), false); // node-b and node-c miss these
    const undo = slowResyncWrites(b, 200);
    b.connect();
    await waitFor('node-b SyncTarget of node-a', async () => peerOf(c, 'node-b', 'node-a')?.replication === 'SyncTarget', 10000);
    expect(bitmapEntry(b.generations, 'node-c')).to.equal(undefined);
    undo();
    await established(c, 'node-a', 'node-b');
    expect(bitmapEntry(b.generations, 'node-c')).to.equal(undefined);
  });

  it('a Secondary that ended uncleanly while it tracked a node forgets the entry: that node resyncs in full from it, correctly', async () => {
    const [a, b] = await threeNodes(16 * MiB);
    await writesNodeCMisses(a);
    await waitFor('node-b tracks node-c', async () => bitmapEntry(b.generations, 'node-c') !== undefined && b.bitmapFor('node-c').countSet() === 8 * 16, 10000);
    // node-b's metadata as a crash would leave it: the record saved when it began tracking (cleanShutdown false).
    const meta = c.config('node-b').metadata;
    await copyFile(meta, `${meta}.crash`);
    await copyFile(activityLogPath(meta), `${activityLogPath(meta)}.crash`);
    await c.stop('node-b');
    await copyFile(`${meta}.crash`, meta);
    await copyFile(`${activityLogPath(meta)}.crash`, activityLogPath(meta));
    await a.demote();
    await c.stop('node-a');
    const b2 = await c.start('node-b');
    expect(c.logs).to.include('node-b warn db: the last run ended while Secondary without a clean shutdown: the bitmaps for node-c may lack the newest marks, so they are not trusted (those peers resync in full)');
    expect(bitmapEntry(b2.generations, 'node-c')).to.equal(undefined);
    c.events.length = 0;
    await c.start('node-c');
    await established(c, 'node-b', 'node-c');
    expect(resyncOf('node-c')).to.include({ peer: 'node-b', direction: 'SyncTarget', full: true });
    await sameImages(c, 'node-b', 'node-c');
    expect(peerOf(c, 'node-b', 'node-c').replication).to.equal('Established');
  });
});
