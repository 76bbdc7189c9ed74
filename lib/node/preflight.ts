// What `daemon -t` checks beyond the file itself, from what a start would
// fail on: the replication secret, and each block volume's device against its
// configured size. Reads only: nothing is created, opened for writing or locked.
import { stat } from 'node:fs/promises';
import type { TandemConfig } from '../config/types.js';
import { blockDeviceSize, NOT_A_VOLUME, sizeProblem } from '../replication/block/image.js';
import { readSecret } from '../replication/secret-file.js';

export async function preflight(cfg: TandemConfig, warn: (message: string) => void): Promise<string[]> {
  const problems: string[] = [];
  const { volumes, secretFile } = cfg.replication;
  if (volumes.length > 0) await readSecret(secretFile, warn).catch((e: Error) => problems.push(e.message));
  for (const v of volumes) {
    if (v.type !== 'block') continue;
    const p = await deviceProblem(v.device, v.size);
    if (p !== null) problems.push(`replication.volumes ${v.name}: ${p}`);
  }
  return problems;
}

async function deviceProblem(path: string, size: number): Promise<string | null> {
  let st;
  try {
    st = await stat(path, { bigint: true });
  } catch (e) {
    // A missing image file is created at start; anything else would stop the start too.
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? null : `cannot read ${path}: ${(e as Error).message}`;
  }
  if (st.isBlockDevice()) return sizeProblem(path, 'block-device', await blockDeviceSize(st.rdev), size)?.message ?? null;
  if (!st.isFile()) return NOT_A_VOLUME(path);
  return sizeProblem(path, 'file', Number(st.size), size)?.message ?? null;
}
