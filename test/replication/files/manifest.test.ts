import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TandemError } from '../../../lib/errors.js';
import { buildManifest, diffManifests } from '../../../lib/replication/files/manifest.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('replication/files/manifest buildManifest', () => {
  let root: string;
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tandem-manifest-'));
    mkdirSync(join(root, 'a/b/c'), { recursive: true });
    writeFileSync(join(root, 'top.txt'), 'hello');
    writeFileSync(join(root, 'a/b/c/deep.txt'), 'deep');
    writeFileSync(join(root, 'a/big.bin'), big);
    writeFileSync(join(root, 'a/secret'), 's');
    chmodSync(join(root, 'a/secret'), 0o600);
    chmodSync(join(root, 'a/b'), 0o750);
    writeFileSync(join(root, 'a/run.sh'), '#!/bin/sh\n');
    chmodSync(join(root, 'a/run.sh'), 0o4755);
    symlinkSync('b/c/deep.txt', join(root, 'a/inside'));
    symlinkSync('/etc', join(root, 'outside')); // never followed: /etc's files must not appear
    symlinkSync('missing/nowhere', join(root, 'dangling'));
    mkdirSync(join(root, 'cache/x'), { recursive: true });
    writeFileSync(join(root, 'cache/x/blob'), 'cached');
    writeFileSync(join(root, 'a/scratch.tmp'), 'tmp');
    writeFileSync(join(root, '.tandem-tmp-00000000000000ab'), 'half');
    utimesSync(join(root, 'top.txt'), 1_600_000_000, 1_600_000_000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('records files, dirs and symlinks with modes and hashes; excludes; never follows links', async () => {
    const { entries, problems } = await buildManifest(root, { exclude: ['*.tmp', 'cache/**'], hash: true });
    expect(problems).to.deep.equal([]);
    expect([...entries.keys()].sort()).to.deep.equal([
      'a', 'a/b', 'a/b/c', 'a/b/c/deep.txt', 'a/big.bin', 'a/inside', 'a/run.sh', 'a/secret', 'dangling', 'outside', 'top.txt',
    ]);
    expect(entries.get('top.txt')).to.deep.equal({ type: 'file', size: 5, mtimeMs: 1_600_000_000_000, mode: 0o666 & ~process.umask(), sha256: sha('hello') });
    expect(entries.get('a/big.bin')).to.include({ type: 'file', size: big.length, sha256: sha(big) });
    expect(entries.get('a/secret')?.mode).to.equal(0o600);
    expect(entries.get('a/run.sh')?.mode).to.equal(0o4755);
    expect(entries.get('a/b')).to.include({ type: 'dir', size: 0, mode: 0o750 });
    expect(entries.get('a/inside')).to.include({ type: 'symlink', target: 'b/c/deep.txt', size: 12 });
    expect(entries.get('outside')).to.include({ type: 'symlink', target: '/etc' });
    expect(entries.get('dangling')).to.include({ type: 'symlink', target: 'missing/nowhere' });
    expect(entries.get('outside')?.sha256).to.equal(undefined);
  });

  it('without hash: no sha256 on any entry', async () => {
    const { entries } = await buildManifest(root, { hash: false });
    expect(entries.has('cache/x/blob')).to.equal(true);
    expect(entries.has('.tandem-tmp-00000000000000ab')).to.equal(false); // temp names always excluded
    for (const e of entries.values()) expect(e.sha256).to.equal(undefined);
  });

  it('a FIFO, a file removed mid-walk and a non-UTF-8 name are problems, not throws', async () => {
    execFileSync('mkfifo', [join(root, 'a/pipe')]);
    writeFileSync(join(root, 'a/vanishing'), 'soon gone');
    writeFileSync(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff, 0xfe])]), 'x');
    const { entries, problems } = await buildManifest(root, {
      exclude: ['cache/**'], hash: true,
      beforeEntry: (rel) => { if (rel === 'a/vanishing') unlinkSync(join(root, rel)); },
    });
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.code]));
    expect(byPath['a/pipe']).to.equal('UNSUPPORTED_TYPE');
    expect(byPath['a/vanishing']).to.equal('ENOENT');
    expect(problems.some((p) => p.code === 'BAD_NAME')).to.equal(true);
    expect(entries.has('a/pipe')).to.equal(false);
    expect(entries.has('a/vanishing')).to.equal(false);
    expect(entries.has('a/b/c/deep.txt')).to.equal(true); // the walk went on
  });

  it('a directory removed between listing and descending is a problem', async () => {
    const { problems, entries } = await buildManifest(root, {
      hash: false,
      beforeEntry: (rel) => { if (rel === 'a/b/c/deep.txt') rmSync(join(root, 'a/b/c'), { recursive: true }); },
    });
    expect(problems.map((p) => [p.path, p.code])).to.deep.equal([['a/b/c/deep.txt', 'ENOENT']]);
    expect(entries.has('a/b/c')).to.equal(true);
  });

  it('a problem entry is not deleted on the destination by diffManifests', async () => {
    const { entries: dst } = await buildManifest(root, { hash: true });
    const { entries: src, problems } = await buildManifest(root, {
      hash: true, beforeEntry: (rel) => { if (rel === 'a/secret') unlinkSync(join(root, rel)); },
    });
    expect(diffManifests(src, dst, { unknown: problems.map((p) => p.path) })).to.deep.equal([]);
    expect(diffManifests(src, dst)).to.deep.equal([{ kind: 'delete', path: 'a/secret', type: 'file', reason: 'removed' }]);
  });

  it('a root that is missing or not a directory throws VOLUME_ROOT', async () => {
    for (const bad of [join(root, 'nope'), join(root, 'top.txt'), join(root, 'outside')]) {
      const err = await buildManifest(bad, { hash: false }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(TandemError).with.property('code', 'VOLUME_ROOT');
    }
  });

  it('honours an aborted signal', async () => {
    const err = await buildManifest(root, { hash: true, signal: AbortSignal.abort() }).then(() => null, (e: unknown) => e);
    expect(err).to.have.property('name', 'AbortError');
  });
});
