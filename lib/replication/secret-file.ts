// The shared secret of the replication links (replication.secret_file): a
// regular file, at least MIN_SECRET_BYTES long without the newline `echo`
// leaves, which only root should read (like a DRBD shared-secret in a 0600
// config). Read by the daemon, and checked by `provision` when it keeps one.
import { readFile, stat } from 'node:fs/promises';
import { EX_CONFIG, TandemError } from '../errors.js';

export const MIN_SECRET_BYTES = 16;

// `warn`: told when the file is readable by group or others.
export async function readSecret(path: string, warn: (message: string) => void): Promise<Buffer> {
  let bytes: Buffer;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    if ((st.mode & 0o077) !== 0) warn(`replication.secret_file ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    bytes = await readFile(path);
  } catch (e) {
    throw new TandemError('SECRET_UNREADABLE', `replication.secret_file ${path}: ${(e as Error).message}; create it with e.g. \`head -c 32 /dev/urandom | base64 > ${path}; chmod 600 ${path}\` on every node`, { exitCode: EX_CONFIG });
  }
  // A trailing newline from `echo` is not part of the secret.
  const secret = Buffer.from(bytes.toString('utf8').replace(/\r?\n$/, ''), 'utf8');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new TandemError('SECRET_TOO_SHORT', `replication.secret_file ${path} holds ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are required`, { exitCode: EX_CONFIG });
  }
  return secret;
}
