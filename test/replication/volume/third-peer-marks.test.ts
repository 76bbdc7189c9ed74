// Secondaries track what a third peer misses (PEER_OUT_OF_SYNC and
// generations.ts followPrimary): with three nodes, a node that was away
// while the Primary wrote resyncs by bitmap from whichever node it meets
// next, also after a failover, and never from bits a crash may have cut short.
import { expect } from 'chai';
import { copyFile } from 'node:fs/promises';
import { activityLogPath } from '../../../lib/replication/block/activity-log.js';
import { bitmapEntry } from '../../../lib/replication/generations.js';
import type { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';
import { sleep, waitFor } from '../../helpers/env.js';
import { away, established, handOver, meshOfThree, MiB, pattern, peerOf, sameImages, slowResyncWrites } from './pair-checks.js';
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

  // A node's metadata as a crash now would leave it: copied aside, put back after `then` (a clean stop) ran.
  async function asAfterCrash(then: () => Promise<void>, node = 'node-b'): Promise<void> {
    const meta = c.config(node).metadata;
    const files = [meta, activityLogPath(meta)];
    for (const f of files) await copyFile(f, `${f}.crash`);
    await then();
    for (const f of files) await copyFile(`${f}.crash`, f);
  }

  // node-c's disk takes no write until the returned release: what node-a sends it stays unacknowledged.
  function holdWrites(v: ReplicatedVolume): () => void {
    type Disk = { writeInline: (o: number, d: Buffer) => boolean; write: (o: number, d: Buffer, fua: boolean) => Promise<void> };
    const disk = v.disk as unknown as Disk;
    const [inline, write] = [disk.writeInline.bind(v.disk), disk.write.bind(v.disk)];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    disk.writeInline = () => false;
    disk.write = async (o, d, fua) => {
      await gate;
      return write(o, d, fua);
    };
    return () => {
      Object.assign(disk, { writeInline: inline, write });
      open();
    };
  }

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
    await asAfterCrash(() => c.stop('node-b'));
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

  // Bits between two Secondaries that are both in step with the Primary are stale: both hold its data.
  it('a Secondary drops its bits for a third node once that node is in step with the Primary too: no resync between them after the demote', async () => {
    const [a, b] = await threeNodes();
    await writesNodeCMisses(a); // node-b marks these for node-c
    await waitFor('node-b marked the writes', async () => b.bitmapFor('node-c').countSet() === 8 * 16, 10000);
    await b.disconnect(); // node-b misses writes too, so its resync from node-a drops its entry for node-c, not its bits
    await waitFor('node-a sees node-b gone', async () => !a.peers.get('node-b')?.connected, 10000);
    await a.io().write(20 * MiB, pattern(900, 64 * 1024), false);
    b.connect();
    await established(c, 'node-a', 'node-b');
    expect(bitmapEntry(b.generations, 'node-c')).to.equal(undefined);
    expect(b.bitmapFor('node-c').countSet()).to.equal(8 * 16); // node-a still tracks node-c: node-b keeps them
    await c.start('node-c');
    await established(c, 'node-a', 'node-c');
    // Before, node-b kept them and sent node-c those 512 KiB again once node-a demoted; after an invalidate, the whole volume.
    await waitFor('node-b dropped its bits for node-c', async () => b.bitmapFor('node-c').countSet() === 0, 20000);
    await established(c, 'node-b', 'node-c');
    c.events.length = 0;
    await a.demote();
    await waitFor('node-b sees node-a Secondary', async () => b.peers.get('node-a')?.peerRole === 'Secondary', 10000);
    await sleep(500); // a resync between node-b and node-c would start now
    expect(c.events.filter((e) => e.type === 'replica.resync.started')).to.deep.equal([]);
    await sameImages(c, 'node-a', 'node-b', 'node-c');
  });

  it('a Secondary that crashed idle resyncs its marked extents from the Primary, then drops its marks for the other Secondary: a handover moves nothing', async () => {
    const [a, b] = await threeNodes();
    for (let i = 0; i < 4; i++) await a.io().write(i * MiB, pattern(i + 700, 64 * 1024), false);
    await a.io().flush();
    await asAfterCrash(() => c.stop('node-c'), 'node-c');
    c.events.length = 0;
    const node3 = await c.start('node-c');
    await established(c, 'node-a', 'node-c');
    expect(resyncOf('node-c')).to.include({ peer: 'node-a', direction: 'SyncTarget', full: false });
    await established(c, 'node-b', 'node-c');
    await waitFor('node-c dropped its marks for node-b', async () => node3.bitmapFor('node-b').countSet() === 0, 10000);
    c.events.length = 0;
    await handOver(c, 'node-a', 'node-b');
    await b.io().write(0, pattern(5, 4096), false);
    await b.io().flush();
    expect(c.events.filter((e) => e.type === 'replica.resync.started')).to.deep.equal([]);
    await sameImages(c, 'node-a', 'node-b', 'node-c');
  });

  // A clean restart saves the record clean while the entry stays; the next mark must say unclean again first.
  it('a tracking Secondary restarted cleanly, then ended uncleanly after more marks, forgets the entry too', async () => {
    const [a] = await threeNodes(64 * MiB);
    await writesNodeCMisses(a);
    await waitFor('node-b tracks node-c', async () => c.get('node-b').bitmapFor('node-c').countSet() === 8 * 16, 10000);
    await c.stop('node-b');
    const b = await c.start('node-b');
    await established(c, 'node-a', 'node-b');
    expect(bitmapEntry(b.generations, 'node-c')).to.not.equal(undefined);
    for (let i = 0; i < 4; i++) await a.io().write(32 * MiB + i * MiB, pattern(i + 700, 64 * 1024), false);
    await a.io().flush();
    await waitFor('node-b marked the new writes', async () => b.bitmapFor('node-c').countSet() === 12 * 16, 10000);
    await asAfterCrash(() => c.stop('node-b'));
    await a.demote();
    await c.stop('node-a');
    c.events.length = 0;
    const b2 = await c.start('node-b');
    expect(bitmapEntry(b2.generations, 'node-c')).to.equal(undefined);
    await c.start('node-c');
    await established(c, 'node-b', 'node-c');
    expect(resyncOf('node-c')).to.include({ peer: 'node-b', direction: 'SyncTarget', full: true });
    await sameImages(c, 'node-b', 'node-c');
  });

  // A mark can follow its write (one unacknowledged when node-c's link dropped): the record must say unclean
  // before node-b takes any write on a new link while it holds an entry, not only at its first mark.
  it('a tracking Secondary restarted cleanly says unclean again before it takes the Primary\'s writes: a crash right after drops the entry', async () => {
    const [a] = await threeNodes(16 * MiB);
    await writesNodeCMisses(a);
    await waitFor('node-b tracks node-c', async () => c.get('node-b').bitmapFor('node-c').countSet() === 8 * 16, 10000);
    await c.stop('node-b');
    await c.start('node-b');
    await established(c, 'node-a', 'node-b');
    await asAfterCrash(() => c.stop('node-b'));
    const b2 = await c.start('node-b');
    expect(c.logs.filter((l) => l.includes('the last run ended while Secondary without a clean shutdown: the bitmaps for node-c'))).to.have.length(1);
    expect(bitmapEntry(b2.generations, 'node-c')).to.equal(undefined);
  });

  // The split happens while node-b's connect handshake with node-a runs: node-a holds the marks and sends them first.
  it('a peer that splits off during a Secondary\'s connect handshake: the Secondary gets its marks before it follows', async () => {
    const [a, b, nodeC] = await threeNodes();
    const release = holdWrites(nodeC);
    try {
      const w = a.io().write(2 * MiB, pattern(800, 64 * 1024), false).catch(() => {}); // node-b has it, node-c never acknowledges it
      // Applied and acknowledged: its first write waits for node-b's log saves, and a reconnect before then drops it.
      await waitFor('node-b has the write', async () => peerOf(c, 'node-b', 'node-a').writesReceived === 1 && peerOf(c, 'node-a', 'node-b').status().pending === 0, 10000);
      const freeze = b.freezeWrites.bind(b);
      b.freezeWrites = async () => { await sleep(1000); return freeze(); }; // node-b's STATE comes a second late
      // What node-b holds for node-c the moment it takes the entry: the marks came first.
      const follow = b.followPrimary.bind(b);
      let bitsWhenTaken: number | null = null;
      b.followPrimary = async (...args) => {
        await follow(...args);
        if (bitsWhenTaken === null && bitmapEntry(b.generations, 'node-c') !== undefined) bitsWhenTaken = b.bitmapFor('node-c').countSet();
      };
      const links = (): number => c.logs.filter((l) => l.startsWith('node-a info db: link to node-b')).length;
      const before = links();
      peerOf(c, 'node-b', 'node-a').reconnect('test: node-b connects again');
      await waitFor('node-a in a new handshake with node-b', async () => links() > before, 10000);
      peerOf(c, 'node-a', 'node-c').disable('test: node-c is cut off'); // its unacknowledged write is marked: a split
      await w;
      await established(c, 'node-a', 'node-b');
      await waitFor('node-b follows node-a', async () => b.generations.current === a.generations.current, 10000);
      expect(bitmapEntry(b.generations, 'node-c')).to.not.equal(undefined);
      expect(a.bitmapFor('node-c').countSet()).to.equal(16);
      // The entry shows as soon as it is taken; the follow ends once its save is done.
      await waitFor('node-b\'s follow done', async () => bitsWhenTaken !== null, 5000);
      expect(bitsWhenTaken).to.equal(16);
      expect(b.bitmapFor('node-c').countSet()).to.equal(16);
    } finally {
      release();
    }
  });
});
