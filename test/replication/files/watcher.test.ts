// The change capture against the real kernel: every kind of change below the
// root is reported by path, new directories (and what was put in them before
// their watch existed) too, excluded subtrees never, and a removed directory
// is unwatched with its subtree.
import { expect } from 'chai';
import { appendFile, chmod, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileExclude } from '../../../lib/replication/files/exclude.js';
import { TreeWatcher } from '../../../lib/replication/files/watcher.js';
import { waitFor } from '../../helpers/env.js';

describe('replication/files/watcher (inotify, one watch per directory)', function () {
  this.timeout(20_000);
  let root: string;
  let w: TreeWatcher;
  let seen: Set<string>;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tandem-watch-'));
    await mkdir(join(root, 'old/deep'), { recursive: true });
    await mkdir(join(root, 'cache/x'), { recursive: true });
    await writeFile(join(root, 'old/deep/f'), 'x');
    seen = new Set();
    w = new TreeWatcher({ root, exclude: compileExclude(['cache/**', '*.tmp']), onChange: (p) => seen.add(p), onError: (m) => { throw new Error(m); } });
    await w.start();
  });

  afterEach(async () => {
    await w.stop();
    await rm(root, { recursive: true, force: true });
  });

  const saw = (p: string): Promise<boolean> => waitFor(`an event for ${p}`, async () => seen.has(p), 5000);

  it('watches every existing directory but excluded ones', () => {
    expect(w.watchedDirectories).to.equal(3); // root, old, old/deep
  });

  it('create, modify, append, chmod, rename, delete and symlink are reported by path', async () => {
    await writeFile(join(root, 'a'), '1');
    await saw('a');
    seen.clear();
    await appendFile(join(root, 'a'), '2');
    await saw('a');
    seen.clear();
    await chmod(join(root, 'a'), 0o600);
    await saw('a');
    await rename(join(root, 'a'), join(root, 'old/b'));
    await saw('old/b');
    await symlink('old/b', join(root, 'l'));
    await saw('l');
    await rm(join(root, 'old/deep/f'));
    await saw('old/deep/f');
  });

  it('a new directory tree is watched, and entries made before its watch are reported', async () => {
    await mkdir(join(root, 'n1/n2/n3'), { recursive: true });
    await writeFile(join(root, 'n1/n2/n3/early'), 'x');
    await saw('n1/n2/n3/early');
    await waitFor('n1, n2, n3 watched', async () => w.watchedDirectories === 6, 5000);
    await writeFile(join(root, 'n1/n2/n3/late'), 'y');
    await saw('n1/n2/n3/late');
  });

  it('excluded paths are not reported; a removed directory is unwatched with its subtree', async () => {
    await writeFile(join(root, 'cache/x/junk'), 'x');
    await writeFile(join(root, 'z.tmp'), 'x');
    await writeFile(join(root, 'marker'), 'x');
    await saw('marker');
    expect([...seen].filter((p) => p.startsWith('cache') || p.endsWith('.tmp'))).to.deep.equal([]);
    await rm(join(root, 'old'), { recursive: true });
    await saw('old');
    await waitFor('old and old/deep unwatched', async () => w.watchedDirectories === 1, 5000);
  });
});
