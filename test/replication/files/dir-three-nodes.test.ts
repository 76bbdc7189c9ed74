// Three directory volumes in process: a node that comes back takes its
// changes from one source at a time (the Primary), never from a Secondary
// beside it, and all three trees end identical.
import { expect } from 'chai';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirReceiver } from '../../../lib/replication/files/receiver.js';
import { DirCluster, rsyncDiff } from './dir-harness.js';

const read = (p: string): Promise<string> => readFile(p, 'utf8').catch(() => '<none>');
// A slow disk on one node for one peer's changes, in process: the receiver's apply step waits for `gate` (a test double; lib/ is untouched).
type Apply = (...a: unknown[]) => Promise<void>;
const proto = DirReceiver.prototype as unknown as Record<'whole' | 'applyOp', Apply>;
function holdApplies(step: 'whole' | 'applyOp', root: string, from: string, gate: Promise<void>): () => void {
  const orig = proto[step];
  proto[step] = async function (this: { root: string; link: { peer: { node: string } | null } }, ...args: unknown[]) {
    if (this.root === root && this.link.peer?.node === from) await gate;
    return orig.apply(this, args);
  };
  return () => { proto[step] = orig; };
}

describe('replication/files: three directory volumes (in process, loopback)', function () {
  this.timeout(90_000);
  let c: DirCluster;
  let restore: (() => void) | null = null;
  afterEach(async function () {
    restore?.();
    restore = null;
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

  // Three nodes in step, node-a Primary (protocol A, so a demote does not wait for node-c's backlog).
  async function trio(): Promise<void> {
    c = await DirCluster.create({ nodes: 3, protocol: 'A', timeoutMs: 30_000 });
    await c.pair('node-a', 'node-b');
    await c.start('node-c');
    await c.established('node-a', 'node-c');
    await c.established('node-b', 'node-c');
  }

  for (const [what, step, cut] of [['a write', 'whole', false], ['a delete', 'applyOp', false], ['a delete', 'applyOp', true]] as const) {
    it(`${what} of a demoted Primary still being applied${cut ? ' when its link closed' : ''} lands before the new Primary's change of the same file`, async () => {
      await trio();
      const [a, b] = [c.get('node-a'), c.get('node-b')];
      const treeC = c.tree('node-c');
      if (step === 'applyOp') {
        await writeFile(join(c.tree('node-a'), 'x'), 'A0');
        await a.flush();
        await c.until('node-c has A0', async () => (await read(join(treeC, 'x'))) === 'A0');
      }
      let release!: () => void;
      restore = holdApplies(step, treeC, 'node-a', new Promise<void>((r) => { release = r; }));
      if (step === 'whole') await writeFile(join(c.tree('node-a'), 'x'), 'A1');
      else await rm(join(c.tree('node-a'), 'x'));
      await a.flush();
      const goal = step === 'whole' ? 'A1' : '<none>';
      await c.until('node-b has node-a\'s change', async () => (await read(join(c.tree('node-b'), 'x'))) === goal);
      if (cut) c.get('node-c').peers.get('node-a')?.disable('test: node-a out of reach', true);
      await a.demote();
      await b.promote(false);
      await writeFile(join(c.tree('node-b'), 'x'), 'B2');
      const flushed = b.flush(); // waits for node-c, whose change from node-b waits for node-a's
      await new Promise((r) => setTimeout(r, 500));
      release();
      await flushed;
      await c.until('node-c has B2', async () => (await read(join(treeC, 'x'))) === 'B2');
      await new Promise((r) => setTimeout(r, 300)); // a late change of node-a's would land now
      expect(await read(join(treeC, 'x'))).to.equal('B2');
      expect(await rsyncDiff(c.tree('node-b'), treeC)).to.equal('');
    });
  }
});
