// The manifest of a directory volume: every entry below the root with what
// decides whether a peer's copy differs (type, size, mtime, mode, symlink
// target, content hash). Built by a walk that never follows symlinks and
// never throws for a single entry: entries that vanish, cannot be read, are
// of an unsupported type or have names that are not UTF-8 become `problems`,
// so one bad file never stops a sync (issue 4, "Bad input").
import { createHash } from 'node:crypto';
import { constants as C } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { TandemError } from '../../errors.js';
import { compileExclude, type ExcludeMatcher } from './exclude.js';

export { diffManifests, type DiffOptions, type FileOp } from './manifest-diff.js';

export type EntryType = 'file' | 'dir' | 'symlink';

export interface ManifestEntry {
  type: EntryType;
  size: number; // bytes for files, length of the target for symlinks, 0 for directories
  mtimeMs: number;
  mode: number; // permission bits only (mode & 0o7777)
  target?: string; // symlinks: the link text, recorded as is, never followed
  sha256?: string; // files, hex, only when hashing was asked for
}

export type Manifest = Map<string, ManifestEntry>;

// Modification times as two nodes keep them: set through seconds in a double, a copy's mtime can be
// a fraction of a microsecond off the original. Within 10 us counts as the same time (a real
// rewrite moves it by a clock tick, milliseconds on Linux's coarse file clock).
export const MTIME_SLACK_MS = 0.01;
export const sameMtime = (a: number, b: number): boolean => Math.abs(a - b) < MTIME_SLACK_MS;

export interface ManifestProblem {
  path: string; // relative, '/'-separated ('' is the root)
  code: string; // errno code (ENOENT, EACCES, ...) or UNSUPPORTED_TYPE, BAD_NAME, CHANGED
  message: string;
}

export interface BuildManifestOptions {
  exclude?: readonly string[] | ExcludeMatcher;
  hash: boolean;
  signal?: AbortSignal;
  // Fault injection for tests: runs after a directory is listed and before
  // each of its entries is examined, so a test can remove or replace it.
  beforeEntry?: (relPath: string) => void | Promise<void>;
}

export interface BuiltManifest {
  entries: Manifest;
  problems: ManifestProblem[];
}

const S_IFMT = C.S_IFMT;

function problemOf(path: string, err: unknown): ManifestProblem {
  const e = err as NodeJS.ErrnoException;
  return { path, code: typeof e?.code === 'string' ? e.code : 'EIO', message: e?.message ?? String(err) };
}

/**
 * Hashes a regular file through a stream (never whole in memory). Opened
 * with O_NOFOLLOW | O_NONBLOCK so a path swapped for a symlink or a FIFO after
 * lstat neither escapes nor blocks; size and mtime come from the same open
 * file. A file whose length changes while it is read is a CHANGED problem.
 */
async function hashFile(abs: string, rel: string, signal?: AbortSignal): Promise<ManifestEntry | ManifestProblem> {
  let fh;
  try {
    fh = await open(abs, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch (err) {
    return problemOf(rel, err);
  }
  try {
    const st = await fh.stat();
    if ((st.mode & S_IFMT) !== C.S_IFREG) {
      return { path: rel, code: 'CHANGED', message: 'no longer a regular file' };
    }
    const h = createHash('sha256');
    let read = 0;
    for await (const chunk of fh.createReadStream({ autoClose: false, start: 0, ...(signal ? { signal } : {}) })) {
      h.update(chunk as Buffer);
      read += (chunk as Buffer).length;
    }
    const after = await fh.stat();
    if (read !== st.size || after.size !== st.size || after.mtimeMs !== st.mtimeMs) {
      return { path: rel, code: 'CHANGED', message: `changed while being read (${st.size} -> ${after.size} bytes, ${read} read)` };
    }
    return { type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, sha256: h.digest('hex') };
  } catch (err) {
    if (signal?.aborted) throw err;
    return problemOf(rel, err);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Walks `root` (which must be a directory) and returns its manifest. */
export async function buildManifest(root: string, options: BuildManifestOptions): Promise<BuiltManifest> {
  const exclude = typeof options.exclude === 'function' ? options.exclude : compileExclude(options.exclude ?? []);
  const { signal } = options;
  const entries: Manifest = new Map();
  const problems: ManifestProblem[] = [];

  const rootStat = await lstat(root).catch((err: unknown) => {
    throw new TandemError('VOLUME_ROOT', `volume root ${root} cannot be read`, { cause: err, transient: true });
  });
  if (!rootStat.isDirectory()) throw new TandemError('VOLUME_ROOT', `volume root ${root} is not a directory`);

  const stack: string[] = ['']; // relative directory paths still to list
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const dir = stack.pop() as string;
    const absDir = dir === '' ? root : `${root}/${dir}`;
    let names: Buffer[];
    try {
      names = await readdir(absDir, { encoding: 'buffer' });
    } catch (err) {
      problems.push(problemOf(dir, err));
      continue;
    }
    const sorted = names.map((b) => ({ b, s: b.toString('utf8') })).sort((x, y) => (x.s < y.s ? -1 : x.s > y.s ? 1 : 0));
    const subdirs: string[] = [];
    for (const { b, s } of sorted) {
      signal?.throwIfAborted();
      const rel = dir === '' ? s : `${dir}/${s}`;
      // Names must survive the wire as UTF-8; a lossy name would be replicated under another name.
      if (!Buffer.from(s, 'utf8').equals(b)) {
        problems.push({ path: rel, code: 'BAD_NAME', message: `name is not valid UTF-8 (${b.toString('hex')})` });
        continue;
      }
      if (options.beforeEntry) await options.beforeEntry(rel);
      const abs = `${absDir}/${s}`;
      let st;
      try {
        st = await lstat(abs);
      } catch (err) {
        problems.push(problemOf(rel, err));
        continue;
      }
      const isDir = st.isDirectory();
      if (exclude(rel, isDir)) continue;
      const base = { size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
      if (isDir) {
        entries.set(rel, { type: 'dir', ...base, size: 0 });
        subdirs.push(rel);
      } else if (st.isSymbolicLink()) {
        try {
          const target = await readlink(abs);
          entries.set(rel, { type: 'symlink', ...base, size: Buffer.byteLength(target), target });
        } catch (err) {
          problems.push(problemOf(rel, err));
        }
      } else if (st.isFile()) {
        if (!options.hash) {
          entries.set(rel, { type: 'file', ...base });
          continue;
        }
        const r = await hashFile(abs, rel, signal);
        if ('type' in r) entries.set(rel, r);
        else problems.push(r);
      } else {
        problems.push({ path: rel, code: 'UNSUPPORTED_TYPE', message: 'not a regular file, directory or symlink (FIFO, socket or device)' });
      }
    }
    // Reverse so the stack lists subdirectories in name order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i] as string);
  }
  return { entries, problems };
}
