// Three directory volumes in process: a node that comes back takes its
// changes from one source at a time (the Primary), never from a Secondary
// beside it, and all three trees end identical.
import { expect } from 'chai';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DirPeerStatus } from '../../../lib/replication/files/dir-status.js';
import type { DirectoryVolume } from '../../../lib/replication/files/dir-volume.js';
import { DirReceiver } from '../../../lib/replication/files/receiver.js';
import type { HandlerExit } from '../../../lib/replication/fencing.js';
import { DirCluster, rsyncDiff } from './dir-harness.js';

const read = (p: string): Promise<string> => readFile(p, 'utf8').catch(() => '<none>');
// A slow disk on one node for one peer's changes, in process: the receiver's apply step waits for `gate` (a test double; lib/ is untouched).
type Apply = (...a: unknown[]) => Promise<void>;
const proto = DirReceiver.prototype as unknown as Record<'whole' | 'applyOp', Apply>;
function holdApplies(step: 'whole' | 'applyOp', root: string, from: string | readonly string[], gate: Promise<void>): () => void {
  const orig = proto[step];
  const sources = typeof from === 'string' ? [from] : from;
  proto[step] = async function (this: { root: string; link: { peer: { node: string } | null } }, ...args: unknown[]) {
    if (this.root === root && sources.includes(this.link.peer?.node ?? '')) await gate;
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

  // What node `n` shows of its peer `p`.
  const link = (n: string, p: string): DirPeerStatus | undefined => c.get(n).status().peers.find((x) => x.name === p);

  // Three in step with node-a Primary; then node-b is away while node-a changes 200 files (node-c follows).
  async function bBehind(): Promise<DirectoryVolume> {
    const a = await c.pair('node-a', 'node-b');
    await c.start('node-c');
    await c.established('node-a', 'node-c');
    await c.established('node-b', 'node-c');
    await c.stop('node-b');
    await fill(c.tree('node-a'), 200, 'v1');
    await a.flush();
    return a;
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
    // The link stays up and says why it waits, on both sides, as a block volume's does (no close and redial).
    await c.until('paused on both sides', () => link('node-c', 'node-b')?.replication === 'PausedSyncT' && link('node-b', 'node-c')?.replication === 'PausedSyncS');
    const drops = link('node-c', 'node-b')?.disconnects;
    await new Promise((r) => setTimeout(r, 2000)); // a closed link would have been dialed again several times (backoff from 100 ms)
    expect(link('node-c', 'node-b')).to.include({ connection: 'Connected', replication: 'PausedSyncT', disconnects: drops })
      .and.to.have.property('resync_suspended').that.includes('node-b takes node-a\'s writes (Primary)');
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
  it('resource-only: a Primary paused beside a resync between Secondaries runs no fence handler while it waits, one at the first change its peer misses, then syncs it', async () => {
    c = await DirCluster.create({ nodes: 3, fencing: 'resource-only' });
    const fenced: string[] = [];
    // Exit 4 ("outdated") without outdating anything: a handler that fails to outdate would be run at every close.
    c.fenceRunners.set('node-a', (_cmd, env) => {
      fenced.push(env['TANDEM_PEER'] as string);
      const r: HandlerExit & { output: string } = { exitCode: 4, signal: null, timedOut: false, startError: null, output: '' };
      return Promise.resolve(r);
    });
    // node-b falls behind; then node-a loses node-c too, and node-c (UpToDate) becomes node-b's SyncSource.
    const a = await bBehind();
    a.peers.get('node-c')?.disable('test: node-c out of reach', true);
    await c.until('node-a lost node-c', () => a.status().peers.find((p) => p.name === 'node-c')?.connection === 'StandAlone');
    let release!: () => void;
    restore = holdApplies('whole', c.tree('node-b'), 'node-c', new Promise<void>((r) => { release = r; }));
    await c.start('node-b');
    await c.until('node-c is SyncSource of node-b', () => link('node-c', 'node-b')?.replication === 'SyncSource');
    a.connect();
    await c.until('node-a waits for node-c', () => link('node-a', 'node-c')?.replication === 'PausedSyncS');
    const before = fenced.length;
    await new Promise((r) => setTimeout(r, 2000));
    expect(link('node-a', 'node-c')).to.include({ connection: 'Connected', replication: 'PausedSyncS' })
      .and.to.have.property('resync_suspended').that.includes('node-c is SyncSource of node-b');
    expect(fenced.length - before, 'fence handler runs while paused').to.equal(0);
    // The first change node-c misses starts a generation: that link decides again (a close), so node-c is fenced, once.
    await writeFile(join(c.tree('node-a'), 'during-1'), 'missed by node-c');
    await c.until('node-c fenced', () => fenced.length > before);
    await c.until('paused again', () => link('node-a', 'node-c')?.replication === 'PausedSyncS');
    await writeFile(join(c.tree('node-a'), 'during-2'), 'missed too');
    await new Promise((r) => setTimeout(r, 1000));
    expect(fenced.slice(before)).to.deep.equal(['node-c']);
    release();
    restore();
    restore = null;
    await c.established('node-a', 'node-c');
    await c.established('node-a', 'node-b');
    await fill(c.tree('node-a'), 50, 'v2');
    await a.flush();
    for (const n of ['node-b', 'node-c']) expect(await rsyncDiff(c.tree('node-a'), c.tree(n)), n).to.equal('');
  });

  it('a peer promoted while this node is SyncSource of a third waits paused until that resync ends, then the three end identical', async () => {
    c = await DirCluster.create({ nodes: 3 });
    // node-b falls behind; node-c follows node-a's new generation; then no Primary.
    const a = await bBehind();
    await a.demote();
    let release!: () => void;
    // node-b's resync, from whichever of node-a and node-c decides first, is held until released.
    restore = holdApplies('whole', c.tree('node-b'), ['node-a', 'node-c'], new Promise<void>((r) => { release = r; }));
    await c.start('node-b');
    let source = '';
    await c.until('node-b is SyncTarget of one of them', () => {
      source = ['node-a', 'node-c'].find((n) => link(n, 'node-b')?.replication === 'SyncSource') ?? '';
      return source !== '';
    });
    const other = source === 'node-a' ? 'node-c' : 'node-a';
    expect(link(source, other)?.replication, `${source} and ${other} in step`).to.equal('Established');
    // The one that is not busy becomes Primary: the busy one must not take its changes beside the resync it feeds.
    await c.get(other).promote(false);
    await c.until(`${source} waits for node-b`, () => link(source, other)?.replication === 'PausedSyncT');
    expect(c.logs.some((l) => l.startsWith(`${source} `) && l.includes(`${other} became Primary while ${source} is SyncSource of node-b`))).to.equal(true);
    await writeFile(join(c.tree(other), 'late'), 'from the new Primary');
    release();
    await c.established(other, source);
    await c.established(other, 'node-b');
    await c.get(other).flush();
    for (const n of [source, 'node-b']) expect(await rsyncDiff(c.tree(other), c.tree(n)), n).to.equal('');
  });
});
