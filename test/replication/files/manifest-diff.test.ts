import { expect } from 'chai';
import { diffManifests, type FileOp } from '../../../lib/replication/files/manifest.js';
import type { Manifest, ManifestEntry } from '../../../lib/replication/files/manifest.js';
import { rng } from '../../helpers/random.js';

const file = (sha256: string | undefined, o: Partial<ManifestEntry> = {}): ManifestEntry =>
  ({ type: 'file', size: 10, mtimeMs: 1000, mode: 0o644, ...(sha256 === undefined ? {} : { sha256 }), ...o });
const dir = (mode = 0o755, mtimeMs = 1000): ManifestEntry => ({ type: 'dir', size: 0, mtimeMs, mode });
const link = (target: string): ManifestEntry => ({ type: 'symlink', size: target.length, mtimeMs: 1000, mode: 0o777, target });
const m = (o: Record<string, ManifestEntry>): Manifest => new Map(Object.entries(o));
const parent = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

// Applies ops to an in-memory tree with the kernel's rules (mkdir needs a
// parent directory and a free name; rmdir needs an empty directory; a write
// cannot replace a directory), throwing on any violation.
function apply(start: Manifest, ops: FileOp[]): Manifest {
  const t = new Map(start);
  const needParent = (p: string): void => {
    const par = parent(p);
    if (par !== '' && t.get(par)?.type !== 'dir') throw new Error(`${p}: parent is not a directory`);
  };
  for (const op of ops) {
    const cur = t.get(op.path);
    switch (op.kind) {
      case 'mkdir':
        needParent(op.path);
        if (cur) throw new Error(`mkdir ${op.path}: exists`);
        t.set(op.path, op.entry);
        break;
      case 'write': case 'symlink':
        needParent(op.path);
        if (op.create ? cur !== undefined : cur?.type !== op.entry.type) throw new Error(`${op.kind} ${op.path}: create=${op.create} but found ${cur?.type}`);
        t.set(op.path, op.entry);
        break;
      case 'meta':
        if (cur?.type !== op.entry.type) throw new Error(`meta ${op.path}: type`);
        t.set(op.path, op.entry);
        break;
      case 'delete':
        if (cur?.type !== op.type) throw new Error(`delete ${op.path}: found ${cur?.type}`);
        if (cur.type === 'dir' && [...t.keys()].some((k) => k.startsWith(`${op.path}/`))) throw new Error(`rmdir ${op.path}: not empty`);
        t.delete(op.path);
        break;
    }
  }
  return t;
}

// Directory mtimes are not replicated (they change with every child); a
// hash only on the destination stays there when size + mtime already match,
// so hashes are compared by the idempotence check instead.
const norm = (t: Manifest): Record<string, Omit<ManifestEntry, 'sha256'>> =>
  Object.fromEntries([...t].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, { sha256: _h, ...e }]) => [p, e.type === 'dir' ? { ...e, mtimeMs: 0 } : e]));

