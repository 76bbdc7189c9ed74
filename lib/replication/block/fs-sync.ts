// Makes a rename or a new file in a directory durable: fsync the directory
// itself (POSIX leaves the entry volatile until then).
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function syncDir(path: string): Promise<void> {
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
