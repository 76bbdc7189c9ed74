import { expect } from 'chai';
import { chmod, mkdir, rename, rm, symlink, writeFile, appendFile, truncate, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirCluster, rsyncDiff } from './dir-harness.js';
import { Workload } from './workload.js';

describe('replication/files: directory volume pair (in process, loopback)', function () {
  this.timeout(60_000);
  let c: DirCluster;
  afterEach(async () => { await c?.destroy(); });

  it('replicates creates, writes, appends, truncates, renames, deletes, chmods and symlinks; the trees end identical', async () => {
    c = await DirCluster.create();
    const a = await c.pair();
    const t = c.tree('node-a');
    await mkdir(join(t, 'd1/d2'), { recursive: true });
    await writeFile(join(t, 'd1/f1'), 'one');
    await writeFile(join(t, 'd1/d2/f2'), Buffer.alloc(300_000, 7));
    await appendFile(join(t, 'd1/f1'), ' more');
    await writeFile(join(t, 'gone'), 'x');
    await symlink('d1/f1', join(t, 'link'));
    await a.flush();
    await truncate(join(t, 'd1/d2/f2'), 1000);
    await rename(join(t, 'd1/f1'), join(t, 'renamed'));
    await rm(join(t, 'gone'));
    await chmod(join(t, 'renamed'), 0o600);
    await a.flush();
    expect(await rsyncDiff(t, c.tree('node-b'))).to.equal('');
    expect(await readFile(join(c.tree('node-b'), 'renamed'), 'utf8')).to.equal('one more');
  });

  it('a randomized workload (2000 small files, large ones, 1500 random ops) ends in identical trees, checked by rsync -c', async () => {
    c = await DirCluster.create();
    const a = await c.pair();
    const w = new Workload(c.tree('node-a'), { seed: 4, smallFiles: 2000, largeFiles: 3, ops: 1500 });
    await w.run();
    await a.flush();
    expect(await rsyncDiff(c.tree('node-a'), c.tree('node-b'))).to.equal('');
    const st = a.status().peers[0];
    expect(st?.pending_files).to.equal(0);
    expect(st?.files_sent).to.be.greaterThan(2000);
    expect(c.logs.filter((l) => / (warn|error) /.test(l))).to.deep.equal([]);
  });

  it('a partition healed over and over during the workload, and a Secondary restarted mid-stream, still end identical', async () => {
    c = await DirCluster.create();
    const a = await c.pair();
    const w = new Workload(c.tree('node-a'), { seed: 9, smallFiles: 300, largeFiles: 2, ops: 0 });
    await w.run();
    for (let round = 0; round < 6; round++) {
      const b = c.get('node-b');
      if (round === 3) {
        await c.stop('node-b'); // restart mid-stream: whatever was in flight is compared again at connect
        for (let i = 0; i < 100; i++) await w.step();
        await c.start('node-b');
      } else {
        for (let i = 0; i < 100; i++) await w.step();
        await b.disconnect();
        for (let i = 0; i < 100; i++) await w.step();
        b.connect();
      }
      await c.established('node-a', 'node-b');
    }
    await a.flush();
    expect(await rsyncDiff(c.tree('node-a'), c.tree('node-b'))).to.equal('');
    expect(a.status().peers[0]?.disconnects).to.be.at.least(6);
  });

  it('a large file changed in a few places while the peer was away sends the changed blocks, not the whole file', async () => {
    c = await DirCluster.create();
    const a = await c.pair();
    const big = join(c.tree('node-a'), 'big.bin');
    const content = Buffer.alloc(16 << 20);
    for (let i = 0; i < content.length; i += 4096) content.writeUInt32LE(i, i);
    await writeFile(big, content);
    await a.flush();
    const b = c.get('node-b');
    await b.disconnect();
    const fh = await (await import('node:fs/promises')).open(big, 'r+');
    for (const at of [100, 5 << 20, 12 << 20]) await fh.write(Buffer.from('changed'), 0, 7, at);
    await fh.close();
    const before = a.status().peers[0]?.bytes_sent ?? 0;
    b.connect();
    await c.established('node-a', 'node-b');
    await a.flush();
    expect(await rsyncDiff(c.tree('node-a'), c.tree('node-b'))).to.equal('');
    const sent = (a.status().peers[0]?.bytes_sent ?? 0) - before;
    // Three 64 KiB blocks plus the manifest exchange and framing, far below the 16 MiB file.
    expect(sent).to.be.below(1 << 20);
  });

  it('a hot file written 300 times in a burst arrives with its final content, in far fewer sends', async () => {
    c = await DirCluster.create({ settleMs: 50 });
    const a = await c.pair();
    const hot = join(c.tree('node-a'), 'hot');
    for (let i = 0; i < 300; i++) await writeFile(hot, `version ${i}\n`.repeat(1 + (i % 50)));
    await a.flush();
    expect(await readFile(join(c.tree('node-b'), 'hot'), 'utf8')).to.equal('version 299\n'.repeat(1 + (299 % 50)));
    expect(a.status().peers[0]?.files_sent).to.be.below(100);
  });

  it('a reader on the Secondary never sees a half-written file while the Primary rewrites it', async () => {
    c = await DirCluster.create({ settleMs: 5 });
    const a = await c.pair();
    const size = 512 * 1024;
    const src = join(c.tree('node-a'), 'doc');
    const dst = join(c.tree('node-b'), 'doc');
    await writeFile(src, Buffer.alloc(size, 0));
    await a.flush();
    let stop = false;
    const bad: string[] = [];
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        const b = await readFile(dst);
        reads++;
        // Every version is one byte value throughout: a mix of two would be a torn file.
        if (b.length !== size || b.some((x) => x !== b[0])) bad.push(`read ${reads}: ${b.length} bytes, first ${b[0]}`);
      }
    })();
    // The application replaces the file atomically on the Primary (as editors and most services do);
    // one that rewrites in place can be read torn by anyone there, tandem included.
    for (let v = 1; v <= 40; v++) {
      await writeFile(`${src}.new`, Buffer.alloc(size, v));
      await rename(`${src}.new`, src);
      await new Promise((r) => setTimeout(r, 10));
    }
    await a.flush();
    stop = true;
    await reader;
    expect(bad).to.deep.equal([]);
    expect(reads).to.be.greaterThan(10);
    expect((await readFile(dst))[0]).to.equal(40);
  });

  it('excluded paths are neither sent nor deleted on the Secondary', async () => {
    c = await DirCluster.create({ exclude: ['*.tmp', 'cache/**'] });
    const a = await c.pair();
    await mkdir(join(c.tree('node-b'), 'cache'), { recursive: true });
    await writeFile(join(c.tree('node-b'), 'cache/local'), 'b keeps this');
    await mkdir(join(c.tree('node-a'), 'cache'), { recursive: true });
    await writeFile(join(c.tree('node-a'), 'cache/x'), 'not replicated');
    await writeFile(join(c.tree('node-a'), 'a.tmp'), 'not replicated');
    await writeFile(join(c.tree('node-a'), 'kept'), 'replicated');
    await a.flush();
    expect(await readFile(join(c.tree('node-b'), 'kept'), 'utf8')).to.equal('replicated');
    expect(await readFile(join(c.tree('node-b'), 'cache/local'), 'utf8')).to.equal('b keeps this');
    expect(await rsyncDiff(c.tree('node-a'), c.tree('node-b'), ['*.tmp', 'cache/**'])).to.equal('');
    await expectMissing(join(c.tree('node-b'), 'a.tmp'));
    await expectMissing(join(c.tree('node-b'), 'cache/x'));
  });

  it('a local change on the Secondary is reported as divergence, and the next compare replaces it', async () => {
    c = await DirCluster.create();
    const a = await c.pair();
    await writeFile(join(c.tree('node-a'), 'f'), 'primary');
    await a.flush();
    await writeFile(join(c.tree('node-b'), 'f'), 'edited on the secondary');
    await c.until('divergence reported', () => c.get('node-b').status().divergence.count === 1);
    expect(c.events.some((e) => e.node === 'node-b' && e.type === 'replica.divergence' && e.fields.path === 'f')).to.equal(true);
    a.verify();
    await c.until('the Primary copy back', async () => (await readFile(join(c.tree('node-b'), 'f'), 'utf8')) === 'primary');
    expect(await rsyncDiff(c.tree('node-a'), c.tree('node-b'))).to.equal('');
  });

  it('both Secondaries promoted at once while connected: exactly one becomes Primary, the other is refused, the link stays', async () => {
    c = await DirCluster.create();
    const a = await c.pair();
    const b = c.get('node-b');
    await a.demote();
    await c.until('both see a Secondary peer', () => a.status().peers[0]?.role === 'Secondary' && b.status().peers[0]?.role === 'Secondary');
    const drops = a.status().peers[0]?.disconnects;
    const results = await Promise.allSettled([b.promote(false), a.promote(false)]);
    expect(results.map((r) => r.status), 'node-a sorts first and wins, whoever asked first').to.deep.equal(['rejected', 'fulfilled']);
    const why = results[0]?.status === 'rejected' ? (results[0].reason as Error).message : '';
    expect(why).to.match(/node-a refuses: node-a is becoming Primary itself|node-a is becoming Primary/);
    expect([a.role, b.role]).to.deep.equal(['Primary', 'Secondary']);
    await c.until('node-b sees node-a Primary', () => b.status().peers[0]?.role === 'Primary');
    expect(a.status().peers[0]?.disconnects, 'the link never dropped').to.equal(drops);
    await writeFile(join(c.tree('node-a'), 'after'), 'one Primary');
    await a.flush();
    expect(await readFile(join(c.tree('node-b'), 'after'), 'utf8')).to.equal('one Primary');
  });

  it('a split brain (both promoted while apart, both changed) is detected and not merged; discard-my-data resolves it', async () => {
    c = await DirCluster.create();
    const a = await c.pair();
    const b = c.get('node-b');
    // Connected, nothing waits to be resolved: refused, so it cannot stay armed for a later split brain.
    expect(() => b.discardMyData()).to.throw(/every peer is connected/);
    await b.disconnect();
    await a.disconnect();
    b.discardMyData();
    expect(b.status().peers[0]?.discard_my_data).to.equal(true);
    await b.disconnect();
    await b.promote(false);
    expect(b.status().peers[0]?.discard_my_data, 'a promotion drops it').to.equal(false);
    await writeFile(join(c.tree('node-a'), 'from-a'), 'a');
    await writeFile(join(c.tree('node-b'), 'from-b'), 'b');
    await c.until('changes counted', () => a.status().generations.current !== b.status().generations.current && (a.status().peers[0]?.pending_files ?? 0) > 0 && (b.status().peers[0]?.pending_files ?? 0) > 0);
    await b.demote();
    a.connect();
    b.connect();
    await c.until('split brain on both', () => a.status().peers[0]?.split_brain === true && b.status().peers[0]?.split_brain === true);
    expect(c.logs.some((l) => l.includes('Split-Brain detected'))).to.equal(true);
    await expectMissing(join(c.tree('node-b'), 'from-a'));
    await expectMissing(join(c.tree('node-a'), 'from-b'));
    b.discardMyData();
    a.connect();
    await c.established('node-a', 'node-b');
    await a.flush();
    expect(await rsyncDiff(c.tree('node-a'), c.tree('node-b'))).to.equal('');
    await expectMissing(join(c.tree('node-b'), 'from-b'));
  });
});

async function expectMissing(p: string): Promise<void> {
  const { lstat } = await import('node:fs/promises');
  expect(await lstat(p).then(() => 'exists', () => 'missing'), p).to.equal('missing');
}
