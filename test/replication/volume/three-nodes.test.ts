// Three replicated volumes in one process over loopback TCP: writes reach
// every Secondary, a node that was away catches up from whichever peer it
// meets, and a node takes data from one source at a time.
import { expect } from 'chai';
import { open } from 'node:fs/promises';
import type { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';
import { waitFor } from '../../helpers/env.js';
import { rng } from '../../helpers/random.js';
import { away as awayFrom, established, handOver, meshOfThree, MiB, pattern, peerOf, sameImages, slowResyncWrites } from './pair-checks.js';
import { Cluster } from './pair-harness.js';

describe('replicated volume, three nodes (in process over loopback)', function () {
  this.timeout(90000);
  let c: Cluster;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    if (c) await c.destroy();
  });

  async function threeNodes(size?: number): Promise<[ReplicatedVolume, ReplicatedVolume, ReplicatedVolume]> {
    c = await Cluster.create({ nodes: 3, ...(size === undefined ? {} : { size }) });
    return meshOfThree(c);
  }

  const away = (name: string): Promise<void> => awayFrom(c, name);

  it('writes reach both Secondaries', async () => {
    const [a] = await threeNodes();
    const io = a.io();
    await Promise.all(Array.from({ length: 32 }, (_, i) => io.write(i * 65536, pattern(i + 50, 65536), i % 3 === 0)));
    await io.flush();
    await sameImages(c, 'node-a', 'node-b', 'node-c');
  });

  it('a Secondary that missed writes while away catches up from the other Secondary by bitmap: that one tracked what it missed', async () => {
    const [a] = await threeNodes();
    await away('node-c');
    // node-a starts a generation (node-c misses writes); node-b follows it and receives every write.
    for (let i = 0; i < 8; i++) await a.io().write(i * MiB, pattern(i + 90, 64 * 1024), false);
    await a.io().flush();
    await c.stop('node-a');
    c.events.length = 0;
    await c.start('node-c');
    await waitFor('node-c resynced from node-b', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-c'), 20000);
    const run = c.events.find((e) => e.type === 'replica.resync.started' && e.node === 'node-c');
    // Before PEER_OUT_OF_SYNC node-b tracked nothing for node-c, and this was the whole volume.
    expect(run?.fields).to.include({ direction: 'SyncTarget', full: false, bytes: 8 * 64 * 1024 });
    await established(c, 'node-b', 'node-c');
    await sameImages(c, 'node-b', 'node-c');
  });

  it('a former Primary that tracked an absent peer, then took a new Primary\'s writes, brings that peer all of them', async () => {
    const [a, b] = await threeNodes();
    await away('node-c');
    await a.io().write(0, pattern(70, 64 * 1024), false); // tracked by node-a for node-c
    await a.demote();
    await waitFor('node-b sees node-a Secondary', async () => b.peers.get('node-a')?.peerRole === 'Secondary', 10000);
    await b.promote(false);
    for (let i = 1; i < 8; i++) await b.io().write(i * MiB, pattern(i + 70, 64 * 1024), false); // node-a tracks none of these
    await b.io().flush();
    await established(c, 'node-a', 'node-b');
    await sameImages(c, 'node-a', 'node-b');
    await c.stop('node-b');
    c.events.length = 0;
    await c.start('node-c');
    await waitFor('node-c resynced from node-a', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-c'), 20000);
    await established(c, 'node-a', 'node-c');
    await sameImages(c, 'node-a', 'node-c');
  });

  // The defect this guards against: node-c, SyncTarget of the Primary, also took a resync from node-b,
  // which lagged behind; blocks from node-b landed after newer ones from node-a, and node-c ended
  // UpToDate with stale data. One source at a time: the second waits (PausedSyncT) and decides again.
  it('a node resyncing from the Primary takes no second resync from a lagging Secondary meanwhile: all images end equal', async () => {
    const [a, b] = await threeNodes(32 * MiB);
    await away('node-c');
    for (let i = 0; i < 32; i++) await a.io().write(i * MiB, pattern(i + 10, 256 * 1024), false);
    await b.disconnect(); // node-b lags behind too
    await waitFor('node-b gone', async () => !a.peers.get('node-b')?.connected, 10000);
    let writing = true;
    let n = 0;
    const r = rng(7);
    const load = (async () => {
      while (writing) {
        await a.io().write(Math.floor(r() * (32 * MiB / 4096)) * 4096, pattern(1000 + n++, 4096), false);
        await new Promise((res) => setImmediate(res)); // with no peer connected a write completes in microtasks
      }
    })();
    try {
      c.events.length = 0;
      const undo = slowResyncWrites(await c.start('node-c'), 200); // still SyncTarget of node-a when node-b connects
      await waitFor('node-c SyncTarget of node-a', async () => c.events.some((e) => e.type === 'replica.resync.started' && e.node === 'node-c' && e.fields.peer === 'node-a'), 20000);
      b.connect();
      await waitFor('the resync from node-b waits', async () => c.logs.some((l) => l.startsWith('node-c info db: the resync (node-b is SyncSource')
        && l.endsWith('waits: node-c is SyncTarget of node-a (one source at a time)')), 20000);
      undo();
      await waitFor('node-c UpToDate and Established with both', async () => c.get('node-c').diskState === 'UpToDate'
        && peerOf(c, 'node-c', 'node-a')?.replication === 'Established' && peerOf(c, 'node-c', 'node-b')?.replication === 'Established', 60000);
    } finally {
      writing = false;
      await load;
    }
    await a.io().flush();
    await established(c, 'node-a', 'node-b');
    await established(c, 'node-a', 'node-c');
    await established(c, 'node-b', 'node-c');
    await sameImages(c, 'node-a', 'node-b', 'node-c');
    expect(n).to.be.above(0);
  });

  it('a Secondary that takes the Primary\'s writes sources no resync: a node back from away gets only what it missed, from the Primary', async () => {
    const [a] = await threeNodes();
    await away('node-b');
    for (let i = 0; i < 8; i++) await a.io().write(i * MiB, pattern(i + 30, 64 * 1024), false);
    await a.io().flush();
    c.events.length = 0;
    await c.start('node-b');
    await established(c, 'node-a', 'node-b');
    await established(c, 'node-b', 'node-c');
    // Before one-source.ts node-c, which tracked nothing for node-b, also sent it the whole volume.
    const runs = c.events.filter((e) => e.type === 'replica.resync.started' && e.node === 'node-b').map((e) => e.fields);
    expect(runs).to.deep.equal([{ volume: 'db', peer: 'node-a', direction: 'SyncTarget', full: false, bytes: 8 * 64 * 1024 }]);
    await sameImages(c, 'node-a', 'node-b', 'node-c');
  });

  it('a Secondary promoted while its peer is SyncSource of a third node: that peer takes the new Primary\'s writes after the resync (paused until then), by bitmap', async () => {
    const [a, , node3] = await threeNodes(64 * MiB);
    await away('node-b');
    for (let i = 0; i < 64; i++) await a.io().write(i * MiB, pattern(i + 500, 512 * 1024), false);
    await a.io().flush();
    await a.demote();
    await waitFor('node-c sees node-a Secondary', async () => node3.peers.get('node-a')?.peerRole === 'Secondary', 10000);
    node3.peers.get('node-b')?.disable('test: node-c keeps away from node-b'); // node-b resyncs from node-a alone
    c.events.length = 0;
    const undo = slowResyncWrites(await c.start('node-b'), 200); // the resync outlasts the promotion
    await waitFor('node-b SyncTarget of node-a', async () => c.events.some((e) => e.type === 'replica.resync.started' && e.node === 'node-b'), 20000);
    await node3.promote(false);
    for (let i = 0; i < 16; i++) await node3.io().write(i * MiB + 768 * 1024, pattern(i + 900, 64 * 1024), false);
    await node3.io().flush();
    expect(c.logs).to.include('node-a info db: node-c became Primary while node-a is SyncSource of node-b: connecting to node-c again');
    undo();
    await established(c, 'node-a', 'node-b');
    await established(c, 'node-a', 'node-c');
    const caughtUp = c.events.find((e) => e.type === 'replica.resync.started' && e.node === 'node-a' && e.fields.peer === 'node-c');
    expect(caughtUp?.fields).to.include({ direction: 'SyncTarget', full: false });
    node3.connect();
    await established(c, 'node-b', 'node-c');
    // node-b took node-a's generation, which node-c's bitmap entry for node-b (the one before) does not name: a full sync, safe.
    const fromPrimary = c.events.find((e) => e.type === 'replica.resync.started' && e.node === 'node-b' && e.fields.peer === 'node-c');
    expect(fromPrimary?.fields).to.include({ direction: 'SyncTarget', full: true });
    await sameImages(c, 'node-c', 'node-a', 'node-b');
  });
  // Protocol C answers a write once every peer has it, but a write in flight when the Primary dies can reach one
  // Secondary and not the other. Both stay UpToDate at one generation: nothing else would ever resync that block.
  it('Secondaries that lose their Primary resync its last extents from the next Primary: a block that differs between them does not stay', async () => {
    const [a, b] = await threeNodes(32 * MiB);
    for (let i = 0; i < 4; i++) await a.io().write(i * MiB, pattern(i + 60, 64 * 1024), false);
    await a.io().flush();
    const fh = await open(c.config('node-c').device, 'r+'); // node-c applied a write node-b never got
    await fh.write(Buffer.alloc(4096, 0xc3), 0, 4096, 2 * MiB);
    await fh.close();
    c.events.length = 0;
    await a.disconnect(); // the Secondaries lose their Primary without a word
    await waitFor('both marked its last extent', async () => c.logs.filter((l) => l.includes('db: Primary node-a lost: the 1 extent(s)')).length === 2, 10000);
    await c.stop('node-a');
    await b.promote(false);
    await waitFor('node-c resynced from node-b', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-c'), 20000);
    await established(c, 'node-b', 'node-c');
    await sameImages(c, 'node-b', 'node-c');
    const run = c.events.find((e) => e.type === 'replica.resync.started' && e.node === 'node-c');
    expect(run?.fields).to.include({ peer: 'node-b', direction: 'SyncTarget', full: false, bytes: 4 * MiB }); // one extent, not the volume
  });
  it('a Secondary that restarts after losing its Primary still counts that Primary\'s marks as no change of its own (the metadata keeps them)', async () => {
    const [a] = await threeNodes(32 * MiB);
    for (let i = 0; i < 4; i++) await a.io().write(i * MiB, pattern(i + 70, 64 * 1024), false);
    await a.io().flush();
    await a.disconnect();
    await waitFor('both marked its last extent', async () => c.logs.filter((l) => l.includes('db: Primary node-a lost: the 1 extent(s)')).length === 2, 10000);
    await c.stop('node-a');
    const before = c.get('node-c').stateFor('node-b');
    expect(before).to.include({ changedBlocks: 1024, lostPrimaryBlocks: 1024 }); // one 4 MiB extent of 4 KiB blocks
    await c.stop('node-c');
    const again = await c.start('node-c');
    // Before, the marks lived in memory: after the restart they counted as 1024 changes of node-c's own.
    expect(again.stateFor('node-b')).to.include({ changedBlocks: 1024, lostPrimaryBlocks: 1024 });
  });

  it('after a lost Primary, marks on the other Secondary alone suffice: the next Primary, with none, is still the source', async () => {
    const [a] = await threeNodes(32 * MiB);
    for (let i = 0; i < 4; i++) await a.io().write(i * MiB, pattern(i + 80, 64 * 1024), false);
    await a.io().flush();
    await c.stop('node-b'); // node-b restarts: it remembers no extent of node-a's
    const b = await c.start('node-b');
    await established(c, 'node-a', 'node-b');
    const fh = await open(c.config('node-c').device, 'r+'); // node-c applied a write node-b never got
    await fh.write(Buffer.alloc(4096, 0xc4), 0, 4096, MiB);
    await fh.close();
    c.events.length = 0;
    await a.disconnect();
    await waitFor('node-c marked the extent', async () => c.logs.some((l) => l.startsWith('node-c info db: Primary node-a lost: the 1 extent(s)')), 10000);
    expect(c.logs.some((l) => l.startsWith('node-b info db: Primary node-a lost'))).to.equal(false);
    await c.stop('node-a');
    await b.promote(false);
    await waitFor('node-c resynced from node-b', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-c'), 20000);
    await established(c, 'node-b', 'node-c');
    await sameImages(c, 'node-b', 'node-c');
    expect(c.logs.some((l) => l.includes('node-b is Primary, its copy wins'))).to.equal(true);
  });

  it('after an invalidate\'s full sync from the Primary, a Secondary holds no bits for the other Secondary: two handovers later nothing has resynced', async () => {
    const [a, , node3] = await threeNodes(32 * MiB);
    for (let i = 0; i < 4; i++) await a.io().write(i * MiB, pattern(i + 80, 64 * 1024), false);
    await a.io().flush();
    await node3.invalidate(); // every bit set, for node-b too
    await waitFor('node-c UpToDate', async () => node3.diskState === 'UpToDate', 20000);
    await established(c, 'node-a', 'node-c');
    await established(c, 'node-b', 'node-c');
    await waitFor('node-c dropped its bits for node-b', async () => node3.bitmapFor('node-b').countSet() === 0, 10000);
    c.events.length = 0;
    const b = await handOver(c, 'node-a', 'node-b');
    await b.io().write(0, pattern(5, 4096), false);
    await b.io().flush();
    // Before, node-c's bits for node-b (all of them) made this a full resync from node-b, and the promotion was refused.
    await handOver(c, 'node-b', 'node-c');
    await node3.io().write(4096, pattern(6, 4096), false);
    await node3.io().flush();
    expect(c.events.filter((e) => e.type === 'replica.resync.started')).to.deep.equal([]);
    await sameImages(c, 'node-a', 'node-b', 'node-c');
  });
});
