// A Primary whose image flush fails as it steps down (fdatasync EIO: Linux marks the pages it could not write
// clean, so the disk may lack acknowledged writes): it becomes Secondary anyway, or no peer could take over,
// and the extents its activity log holds resync from the peer, whose copy wins (as after a Secondary's crash).
import { expect } from 'chai';
import { waitFor } from '../../helpers/env.js';
import { failNextImageFlush, MiB, overwriteBlock, pairInSync, pattern, sameImages } from './pair-checks.js';
import { Cluster } from './pair-harness.js';

describe('replicated volume: an image flush that fails at demote', function () {
  this.timeout(90000);
  let c: Cluster;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    if (c) await c.destroy();
  });

  it('the Primary is Secondary anyway, says why, and what its disk lost comes back from the peer', async () => {
    c = await Cluster.create({ size: 16 * MiB });
    const [a] = await pairInSync(c);
    await a.io().write(1 * MiB, pattern(1, 64 * 1024), false);
    await overwriteBlock(c, 'node-a', 1 * MiB, 0); // the write the failed flush lost, once its page left the cache
    failNextImageFlush(a);
    c.events.length = 0;
    await a.demote();
    expect(a.role).to.equal('Secondary');
    expect(c.logs.some((l) => l.includes('db: the image flush failed as this node stepped down (EIO): Secondary anyway'))).to.equal(true);
    await waitFor('node-a resynced from node-b', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-a'), 20000);
    await sameImages(c, 'node-a', 'node-b');
    const back = (await c.image('node-a')).subarray(1 * MiB, 1 * MiB + 4096);
    expect(back.equals(pattern(1, 64 * 1024).subarray(0, 4096)), 'the lost write, back from node-b').to.equal(true);
    // The peer may take over now.
    await c.get('node-b')?.promote(false);
    expect(c.get('node-b')?.role).to.equal('Primary');
  });
});
