// Replaces a file so a reader sees the old text or the new, never a mix: a
// temporary file beside it, fsynced, renamed over it, the directory fsynced.
// A symbolic link is followed (the file it names is replaced, the link
// stays), as editors do with /etc files kept elsewhere.
import { link, lstat, mkdir, open, realpath, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDir } from '../replication/block/fs-sync.js';

// `keep`: link instead of rename, so a file that appeared meanwhile wins (EEXIST).
export async function writeAtomic(path: string, text: string, mode: number, keep = false): Promise<void> {
  const target = (await lstat(path).catch(() => null))?.isSymbolicLink() === true ? await realpath(path) : path;
  const tmp = `${target}.tandem-new`;
  try {
    await mkdir(dirname(target), { recursive: true });
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(text);
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (keep) await link(tmp, target).finally(() => unlink(tmp));
    else await rename(tmp, target);
    await syncDir(target);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
