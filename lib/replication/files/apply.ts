// Applies replicated changes to a secondary's tree atomically (issue 4,
// "Apply on the secondary"): content goes to a temporary file in the target's
// directory, is fsynced, then renamed over the target, and the directory is
// fsynced; a reader sees the old file or the new one, never a mix.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, open, opendir, rename, rm, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { TandemError } from '../../errors.js';
import { printable, resolveInside } from './paths.js';

export const TEMP_PREFIX = '.tandem-tmp-';

// Seconds as a number are finer than a Date's milliseconds, but Node turns a negative number into "now":
// a time before 1970 goes as a Date.
const mtimeArg = (ms: number): number | Date => (ms < 0 ? new Date(ms) : ms / 1000);
export const DIR_MODE = 0o755;

export interface FileMeta { mode: number; mtimeMs: number }
export interface ApplyOptions { signal?: AbortSignal }

// errno values after which the same change may succeed later (disk freed, fds released).
const TRANSIENT = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EAGAIN', 'EMFILE', 'ENFILE', 'EBUSY', 'ETXTBSY', 'ENOMEM']);

// Exactly the names tempName() makes, so a user's own ".tandem-tmp-notes" is neither skipped nor deleted.
export const isTempName = (name: string): boolean => /^\.tandem-tmp-[0-9a-f]{16}$/.test(name);
const tempName = (): string => TEMP_PREFIX + randomBytes(8).toString('hex');
const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

function applyError(op: string, rel: string, cause: unknown): TandemError {
  if (cause instanceof TandemError && (cause.code === 'FILE_PATH_REFUSED' || cause.code === 'FILE_APPLY_FAILED')) return cause;
  const code = errno(cause);
  const transient = (code !== undefined && TRANSIENT.has(code)) || (cause instanceof TandemError && cause.transient);
  const why = cause instanceof Error ? cause.message : String(cause);
  return new TandemError('FILE_APPLY_FAILED', `${op} "${printable(rel)}" failed: ${why}`, { cause, transient });
}

async function resolved(root: string, rel: string): Promise<string> {
  const r = await resolveInside(root, rel);
  if (!r.ok) throw new TandemError('FILE_PATH_REFUSED', `refused path from peer: ${r.reason}`);
  return r.abs;
}

