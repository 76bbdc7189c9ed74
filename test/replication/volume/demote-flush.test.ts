// A Primary whose image flush fails as it steps down (fdatasync EIO: Linux marks the pages it could not write
// clean, so the disk may lack acknowledged writes): it becomes Secondary anyway, or no peer could take over,
// and the extents its activity log holds resync from the peer, whose copy wins (as after a Secondary's crash).
import { expect } from 'chai';
import { open } from 'node:fs/promises';
import { waitFor } from '../../helpers/env.js';
import { MiB, pairInSync, pattern, sameImages } from './pair-checks.js';
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
    // The write the failed flush lost, as the disk would show it once the page left the cache.
    const img = await open(c.config('node-a').device, 'r+');
    await img.write(Buffer.alloc(4096, 0), 0, 4096, 1 * MiB);
    await img.close();
    const fh = (a.disk as unknown as { fh: { datasync: () => Promise<void> } }).fh;
    const datasync = fh.datasync.bind(fh);
    fh.datasync = async () => { fh.datasync = datasync; throw new Error('EIO'); };
    c.events.length = 0;
    await a.demote();
    expect(a.role).to.equal('Secondary');
    expect(c.logs.some((l) => l.includes('db: the image flush failed as this node stepped down (EIO): Secondary anyway'))).to.equal(true);
    await waitFor('node-a resynced from node-b', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-a'), 20000);
    await sameImages(c, 'node-a', 'node-b');
    const back = await open(c.config('node-a').device, 'r');
    const { buffer } = await back.read(Buffer.alloc(4096), 0, 4096, 1 * MiB);
    await back.close();
    expect(buffer.equals(pattern(1, 64 * 1024).subarray(0, 4096)), 'the lost write, back from node-b').to.equal(true);
    // The peer may take over now.
    await c.get('node-b')?.promote(false);
    expect(c.get('node-b')?.role).to.equal('Primary');
  });
});
