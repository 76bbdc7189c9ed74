// The target's own tree as the receiver sees it: the directory operations
// applied in place (mkdir, symlink, remove, mode and mtime), what a path
// holds now, and our copy of a file as the base of a delta. Every peer path
// is resolved inside the tree first; one that leads elsewhere is refused.
import { constants as C } from 'node:fs';
import { lstat, open, readlink, type FileHandle } from 'node:fs/promises';
import { TandemError } from '../../errors.js';
import { mkdirEntry, removeEntry, setMeta, symlinkAtomic } from './apply.js';
import type { ManifestEntry } from './manifest.js';
import { resolveInside } from './paths.js';
import type { DirOp } from './wire.js';

// mkdir / symlink / remove / meta on the local tree.
export async function applyDirOp(root: string, op: DirOp): Promise<void> {
  // A parent that became a symlink or a file (a deploy's `ln -s`, `rm -rf x; echo > x`) holds no such entry:
  // removing it is done. Never followed.
  if (op.kind === 'remove') {
    const r = await resolveInside(root, op.path);
    if (!r.ok && r.noSuchEntry === true) return;
  }
  const here = await entryType(root, op.path);
  switch (op.kind) {
    case 'remove':
      await removeEntry(root, op.path, { recursive: true });
      return;
    case 'mkdir':
      if (here !== null && here !== 'dir') await removeEntry(root, op.path);
      await mkdirEntry(root, op.path, op.mode);
      return setMeta(root, op.path, { mtimeMs: op.mtimeMs });
    case 'symlink':
      if (here === 'dir') await removeEntry(root, op.path, { recursive: true });
      return symlinkAtomic(root, op.path, op.target, { mtimeMs: op.mtimeMs });
    case 'meta':
      await setMeta(root, op.path, { mode: op.mode, mtimeMs: op.mtimeMs });
      return syncInode(`${root}/${op.path}`);
  }
}

// A mode or mtime change is on stable storage once its inode is fsynced (a symlink's cannot be opened: skipped).
async function syncInode(abs: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(abs, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') return;
    throw e;
  }
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// What the path holds now, as the divergence check will see it (times as the disk keeps them).
export async function observed(root: string, rel: string): Promise<ManifestEntry | null> {
  const abs = `${root}/${rel}`;
  const st = await lstat(abs).catch(() => null);
  if (st === null) return null;
  const base = { size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
  if (st.isDirectory()) return { type: 'dir', ...base, size: 0 };
  if (st.isSymbolicLink()) return { type: 'symlink', ...base, target: await readlink(abs) };
  return { type: 'file', ...base };
}

async function entryType(root: string, rel: string): Promise<'dir' | 'other' | null> {
  const r = await resolveInside(root, rel);
  if (!r.ok) throw new TandemError('FILE_PATH_REFUSED', `refused path from peer: ${r.reason}`);
  const st = await lstat(r.abs).catch(() => null);
  return st === null ? null : st.isDirectory() ? 'dir' : 'other';
}

// Our copy of a file, the base of a delta; null when there is none (or it is not a regular file).
export async function openBase(root: string, rel: string): Promise<FileHandle | null> {
  const r = await resolveInside(root, rel);
  if (!r.ok) throw new TandemError('FILE_PATH_REFUSED', `refused path from peer: ${r.reason}`);
  try {
    const fh = await open(r.abs, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    if ((await fh.stat()).isFile()) return fh;
    await fh.close();
  } catch { /* none: the whole file comes */ }
  return null;
}
