import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeDirMeta, encodeDirMeta, freshDirMeta, loadDirMeta, saveDirMeta } from '../../../lib/replication/files/dir-meta.js';
import { onFirstWriteWhileDisconnected, onPromoteWhileDisconnected } from '../../../lib/replication/generations.js';

describe('replication/files/dir-meta', () => {
  it('round-trips a record with generations, disk, role and per-peer change counts', () => {
    const m = freshDirMeta();
    m.generations = onFirstWriteWhileDisconnected(onPromoteWhileDisconnected(m.generations, []), 'node-b');
    m.disk = 'UpToDate';
    m.lastRole = 'Primary';
    m.changed = { 'node-b': 42 };
    m.fenced = new Map([['node-b', 'Outdated']]);
    m.lacking = { count: 3, first: '"big": ENOSPC from node-b' };
    const d = decodeDirMeta(encodeDirMeta(m));
    expect(d.ok && d.meta).to.deep.equal(m);
    // A record from before fencing, or before what a Secondary lacks, was saved: no peer fenced, nothing lacking.
    const old = JSON.parse(encodeDirMeta(m)) as Record<string, unknown>;
    delete old['fencedPeers'];
    delete old['lacking'];
    const o = decodeDirMeta(JSON.stringify(old));
    expect(o.ok && o.meta.fenced.size).to.equal(0);
    expect(o.ok && o.meta.lacking).to.equal(null);
  });

  it('refuses what is not its record, with the reason', () => {
    const good = JSON.parse(encodeDirMeta(freshDirMeta())) as Record<string, unknown>;
    const cases: Array<[unknown, string]> = [
      ['not json', 'not JSON'],
      [{ ...good, format: 'other/1' }, 'not a tandem-directory-volume/1 record'],
      [{ ...good, disk: 'Shiny' }, 'disk or lastRole'],
      [{ ...good, changed: { 'node-b': -1 } }, 'changed.node-b is not a count'],
      [{ ...good, generations: { current: 'x' } }, 'generations:'],
      [{ ...good, fencedPeers: { 'node-b': 'DUnknown' } }, 'fencedPeers.node-b is "DUnknown", not Outdated or Inconsistent'],
      ...[7, 'x', { count: 0, first: 'a' }, { count: 1.5, first: 'a' }, { count: 1 }, { count: 1, first: 'x'.repeat(8193) }].map(
        (lacking): [unknown, string] => [{ ...good, lacking }, 'lacking is not null or { count, first }']),
    ];
    for (const [raw, why] of cases) {
      const d = decodeDirMeta(typeof raw === 'string' ? raw : JSON.stringify(raw));
      expect(d.ok, why).to.equal(false);
      expect(d.ok ? '' : d.reason).to.include(why);
    }
  });

  it('saves by rename (no temporary left) and loads; a missing file is null, a corrupt one an error naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-dirmeta-'));
    try {
      const p = join(dir, 'conf.meta');
      expect(await loadDirMeta(p)).to.equal(null);
      const m = freshDirMeta();
      await saveDirMeta(p, m);
      expect(await loadDirMeta(p)).to.deep.equal(m);
      await expectMissing(`${p}.new`);
      await writeFile(p, (await readFile(p, 'utf8')).slice(0, 20));
      let err: Error | null = null;
      await loadDirMeta(p).catch((e: Error) => { err = e; });
      expect(String(err)).to.include(p);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function expectMissing(p: string): Promise<void> {
  const { lstat } = await import('node:fs/promises');
  expect(await lstat(p).then(() => 'exists', () => 'missing')).to.equal('missing');
}
