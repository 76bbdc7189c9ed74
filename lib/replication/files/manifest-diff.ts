// Pure: the operations that make a destination tree equal a source tree,
// given both manifests, in an order that is safe to apply one by one:
//   1. deletions forced by a type change (file -> dir, dir -> symlink, ...):
//      the old entry and, for a directory, its whole subtree, deepest first;
//   2. mkdir, parents before children;
//   3. file writes, symlinks, and metadata-only updates of files, by path;
//   4. deletions of entries gone from the source, deepest first - after every
//      creation, so a crash mid-batch never loses data the source still has
//      (issue 4: "deletions after creations in the same batch");
//   5. mode changes of existing directories, deepest first, so a directory
//      that becomes read-only does so after everything below it is written.
import { sameMtime, type EntryType, type Manifest, type ManifestEntry } from './manifest.js';

export type FileOp =
  | { kind: 'mkdir'; path: string; entry: ManifestEntry }
  | { kind: 'write'; path: string; entry: ManifestEntry; create: boolean } // file content (+ mode, mtime)
  | { kind: 'symlink'; path: string; entry: ManifestEntry; create: boolean }
  | { kind: 'meta'; path: string; entry: ManifestEntry } // same content: set mode (and mtime for files)
  | { kind: 'delete'; path: string; type: EntryType; reason: 'replaced' | 'removed' };

export interface DiffOptions {
  // Paths whose source state is unknown (the source walk's problems): neither
  // they nor anything below them is deleted on the destination.
  unknown?: Iterable<string>;
}

const depth = (p: string): number => {
  let n = 0;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 47) n++;
  return n;
};
const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const shallowFirst = (a: string, b: string): number => depth(a) - depth(b) || byPath(a, b);
const deepestFirst = (a: string, b: string): number => depth(b) - depth(a) || byPath(a, b);

type Change = 'none' | 'content' | 'meta';

/** How a same-typed entry differs. Without a hash on both sides, size + mtime decide the content. */
function compare(s: ManifestEntry, d: ManifestEntry): Change {
  switch (s.type) {
    case 'symlink':
      return s.target === d.target ? 'none' : 'content';
    case 'dir':
      return s.mode === d.mode ? 'none' : 'meta';
    case 'file': {
      if (s.size !== d.size) return 'content';
      if (s.sha256 !== undefined && d.sha256 !== undefined) {
        if (s.sha256 !== d.sha256) return 'content';
      } else if (!sameMtime(s.mtimeMs, d.mtimeMs)) {
        return 'content';
      }
      return s.mode !== d.mode || !sameMtime(s.mtimeMs, d.mtimeMs) ? 'meta' : 'none';
    }
  }
}

function underAny(path: string, roots: ReadonlySet<string>): boolean {
  if (roots.size === 0) return false;
  if (roots.has(path)) return true;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    if (roots.has(path.slice(0, i))) return true;
  }
  return false;
}

export function diffManifests(src: Manifest, dst: Manifest, options: DiffOptions = {}): FileOp[] {
  const unknown = new Set(options.unknown ?? []);
  const replacedRoots = new Set<string>();
  const mkdirs: string[] = [];
  const updates: FileOp[] = [];
  const dirMeta: string[] = [];

  for (const [path, s] of src) {
    const d = dst.get(path);
    if (d !== undefined && d.type !== s.type) replacedRoots.add(path);
    const create = d === undefined || d.type !== s.type;
    if (create) {
      if (s.type === 'dir') mkdirs.push(path);
      else updates.push({ kind: s.type === 'file' ? 'write' : 'symlink', path, entry: s, create: true });
      continue;
    }
    const change = compare(s, d);
    if (change === 'none') continue;
    if (s.type === 'dir') dirMeta.push(path);
    else if (change === 'meta') updates.push({ kind: 'meta', path, entry: s });
    else updates.push({ kind: s.type === 'file' ? 'write' : 'symlink', path, entry: s, create: false });
  }

  const replaced: string[] = [];
  const removed: string[] = [];
  for (const path of dst.keys()) {
    if (underAny(path, replacedRoots)) replaced.push(path);
    else if (!src.has(path) && !underAny(path, unknown)) removed.push(path);
  }

  const del = (reason: 'replaced' | 'removed') => (path: string): FileOp =>
    ({ kind: 'delete', path, type: (dst.get(path) as ManifestEntry).type, reason });
  return [
    ...replaced.sort(deepestFirst).map(del('replaced')),
    ...mkdirs.sort(shallowFirst).map((path): FileOp => ({ kind: 'mkdir', path, entry: src.get(path) as ManifestEntry })),
    ...updates.sort((a, b) => byPath(a.path, b.path)),
    ...removed.sort(deepestFirst).map(del('removed')),
    ...dirMeta.sort(deepestFirst).map((path): FileOp => ({ kind: 'meta', path, entry: src.get(path) as ManifestEntry })),
  ];
}
