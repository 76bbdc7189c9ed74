// A directory Secondary never counts what a third peer misses (only the Primary marks changes), so it has no count
// for a stale Primary even when it holds a newer Primary's changes: the stale Primary must wait for it, not overwrite
// its tree.
import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirCluster } from './dir-harness.js';

const read = (p: string): Promise<string> => readFile(p, 'utf8').catch(() => '<none>');

describe('replication/files: a stale Primary meets a Secondary that followed a newer Primary', function () {
  this.timeout(90_000);
  let c: DirCluster;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    await c?.destroy();
  });

  it('node-c\'s changes (received live by node-b) survive node-a coming back as Primary', async () => {
    c = await DirCluster.create({ nodes: 3 });
    const a = await c.pair('node-a', 'node-b');
    await c.start('node-c');
    await c.established('node-a', 'node-c');
    await c.established('node-b', 'node-c');
    await mkdir(join(c.tree('node-a'), 'd'), { recursive: true });
    await writeFile(join(c.tree('node-a'), 'd', 'f'), 'v1 from node-a');
    await a.flush();
    await c.until('all have v1', async () => (await read(join(c.tree('node-b'), 'd', 'f'))) === 'v1 from node-a' && (await read(join(c.tree('node-c'), 'd', 'f'))) === 'v1 from node-a');
    await new Promise((r) => setTimeout(r, 1500)); // every change acknowledged: none counts as unsent at the cut
    // node-a "stalls": cut off from both, still Primary, writes nothing.
    await a.disconnect();
    await c.until('b and c see a gone', () => c.get('node-b').status().peers.find((p) => p.name === 'node-a')?.connected === false
      && c.get('node-c').status().peers.find((p) => p.name === 'node-a')?.connected === false);
    // node-c takes over and changes the file; node-b follows live.
    await c.get('node-c').promote(false);
    await writeFile(join(c.tree('node-c'), 'd', 'f'), 'v2 from node-c');
    await c.get('node-c').flush();
    await c.until('node-b has v2', async () => (await read(join(c.tree('node-b'), 'd', 'f'))) === 'v2 from node-c');
    // node-c dies; node-a comes back.
    await c.stop('node-c');
    a.connect();
    await c.until('node-a and node-b decided', () => {
      const r = a.status().peers.find((p) => p.name === 'node-b')?.replication;
      return r !== undefined && r !== 'Off';
    });
    await new Promise((r) => setTimeout(r, 2000));
    expect(await read(join(c.tree('node-b'), 'd', 'f')), 'node-b keeps the newer change').to.equal('v2 from node-c');
  });
});
