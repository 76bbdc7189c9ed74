// A Primary paused for a newer peer keeps refusing writes when the link decides again for a reason other than its
// demotion (here the newer peer starts and ends a resync of a third node, so its feeds change): writes taken in
// between would start a generation of their own, a split brain that discard-secondary resolves by dropping the
// newer peer's writes.
import { expect } from 'chai';
import { waitFor } from '../../helpers/env.js';
import { MiB, pattern } from './pair-checks.js';
import { Cluster } from './pair-harness.js';

describe('replicated volume: a Primary paused for newer data refuses writes across a re-decide (three nodes)', function () {
  this.timeout(90000);
  let c: Cluster;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    if (c) await c.destroy();
  });

  it('no application write lands on node-a between the pause and its demotion', async () => {
    c = await Cluster.create({ nodes: 3, afterSb: { after_sb_1pri: 'discard-secondary' } });
    const a = await c.start('node-a');
    const b = await c.start('node-b');
    await c.start('node-c');
    await waitFor('mesh', async () => [...a.peers.values()].every((p) => p.connected) && [...b.peers.values()].every((p) => p.connected), 10000);
    await a.promote(true);
    await waitFor('in sync', async () => [a, b, c.get('node-c')].every((v) => v.diskState === 'UpToDate') && [...a.peers.values()].every((p) => p.replication === 'Established'), 30000);
    // node-c goes away; node-b is cut off from node-a, is promoted, writes W, demotes.
    await c.stop('node-c');
    await b.disconnect();
    await waitFor('b gone', async () => !a.peers.get('node-b')?.connected, 10000);
    await b.promote(false);
    const W = pattern(42, 1 * MiB);
    await b.io().write(1 * MiB, W, false);
    await b.io().flush();
    await b.demote();
    b.connect();
    await waitFor('node-a paused for node-b', async () => a.peers.get('node-b')?.replication === 'PausedSyncT', 15000);
    const first = await a.io().write(5 * MiB, pattern(7, 4096), false).then(() => null, (e: Error & { code?: string }) => e.code);
    expect(first).to.equal('EIO');
    // node-c comes back, but not to node-a (its link there is down): node-b becomes its SyncSource, then ends.
    a.peers.get('node-c')?.disable('test: node-c out of node-a\'s reach', true);
    let landed = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        if (await a.io().write(5 * MiB, pattern(8, 4096), false).then(() => true, () => false)) landed++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await c.start('node-c');
    await waitFor('node-c synced from node-b', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-c'), 20000);
    await new Promise((r) => setTimeout(r, 1500));
    writing = false;
    await writer;
    expect((await c.image('node-b')).subarray(1 * MiB, 2 * MiB).equals(W), 'node-b keeps its newer data').to.equal(true);
    expect(landed, 'writes taken while node-b\'s newer data waits').to.equal(0);
  });
});
