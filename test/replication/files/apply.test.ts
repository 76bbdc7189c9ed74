import { expect } from 'chai';
import { execa } from 'execa';
import { execFile, spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TandemError } from '../../../lib/errors.js';
import { cleanTemps, mkdirEntry, removeEntry, setMeta, symlinkAtomic, writeFileAtomic } from '../../../lib/replication/files/apply.js';
import { skipOutsideCi } from '../../helpers/env.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

async function* chunks(fill: number, count: number, size = MiB): AsyncIterable<Buffer> {
  const chunk = Buffer.alloc(size, fill);
  for (let i = 0; i < count; i++) yield chunk;
}

async function tempsIn(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true });
  return all.filter((n) => path.basename(n).startsWith('.tandem-tmp-'));
}

async function rejection(p: Promise<unknown>): Promise<TandemError> {
  try { await p; } catch (err) { expect(err).to.be.instanceOf(TandemError); return err as TandemError; }
  throw new Error('expected a rejection');
}

describe('replication/files/apply', () => {
  let base: string; let root: string; let outside: string;
  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'tandem-apply-'));
    root = path.join(base, 'root'); outside = path.join(base, 'outside');
    await mkdir(root); await mkdir(outside);
  });
  afterEach(async () => { await rm(base, { recursive: true, force: true }); });

  it('writes a file with its mode and mtime, creating parents 0755', async () => {
    const mtimeMs = 1_600_000_000_123;
    await writeFileAtomic(root, 'a/b/c.txt', Buffer.from('hello'), { mode: 0o640, mtimeMs });
    const st = await stat(path.join(root, 'a/b/c.txt'));
    expect(st.mode & 0o7777).to.equal(0o640);
    expect(st.mtimeMs).to.be.closeTo(mtimeMs, 1);
    expect(await readFile(path.join(root, 'a/b/c.txt'), 'utf8')).to.equal('hello');
    expect((await stat(path.join(root, 'a'))).mode & 0o7777).to.equal(0o755);
    expect((await stat(path.join(root, 'a/b'))).mode & 0o7777).to.equal(0o755);
    expect(await tempsIn(root)).to.deep.equal([]);
  });

  it('streams an async iterable and replaces the old content', async () => {
    await writeFileAtomic(root, 'f', Buffer.from('old'), { mode: 0o644, mtimeMs: Date.now() });
    await writeFileAtomic(root, 'f', chunks(7, 3), { mode: 0o600, mtimeMs: 1_000_000 });
    const buf = await readFile(path.join(root, 'f'));
    expect(buf.length).to.equal(3 * MiB);
    expect(buf.every((b) => b === 7)).to.equal(true);
    expect((await stat(path.join(root, 'f'))).mode & 0o7777).to.equal(0o600);
  });

  it('a concurrent reader never sees partial content (8 MiB files rewritten repeatedly)', async function () {
    this.timeout(120_000);
    const size = 8 * MiB; const target = path.join(root, 'big');
    await writeFileAtomic(root, 'big', chunks(0, 8), { mode: 0o644, mtimeMs: Date.now() });
    // The reader is another process, so its reads truly overlap the writes.
    const reader = `
      const fs = require('node:fs');
      const [file, size] = [process.argv[1], Number(process.argv[2])];
      let reads = 0, bad = 0, versions = new Set(), stop = false;
      process.stdin.on('data', () => { stop = true; });
      (function loop() {
        for (let i = 0; i < 4 && !stop; i++) {
          const b = fs.readFileSync(file); reads++;
          if (b.length !== size || !b.equals(Buffer.alloc(size, b[0]))) bad++; else versions.add(b[0]);
        }
        if (stop) { process.stdout.write(JSON.stringify({ reads, bad, versions: versions.size })); process.exit(0); }
        setImmediate(loop);
      })();`;
    const child = spawn(process.execPath, ['-e', reader, target, String(size)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    for (let v = 1; v <= 24; v++) {
      await writeFileAtomic(root, 'big', chunks(v, 8), { mode: 0o644, mtimeMs: Date.now() });
    }
    child.stdin.write('stop\n');
    await done;
    const result = JSON.parse(out) as { reads: number; bad: number; versions: number };
    expect(result.bad, `${result.bad} torn reads of ${result.reads}`).to.equal(0);
    expect(result.reads).to.be.greaterThan(5);
    expect(result.versions).to.be.greaterThan(1); // the reads did overlap the rewrites
    expect(await tempsIn(root)).to.deep.equal([]);
  });

  it('a source that fails midway leaves the old file intact and no temp file', async () => {
    await writeFileAtomic(root, 'd/f', Buffer.from('old content'), { mode: 0o644, mtimeMs: 5000 });
    async function* failing(): AsyncIterable<Buffer> {
      yield Buffer.alloc(MiB, 1);
      throw new Error('peer vanished');
    }
    const err = await rejection(writeFileAtomic(root, 'd/f', failing(), { mode: 0o600, mtimeMs: 9000 }));
    expect(err.code).to.equal('FILE_APPLY_FAILED');
    expect(err.message).to.match(/writing "d\/f" failed: peer vanished/);
    expect(await readFile(path.join(root, 'd/f'), 'utf8')).to.equal('old content');
    expect((await stat(path.join(root, 'd/f'))).mode & 0o7777).to.equal(0o644);
    expect(await tempsIn(root)).to.deep.equal([]);
  });

  it('an abort signal stops the write and leaves no temp file', async () => {
    const ac = new AbortController(); ac.abort(new Error('link dropped'));
    const err = await rejection(writeFileAtomic(root, 'f', chunks(1, 2), { mode: 0o644, mtimeMs: 0 }, { signal: ac.signal }));
    expect(err.message).to.match(/link dropped/);
    expect(await readdir(root)).to.deep.equal([]);
  });

  it('refuses to write through a symlinked parent pointing outside root', async () => {
    await symlink(outside, path.join(root, 'escape'));
    const err = await rejection(writeFileAtomic(root, 'escape/x', Buffer.from('pwned'), { mode: 0o644, mtimeMs: 0 }));
    expect(err.code).to.equal('FILE_PATH_REFUSED');
    expect(await readdir(outside)).to.deep.equal([]);
    const err2 = await rejection(writeFileAtomic(root, '../outside/x', Buffer.from('pwned'), { mode: 0o644, mtimeMs: 0 }));
    expect(err2.code).to.equal('FILE_PATH_REFUSED');
    expect(await readdir(outside)).to.deep.equal([]);
  });

  it('replaces a symlink at the target instead of writing through it', async () => {
    await writeFile(path.join(outside, 'victim'), 'safe');
    await symlink(path.join(outside, 'victim'), path.join(root, 'f'));
    await writeFileAtomic(root, 'f', Buffer.from('new'), { mode: 0o644, mtimeMs: 0 });
    expect((await lstat(path.join(root, 'f'))).isFile()).to.equal(true);
    expect(await readFile(path.join(outside, 'victim'), 'utf8')).to.equal('safe');
  });

  it('creates a symlink as is, not followed, replacing a file or symlink', async () => {
    await symlinkAtomic(root, 'l/passwd', '/etc/passwd', { mtimeMs: 1_500_000_000_000 });
    const st = await lstat(path.join(root, 'l/passwd'));
    expect(st.isSymbolicLink()).to.equal(true);
    expect(st.mtimeMs).to.be.closeTo(1_500_000_000_000, 1);
    expect(await readlink(path.join(root, 'l/passwd'))).to.equal('/etc/passwd');
    await symlinkAtomic(root, 'l/passwd', '../../nowhere');
    expect(await readlink(path.join(root, 'l/passwd'))).to.equal('../../nowhere');
    await writeFile(path.join(root, 'plain'), 'x');
    await symlinkAtomic(root, 'plain', 'dangling');
    expect(await readlink(path.join(root, 'plain'))).to.equal('dangling');
    expect(await tempsIn(root)).to.deep.equal([]);
  });

  it('removes files, symlinks and empty directories; recursive only when asked', async () => {
    await writeFile(path.join(outside, 'keep'), 'x');
    await symlink(outside, path.join(root, 'link'));
    await mkdir(path.join(root, 'd/e'), { recursive: true });
    await writeFile(path.join(root, 'd/e/f'), 'x');
    await symlink(outside, path.join(root, 'd/e/out'));
    expect(await removeEntry(root, 'link')).to.equal(true);
    expect(await readdir(outside)).to.deep.equal(['keep']);
    expect((await rejection(removeEntry(root, 'd'))).code).to.equal('FILE_APPLY_FAILED');
    expect(await removeEntry(root, 'd', { recursive: true })).to.equal(true);
    expect(await readdir(root)).to.deep.equal([]);
    expect(await readdir(outside)).to.deep.equal(['keep']);
    expect(await removeEntry(root, 'missing')).to.equal(false);
    await mkdir(path.join(root, 'empty'));
    expect(await removeEntry(root, 'empty')).to.equal(true);
  });

  it('mkdirEntry creates with an exact mode and fixes the mode of an existing directory', async () => {
    await mkdirEntry(root, 'x/y', 0o700);
    expect((await stat(path.join(root, 'x/y'))).mode & 0o7777).to.equal(0o700);
    await mkdirEntry(root, 'x/y', 0o750);
    expect((await stat(path.join(root, 'x/y'))).mode & 0o7777).to.equal(0o750);
    await writeFile(path.join(root, 'file'), 'x');
    expect((await rejection(mkdirEntry(root, 'file', 0o755))).message).to.match(/in the way/);
  });

  it('setMeta changes a file but never follows a symlink', async () => {
    await writeFile(path.join(root, 'f'), 'x', { mode: 0o644 });
    await setMeta(root, 'f', { mode: 0o600, mtimeMs: 2_000_000_000_000 });
    const st = await stat(path.join(root, 'f'));
    expect(st.mode & 0o7777).to.equal(0o600);
    expect(st.mtimeMs).to.be.closeTo(2_000_000_000_000, 1);
    await writeFile(path.join(outside, 'victim'), 'x', { mode: 0o644 });
    const before = await stat(path.join(outside, 'victim'));
    await symlink(path.join(outside, 'victim'), path.join(root, 'l'));
    await setMeta(root, 'l', { mode: 0o777, mtimeMs: 1_000_000 });
    const after = await stat(path.join(outside, 'victim'));
    expect(after.mode & 0o7777).to.equal(0o644);
    expect(after.mtimeMs).to.equal(before.mtimeMs);
    expect((await lstat(path.join(root, 'l'))).mtimeMs).to.be.closeTo(1_000_000, 1);
  });

  it('cleanTemps removes leftovers from a crash everywhere below root, without following symlinks', async () => {
    const t = (n: number): string => `.tandem-tmp-${n.toString(16).padStart(16, '0')}`;
    await mkdir(path.join(root, 'a/b'), { recursive: true });
    await writeFile(path.join(root, t(0x11)), 'partial');
    await writeFile(path.join(root, 'a/b', t(0x2233)), 'partial');
    await symlink('x', path.join(root, 'a', t(0x4455)));
    await writeFile(path.join(root, 'a/keep'), 'x');
    await writeFile(path.join(outside, t(0x99)), 'not ours');
    await symlink(outside, path.join(root, 'a/out'));
    const { removed, skipped } = await cleanTemps(root);
    expect(removed.sort()).to.deep.equal([t(0x11), `a/${t(0x4455)}`, `a/b/${t(0x2233)}`]);
    expect(skipped).to.deep.equal([]);
    expect((await readdir(path.join(root, 'a'))).sort()).to.deep.equal(['b', 'keep', 'out']);
    expect(await readdir(path.join(root, 'a/b'))).to.deep.equal([]);
    expect(await readdir(outside)).to.deep.equal([t(0x99)]);
    expect(await readFile(path.join(root, 'a/keep'), 'utf8')).to.equal('x');
  });

  it('cleanTemps leaves a user\'s own ".tandem-tmp-*" files alone: only the exact names an apply makes are temporary', async () => {
    for (const n of ['.tandem-tmp-notes', '.tandem-tmp-0011', '.tandem-tmp-00112233445566778', '.tandem-tmp-0011223344556677.bak']) await writeFile(path.join(root, n), 'mine');
    expect((await cleanTemps(root)).removed).to.deep.equal([]);
    expect((await readdir(root)).length).to.equal(4);
  });

  it('cleanTemps skips a directory it cannot open (a path past PATH_MAX) and says so, instead of failing', async () => {
    // 20 levels of 250-character names: about 5000 bytes, past Linux's PATH_MAX of 4096.
    let rel = '';
    for (let i = 0; i < 20; i++) rel = path.join(rel, String(i).padStart(250, 'd'));
    await execa('mkdir', ['-p', rel], { cwd: root });
    const { removed, skipped } = await cleanTemps(root);
    expect(removed).to.deep.equal([]);
    expect(skipped).to.have.length(1);
    expect(skipped[0]).to.match(/: ENAMETOOLONG$/);
    await execa('rm', ['-rf', '0'.padStart(250, 'd')], { cwd: root });
  });

  describe('on a full disk (tmpfs of 1 MiB)', () => {
    let mnt: string | undefined;
    before(async function () {
      const dir = await mkdtemp(path.join(tmpdir(), 'tandem-enospc-'));
      try {
        await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
        mnt = dir;
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        skipOutsideCi(this, `the full-disk test cannot mount a tmpfs: ${(err as Error).message}`);
      }
    });
    after(async () => {
      if (mnt === undefined) return;
      await run('umount', [mnt]);
      await rm(mnt, { recursive: true, force: true });
    });

    it('ENOSPC leaves the old file intact and no temp file, and is marked transient', async () => {
      const m = mnt as string;
      const old = Buffer.alloc(300 * 1024, 3);
      await writeFileAtomic(m, 'd/f', old, { mode: 0o644, mtimeMs: 1_000 });
      const err = await rejection(writeFileAtomic(m, 'd/f', chunks(9, 2, 512 * 1024), { mode: 0o644, mtimeMs: 2_000 }));
      expect(err.code).to.equal('FILE_APPLY_FAILED');
      expect(err.transient).to.equal(true);
      expect((err.cause as NodeJS.ErrnoException).code).to.equal('ENOSPC');
      expect(err.message).to.match(/writing "d\/f" failed: .*ENOSPC/);
      expect((await readFile(path.join(m, 'd/f'))).equals(old)).to.equal(true);
      expect(await tempsIn(m)).to.deep.equal([]);
      // Space is back once the temp file is gone: a smaller write succeeds.
      await writeFileAtomic(m, 'd/f', Buffer.alloc(100 * 1024, 4), { mode: 0o644, mtimeMs: 3_000 });
      expect((await stat(path.join(m, 'd/f'))).size).to.equal(100 * 1024);
    });
  });
});
