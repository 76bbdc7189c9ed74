// A promotion whose NBD export cannot listen is undone (docs/replication.md, "Pieces": volume-export.ts is
// "started by a promotion (which is undone when it cannot listen)"). Undone means as before the promotion:
// the disk state and the generations too, not only the role, as the metadata-failure undo of promote() does.
import { expect } from 'chai';
import { mkdir, rm } from 'node:fs/promises';
import { waitFor } from '../../helpers/env.js';
import { pairInSync, pattern } from './pair-checks.js';
import { Cluster } from './pair-harness.js';

describe('replicated volume: a promotion undone because NBD cannot listen', function () {
  this.timeout(60000);
  let c: Cluster | null = null;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c?.logs.join('\n'));
    if (c) await c.destroy();
    c = null;
  });

  it('a forced promotion of a new (Inconsistent) volume that fails leaves it Inconsistent and fresh', async () => {
    c = await Cluster.create();
    await mkdir(c.config('node-a').nbd.socket as string, { recursive: true }); // a directory where the socket goes
    const a = await c.start('node-a');
    expect(a.diskState).to.equal('Inconsistent');
    const err = await a.promote(true).then(() => null, (x: unknown) => x as Error & { code?: string });
    expect(err?.code).to.equal('NBD_LISTEN');
    expect(a.role).to.equal('Secondary');
    expect(a.diskState, 'the disk state from before the promotion').to.equal('Inconsistent');
    expect(a.generations.fresh, 'no data generation was started by a promotion that did not happen').to.equal(true);
  });

  it('a forced promotion of an Outdated disk that fails leaves it Outdated: no promotion without --force afterwards', async () => {
    c = await Cluster.create();
    const [a, b] = await pairInSync(c);
    await a.io().write(0, pattern(1, 4096), false);
    await c.stop('node-a'); // node-a goes on elsewhere, say; node-b is fenced by hand
    await waitFor('b sees a gone', async () => b.peers.get('node-a')?.connected === false, 10000);
    await b.outdate();
    expect(b.diskState).to.equal('Outdated');
    const socket = c.config('node-b').nbd.socket as string;
    await mkdir(socket, { recursive: true });
    const err = await b.promote(true).then(() => null, (x: unknown) => x as Error & { code?: string });
    expect(err?.code).to.equal('NBD_LISTEN');
    expect(b.role).to.equal('Secondary');
    expect(b.diskState, 'Outdated as before the failed promotion').to.equal('Outdated');
    await rm(socket, { recursive: true, force: true });
    const again = await b.promote(false).then(() => null, (x: unknown) => x as Error & { code?: string });
    expect(again?.code, 'an Outdated disk is not promoted without --force').to.equal('PROMOTE_REFUSED');
  });

  it('a failed promotion while the peer is away starts no generation: a later real Primary on the peer resyncs this node, no split brain', async () => {
    c = await Cluster.create();
    const [a, b] = await pairInSync(c);
    await a.demote();
    await waitFor('both Secondary', async () => a.peers.get('node-b')?.peerRole === 'Secondary' && b.peers.get('node-a')?.peerRole === 'Secondary', 10000);
    await c.disconnect2();
    c.events.length = 0;
    c.logs.length = 0;
    const socket = c.config('node-b').nbd.socket as string;
    await mkdir(socket, { recursive: true });
    const err = await b.promote(false).then(() => null, (x: unknown) => x as Error & { code?: string });
    expect(err?.code).to.equal('NBD_LISTEN');
    expect(b.role).to.equal('Secondary');
    await a.promote(false);
    await a.io().write(0, pattern(2, 4096), false);
    a.connect();
    b.connect();
    await waitFor('node-b SyncTarget or a split brain', async () =>
      c?.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-b') === true || c?.logs.some((l) => l.includes('Split-Brain')) === true, 15000);
    expect(c.logs.filter((l) => l.includes("Split-Brain"))).to.deep.equal([]);
  });
});
