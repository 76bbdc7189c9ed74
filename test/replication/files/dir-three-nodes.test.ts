// Three directory volumes in process: a node that comes back takes its
// changes from one source at a time (the Primary), never from a Secondary
// beside it, and all three trees end identical.
import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirCluster, rsyncDiff } from './dir-harness.js';

describe('replication/files: three directory volumes (in process, loopback)', function () {
  this.timeout(90_000);
  let c: DirCluster;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    await c?.destroy();
  });

  // Every file of a tree of `n` files, with `tag` in their content.
  async function fill(root: string, n: number, tag: string): Promise<void> {
    await mkdir(join(root, 'd'), { recursive: true });
    for (let i = 0; i < n; i++) await writeFile(join(root, 'd', `f${i}`), `${tag} ${i}\n`.repeat(50));
  }

  it('a Secondary back from away syncs from the Primary alone: the other Secondary, which takes the Primary\'s changes, is not a second source', async () => {
    c = await DirCluster.create({ nodes: 3 });
    const a = await c.pair('node-a', 'node-b');
    await c.start('node-c');
    await c.established('node-a', 'node-c');
    await c.established('node-b', 'node-c');
    await c.stop('node-c');
    await c.until('node-a sees node-c gone', () => a.status().peers.find((p) => p.name === 'node-c')?.connection !== 'Connected');
    // Changed while node-c is away: node-a starts a new generation, node-b follows it.
    await fill(c.tree('node-a'), 300, 'v1');
    await a.flush();
    const before = c.events.length;
    // node-a does not dial node-c yet: node-b (which dials node-c) decides first, with node-c behind it.
    a.standAlone('node-c');
    await c.start('node-c');
    await c.until('node-b refused to be a second source', () =>
      c.logs.some((l) => l.startsWith('node-c ') && l.includes('waits: node-b takes node-a\'s writes (Primary) and forwards none of it (one source at a time)')));
    a.connect();
    await c.established('node-a', 'node-c');
    await c.established('node-b', 'node-c');
    // More changes once the three are in step: they reach both Secondaries.
    await fill(c.tree('node-a'), 300, 'v2');
    await a.flush();
    for (const n of ['node-b', 'node-c']) expect(await rsyncDiff(c.tree('node-a'), c.tree(n)), n).to.equal('');
    const syncs = c.events.slice(before).filter((e) => e.type === 'replica.resync.started' && e.node === 'node-c');
    expect(syncs.map((e) => [e.fields.peer, e.fields.direction]), 'node-c synced from node-a only').to.deep.equal([['node-a', 'SyncTarget']]);
  });
});