// mkdir -p below root; every directory created or found must be a real directory.
async function ensureParents(root: string, rel: string): Promise<void> {
  const segments = rel.split('/').slice(0, -1);
  let dir = path.resolve(root);
  for (const seg of segments) {
    dir = path.join(dir, seg);
    try {
      await mkdir(dir, { mode: DIR_MODE });
      await chmod(dir, DIR_MODE); // exact mode despite the umask
      await fsyncDir(path.dirname(dir)); // the new entry survives a crash with the file in it
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
    }
    const st = await lstat(dir);
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new TandemError('FILE_PATH_REFUSED', `refused path from peer: "${printable(rel)}": parent "${path.relative(root, dir)}" is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; parents must be real directories`);
    }
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try { await fh.sync(); } finally { await fh.close(); }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

async function unlinkQuiet(p: string): Promise<void> {
  try { await unlink(p); } catch { /* already gone, or the error we report is the first one */ }
}

// A file being written to a temporary name beside its target: write() appends,
// commit() publishes it with mode and mtime by rename (a directory in the way
// goes first: the path changed type on the source), abort() removes it.
// Mode and mtime are set before the fsync so the rename publishes them durably.
export class AtomicFile {
  written = 0;
  private fh: FileHandle | undefined;
  private tmp: string | undefined;

  private constructor(readonly root: string, readonly rel: string, readonly abs: string) {}

  static async create(root: string, rel: string): Promise<AtomicFile> {
    try {
      const abs = await resolved(root, rel);
      await ensureParents(root, rel);
      const a = new AtomicFile(root, rel, abs);
      a.tmp = path.join(path.dirname(abs), tempName());
      // O_EXCL: never reuse or follow anything already at the temporary name.
      a.fh = await open(a.tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      return a;
    } catch (err) {
      throw applyError('writing', rel, err);
    }
  }

  async write(buf: Buffer): Promise<void> {
    try {
      if (this.fh === undefined) throw new Error('the file is closed');
      await writeAll(this.fh, buf);
      this.written += buf.length;
    } catch (err) {
      await this.abort();
      throw applyError('writing', this.rel, err);
    }
  }

  async commit(meta: FileMeta): Promise<void> {
    try {
      const fh = this.fh;
      if (fh === undefined || this.tmp === undefined) throw new Error('the file is closed');
      await fh.chmod(meta.mode & 0o7777);
      await fh.utimes(Date.now() / 1000, mtimeArg(meta.mtimeMs));
      await fh.sync();
      this.fh = undefined;
      await fh.close();
      const st = await lstat(this.abs).catch(() => null);
      if (st?.isDirectory() === true) await rm(this.abs, { recursive: true, force: true });
      await rename(this.tmp, this.abs);
      this.tmp = undefined;
      await fsyncDir(path.dirname(this.abs));
    } catch (err) {
      await this.abort();
      throw applyError('writing', this.rel, err);
    }
  }

  async abort(): Promise<void> {
    const fh = this.fh;
    const tmp = this.tmp;
    this.fh = undefined;
    this.tmp = undefined;
    if (fh !== undefined) await fh.close().catch(() => undefined);
    if (tmp !== undefined) await unlinkQuiet(tmp);
  }
}

// Writes `source` to root/rel atomically, streaming chunk by chunk.
export async function writeFileAtomic(root: string, rel: string, source: AsyncIterable<Buffer> | Buffer, meta: FileMeta, opts: ApplyOptions = {}): Promise<void> {
  const f = await AtomicFile.create(root, rel);
  try {
    for await (const chunk of Buffer.isBuffer(source) ? [source] : source) {
      opts.signal?.throwIfAborted();
      await f.write(chunk);
    }
    opts.signal?.throwIfAborted();
  } catch (err) {
    await f.abort();
    throw applyError('writing', rel, err);
  }
  await f.commit(meta);
}

// Creates root/rel as a symlink to `target` (stored as is, never followed),
// replacing whatever file or symlink is there.
export async function symlinkAtomic(root: string, rel: string, target: string, meta: { mtimeMs?: number } = {}): Promise<void> {
  let tmp: string | undefined;
  try {
    if (target.length === 0 || target.includes('\0')) throw new Error('symlink target is empty or contains NUL');
    const abs = await resolved(root, rel);
    await ensureParents(root, rel);
    const dir = path.dirname(abs);
    tmp = path.join(dir, tempName());
    await symlink(target, tmp);
    if (meta.mtimeMs !== undefined) await lutimes(tmp, Date.now() / 1000, mtimeArg(meta.mtimeMs));
    await rename(tmp, abs);
    tmp = undefined;
    await fsyncDir(dir);
  } catch (err) {
    if (tmp !== undefined) await unlinkQuiet(tmp);
    throw applyError('creating symlink', rel, err);
  }
}

// Removes a file, symlink or empty directory; a non-empty directory only with
// `recursive` (symlinks inside are removed, not followed). Returns false when
// nothing was there.
export async function removeEntry(root: string, rel: string, opts: { recursive?: boolean } = {}): Promise<boolean> {
  try {
    const abs = await resolved(root, rel);
    let st;
    try {
      st = await lstat(abs);
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
    if (st.isDirectory()) {
      if (opts.recursive === true) await rm(abs, { recursive: true, force: true });
      else await rmdir(abs);
    } else {
      await unlink(abs);
    }
    await fsyncDir(path.dirname(abs));
    return true;
  } catch (err) {
    throw applyError('removing', rel, err);
  }
}

// Creates root/rel (and its parents) as a directory with exactly `mode`; an
// existing directory just gets the mode. Anything else in the way is an error.
export async function mkdirEntry(root: string, rel: string, mode: number): Promise<void> {
  try {
    const abs = await resolved(root, rel);
    await ensureParents(root, rel);
    try {
      await mkdir(abs, { mode: mode & 0o7777 });
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      const st = await lstat(abs);
      if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`a ${st.isSymbolicLink() ? 'symlink' : 'non-directory'} is in the way`);
    }
    await chmod(abs, mode & 0o7777);
    await fsyncDir(path.dirname(abs));
  } catch (err) {
    throw applyError('creating directory', rel, err);
  }
}

// Sets mode and/or mtime on root/rel without following a symlink there:
// chmod is skipped for symlinks (Linux has no lchmod), mtime uses lutimes.
export async function setMeta(root: string, rel: string, meta: { mode?: number; mtimeMs?: number }): Promise<void> {
  try {
    const abs = await resolved(root, rel);
    const st = await lstat(abs);
    if (meta.mode !== undefined && !st.isSymbolicLink()) await chmod(abs, meta.mode & 0o7777);
    if (meta.mtimeMs !== undefined) await lutimes(abs, st.atimeMs / 1000, mtimeArg(meta.mtimeMs));
  } catch (err) {
    throw applyError('setting metadata on', rel, err);
  }
}

// Removes temporary files left by a crash anywhere below root; never follows
// symlinks. Returns the paths removed, relative to root, and the directories it
// could not look into (a path past PATH_MAX, no permission): those are skipped,
// never a reason to keep the volume (and the daemon) from starting.
export async function cleanTemps(root: string): Promise<{ removed: string[]; skipped: string[] }> {
  const removed: string[] = [];
  const skipped: string[] = [];
  const base = path.resolve(root);
  const walk = async (dir: string): Promise<void> => {
    try {
      const handle = await opendir(dir);
      for await (const ent of handle) {
        const abs = path.join(dir, ent.name);
        if (ent.isDirectory()) await walk(abs);
        else if (isTempName(ent.name)) {
          await unlink(abs);
          removed.push(path.relative(base, abs));
        }
      }
    } catch (e) {
      if (dir === base) throw e; // the tree itself must be readable
      skipped.push(`${path.relative(base, dir).slice(0, 200)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  await walk(base);
  return { removed, skipped };
}
