// The data set of `npm run bench:files`: many small files spread over nested
// directories, plus a few large ones, written once and copied into each lab.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DataSet {
  files: number;
  bytes: number;
}

export async function makeDataSet(root: string, small: number, large: number, largeMiB: number): Promise<DataSet> {
  let bytes = 0;
  const dirs: string[] = [];
  for (let i = 0; i < 100; i++) {
    const d = join(root, `d${i % 10}`, `e${i}`);
    await mkdir(d, { recursive: true });
    dirs.push(d);
  }
  for (let i = 0; i < small; i++) {
    const b = randomBytes(512 + ((i * 7919) % 7680)); // 0.5-8 KiB
    await writeFile(join(dirs[i % dirs.length] as string, `f${i}`), b);
    bytes += b.length;
  }
  await mkdir(join(root, 'large'), { recursive: true });
  for (let i = 0; i < large; i++) {
    const b = randomBytes(largeMiB << 20);
    await writeFile(join(root, 'large', `big${i}`), b);
    bytes += b.length;
  }
  return { files: small + large, bytes };
}
