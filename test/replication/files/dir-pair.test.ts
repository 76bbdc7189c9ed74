import { expect } from 'chai';
import { chmod, mkdir, rename, rm, symlink, writeFile, appendFile, truncate, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirCluster, rsyncDiff } from './dir-harness.js';

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
});
