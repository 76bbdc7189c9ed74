// Bad input on either side of a directory volume (issue 4 "Bad input"): a full
// disk on the Secondary, names that are not UTF-8, FIFOs. Each is reported
// (status and event), retried when it may succeed later, never crashes the
// volume and never leaves a partial file in place.
import { expect } from 'chai';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { DirCluster, rsyncDiff } from './dir-harness.js';
import { skipOutsideCi } from '../../helpers/env.js';

describe('directory volume: bad input', function () {
  this.timeout(60_000);
  let c: DirCluster;
  let mounted: string | null = null;
  // The volumes stop, then the tmpfs goes, then the tree: rm cannot remove a mount point.
  afterEach(async () => {
    for (const n of [...(c?.volumes.keys() ?? [])]) await c.stop(n);
    if (mounted !== null) await execa('umount', ['-l', mounted]).catch(() => undefined);
    mounted = null;
    await c?.destroy();
  });

  it('a full disk on the Secondary is reported on both sides and retried; no partial file stays; freed space lets it land', async function () {
    if (process.getuid?.() !== 0) skipOutsideCi(this, 'mounting the small tmpfs needs root');
    c = await DirCluster.create();
    mounted = c.tree('node-b');
    await mkdir(mounted, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', mounted]); // the root's own mode is not replicated
    const a = await c.pair();
    const big = join(c.tree('node-a'), 'big');
    await writeFile(big, Buffer.alloc(3 << 20, 1));
    await writeFile(join(c.tree('node-a'), 'small'), 'fits');
    await c.until('ENOSPC reported by the Primary', () => a.status().problems.recent.some((p) => p.path === 'big' && p.code === 'ENOSPC'));
    expect(c.get('node-b').status().problems.recent.some((p) => p.code === 'ENOSPC')).to.equal(true);
    expect(c.events.some((e) => e.type === 'replica.file-problem' && e.fields.code === 'ENOSPC')).to.equal(true);
    // Retries keep coming (with backoff); between two of them no temporary file stays.
    const tree = mounted;
    await c.until('no temporary file left between retries', async () => (await readdir(tree)).every((n) => !n.startsWith('.tandem-tmp-')));
    // A small file lands too (it may have met the full disk while the big one filled it, and be retried).
    await c.until('the small file on b', async () => (await readFile(join(tree, 'small'), 'utf8').catch(() => '')) === 'fits');
    await truncate(big, 100);
    await a.flush();
    expect(await rsyncDiff(c.tree('node-a'), mounted)).to.equal('');
    expect(a.status().peers[0]?.connected, 'the link stayed up').to.equal(true);
  });

  it('a name that is not UTF-8 and a FIFO are reported, not replicated, and the rest flows', async () => {
    c = await DirCluster.create();
    const a = await c.pair();
    const t = c.tree('node-a');
    await writeFile(Buffer.concat([Buffer.from(`${t}/bad-`), Buffer.from([0xff, 0xfe])]), 'x');
    await execa('mkfifo', [join(t, 'pipe')]);
    await writeFile(join(t, 'ok'), 'fine');
    await a.flush();
    expect(await readFile(join(c.tree('node-b'), 'ok'), 'utf8')).to.equal('fine');
    const codes = a.status().problems.recent.map((p) => p.code);
    expect(codes).to.include('BAD_NAME');
    expect(codes).to.include('UNSUPPORTED_TYPE');
    expect((await readdir(c.tree('node-b'))).sort()).to.deep.equal(['ok']);
    await a.flush(); // a second sweep does not report the same problems again
    expect(a.status().problems.recent.filter((p) => p.code === 'BAD_NAME')).to.have.length(1);
  });
});
