import { expect } from 'chai';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkWirePath, MAX_PATH_BYTES, MAX_SEGMENT_BYTES, resolveInside } from '../../../lib/replication/files/paths.js';

describe('replication/files/paths checkWirePath', () => {
  const good: string[] = [
    'a', 'a/b/c', '.hidden', 'a/..b', '...', 'a\\b', '..\\..\\etc', 'a b/ c ', 'ünïcödé/ファイル',
    'x'.repeat(MAX_SEGMENT_BYTES), `${'d'.repeat(200)}/`.repeat(20).slice(0, -1), '\u{1F600}',
  ];
  const bad: [string, string, RegExp][] = [
    ['empty', '', /empty/],
    ['dot-dot', '..', /"\.\."/],
    ['dot-dot inside', 'a/../b', /"\.\."/],
    ['dot-dot at end', 'a/..', /"\.\."/],
    ['absolute', '/etc/passwd', /absolute/],
    ['only slash', '/', /absolute/],
    ['double slash', 'a//b', /empty/],
    ['trailing slash', 'a/', /empty/],
    ['leading dot', './a', /"\."/],
    ['trailing dot', 'a/.', /"\."/],
    ['dot', '.', /"\."/],
    ['NUL', 'a\0b', /NUL/],
    ['long segment', 'x'.repeat(MAX_SEGMENT_BYTES + 1), /segment 1 is 256 bytes/],
    ['long multibyte segment', 'é'.repeat(128), /256 bytes/], // 128 chars, 256 bytes
    ['long path', `${'d'.repeat(100)}/`.repeat(41).slice(0, -1), /bytes long/],
    ['lone high surrogate', 'a\uD800b', /UTF-8/],
    ['lone low surrogate', 'dir/\uDC00', /UTF-8/],
  ];
  for (const p of good) {
    it(`accepts ${JSON.stringify(p).slice(0, 40)}`, () => {
      expect(checkWirePath(p)).to.deep.equal({ ok: true, path: p });
    });
  }
  for (const [name, p, why] of bad) {
    it(`refuses ${name}`, () => {
      const r = checkWirePath(p);
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.reason).to.match(why);
      expect(r.reason).to.match(/allowed: a relative path/);
    });
  }
  it('the whole path limit is exact', () => {
    const at = `${`${'d'.repeat(200)}/`.repeat(20)}${'e'.repeat(76)}`; // 20 * 201 + 76 = 4096 bytes
    expect(Buffer.byteLength(at)).to.equal(MAX_PATH_BYTES);
    expect(checkWirePath(at).ok).to.equal(true);
    expect(checkWirePath(`${at}x`).ok).to.equal(false);
  });
});

describe('replication/files/paths resolveInside', () => {
  let base: string; let root: string; let outside: string;
  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'tandem-paths-'));
    root = path.join(base, 'root'); outside = path.join(base, 'outside');
    await mkdir(path.join(root, 'dir'), { recursive: true });
    await mkdir(outside);
    await symlink(outside, path.join(root, 'escape'));
    await symlink('dir', path.join(root, 'inner-link')); // even a symlink staying inside is refused as a parent
    await writeFile(path.join(root, 'file'), 'x');
  });
  afterEach(async () => { await rm(base, { recursive: true, force: true }); });

  it('joins a good path under root', async () => {
    expect(await resolveInside(root, 'dir/x')).to.deep.equal({ ok: true, abs: path.join(root, 'dir', 'x') });
  });
  it('accepts missing parents', async () => {
    expect(await resolveInside(root, 'dir/new/deeper/x')).to.deep.equal({ ok: true, abs: path.join(root, 'dir/new/deeper/x') });
  });
  it('accepts a symlink as the last component (it is replaced, not followed)', async () => {
    expect(await resolveInside(root, 'escape')).to.deep.equal({ ok: true, abs: path.join(root, 'escape') });
  });
  it('refuses a symlinked parent pointing outside root', async () => {
    const r = await resolveInside(root, 'escape/passwd');
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.reason).to.match(/parent "escape" is a symlink/);
  });
  it('refuses a symlinked parent deeper down', async () => {
    await symlink(outside, path.join(root, 'dir', 'up'));
    const r = await resolveInside(root, 'dir/up/x/y');
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.reason).to.match(/parent "dir\/up" is a symlink/);
  });
  it('refuses a symlinked parent that stays inside root', async () => {
    expect((await resolveInside(root, 'inner-link/x')).ok).to.equal(false);
  });
  it('refuses a file as parent', async () => {
    const r = await resolveInside(root, 'file/x');
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.reason).to.match(/parent "file" is not a directory/);
  });
  it('refuses a bad wire path and a relative root', async () => {
    const r = await resolveInside(root, '../outside/x');
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.reason).to.match(/"\.\."/);
    expect((await resolveInside('relative/root', 'a')).ok).to.equal(false);
  });
});