describe('replication/files/manifest diffManifests', () => {
  it('equal trees produce nothing, dir mtimes are ignored', () => {
    const t = m({ a: dir(), 'a/f': file('h1'), l: link('a/f') });
    expect(diffManifests(t, m({ a: dir(0o755, 5), 'a/f': file('h1'), l: link('a/f') }))).to.deep.equal([]);
  });

  it('decides content by hash when both sides have one, else by size + mtime', () => {
    const rows: [ManifestEntry, ManifestEntry, FileOp['kind'] | null][] = [
      [file('h1'), file('h2'), 'write'],
      [file('h1'), file('h1', { mtimeMs: 5 }), 'meta'], // same content, only the time differs
      [file('h1'), file('h1', { mode: 0o600 }), 'meta'],
      [file('h1'), file('h1', { size: 11 }), 'write'],
      [file(undefined), file('h1'), null],
      [file(undefined), file('h1', { mtimeMs: 5 }), 'write'],
      [file('h1'), file(undefined, { mtimeMs: 5 }), 'write'],
      [file(undefined), file(undefined, { mode: 0o600 }), 'meta'],
      [link('x'), link('y'), 'symlink'],
      [link('x'), { ...link('x'), mtimeMs: 1, mode: 0o755 }, null],
      [dir(0o700), dir(0o755), 'meta'],
    ];
    for (const [s, d, kind] of rows) {
      const ops = diffManifests(m({ p: s }), m({ p: d }));
      expect(ops.map((o) => o.kind), JSON.stringify([s, d])).to.deep.equal(kind === null ? [] : [kind]);
    }
  });

  it('orders a small mixed batch exactly', () => {
    const src = m({ a: dir(), 'a/new': file('n'), b: file('b'), c: dir(0o700), 'c/d': dir(), x: link('a') });
    const dst = m({ a: dir(), 'a/old': file('o'), b: dir(), 'b/inner': file('i'), c: dir(0o755), 'c/d': dir(), 'c/d/gone': dir(), 'c/d/gone/f': file('g'), x: file('x') });
    expect(diffManifests(src, dst).map((o) => `${o.kind} ${o.path}${o.kind === 'delete' ? ` ${o.reason}` : ''}`)).to.deep.equal([
      'delete b/inner replaced', 'delete b replaced', 'delete x replaced',
      'write a/new', 'write b', 'symlink x',
      'delete c/d/gone/f removed', 'delete c/d/gone removed', 'delete a/old removed',
      'meta c',
    ]);
  });

  it('leaves unknown paths and everything below them alone', () => {
    const src = m({ d: dir() });
    const dst = m({ d: dir(), 'd/a': file('1'), 'd/s': dir(), 'd/s/b': file('2'), e: file('3') });
    expect(diffManifests(src, dst, { unknown: ['d'] }).map((o) => o.path)).to.deep.equal(['e']);
  });

  describe('random trees (seeded)', () => {
    const names = ['a', 'b', 'c', 'd'];
    function randomTree(r: () => number, size: number): Manifest {
      const t: Manifest = new Map();
      for (let i = 0; i < size; i++) {
        // Pick an existing directory (or the root) and add a child.
        const dirs = ['', ...[...t].filter(([, e]) => e.type === 'dir').map(([p]) => p)];
        const par = dirs[Math.floor(r() * dirs.length)] as string;
        const name = names[Math.floor(r() * names.length)] as string;
        const path = par === '' ? name : `${par}/${name}`;
        if (t.has(path)) continue;
        const k = r();
        const hashed = r() < 0.8;
        t.set(path, k < 0.4 ? dir(r() < 0.8 ? 0o755 : 0o700)
          : k < 0.85 ? file(hashed ? `h${Math.floor(r() * 3)}` : undefined, { size: 10 + Math.floor(r() * 2), mtimeMs: 1000 + Math.floor(r() * 2), mode: r() < 0.8 ? 0o644 : 0o600 })
            : link(`t${Math.floor(r() * 2)}`));
      }
      return t;
    }

    for (let seed = 1; seed <= 400; seed++) {
      it(`seed ${seed}: applying the ops to dst yields src, in a safe order`, () => {
        const r = rng(seed);
        const src = randomTree(r, 5 + Math.floor(r() * 40));
        const dst = r() < 0.3 ? new Map<string, ManifestEntry>() : randomTree(r, 5 + Math.floor(r() * 40));
        const ops = diffManifests(src, dst);
        expect(norm(apply(dst, ops))).to.deep.equal(norm(apply(src, []))); // also: apply() enforced parents-first and empty rmdir
        // Removals come after every creation; replacements only before any creation.
        const lastCreate = ops.findLastIndex((o) => o.kind !== 'delete');
        const firstRemove = ops.findIndex((o) => o.kind === 'delete' && o.reason === 'removed');
        const firstCreate = ops.findIndex((o) => o.kind === 'mkdir' || o.kind === 'write' || o.kind === 'symlink');
        const lastReplace = ops.findLastIndex((o) => o.kind === 'delete' && o.reason === 'replaced');
        if (firstRemove >= 0) expect(ops.slice(firstRemove).every((o) => o.kind === 'delete' || (o.kind === 'meta' && o.entry.type === 'dir'))).to.equal(true);
        if (firstCreate >= 0 && lastReplace >= 0) expect(lastReplace).to.be.lessThan(firstCreate);
        expect(lastCreate).to.be.at.least(-1);
        // Idempotent: once applied, nothing is left to do.
        expect(diffManifests(src, apply(dst, ops))).to.deep.equal([]);
        // Each path appears at most once, besides the delete that precedes a type change.
        const rest = ops.filter((o) => !(o.kind === 'delete' && o.reason === 'replaced'));
        expect(new Set(rest.map((o) => o.path)).size).to.equal(rest.length);
      });
    }
  });
});
