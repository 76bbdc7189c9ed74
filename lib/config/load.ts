// The configuration API: validate raw data, parse YAML text, load a file,
// and format the issues for people. Never throws on bad input.
import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { ConfigIssue } from './types.js';
import type { ConfigResult } from './validate.js';
import { parseConfigText } from './yaml-source.js';

export { validateConfig, validateWithSections, type ConfigResult } from './validate.js';
export { parseConfigText, YAML_PATH } from './yaml-source.js';
export { formatIssues, formatWarnings } from './format.js';
export type { ValidateOptions } from './section.js';

export const FILE_PATH = '(file)';
// A configuration is a few kilobytes; the cap stops `--config /dev/zero`.
export const MAX_CONFIG_BYTES = 1024 * 1024;

export async function loadConfigFile(path: string, options: { hostname?: string } = {}): Promise<ConfigResult> {
  const r = await readConfigText(path);
  return r.ok ? parseConfigText(r.text, options) : { ok: false, issues: [r.issue] };
}

// The file's text as the daemon reads it: a regular file (or a symlink to
// one) of at most MAX_CONFIG_BYTES; otherwise the issue that says why not.
export async function readConfigText(path: string): Promise<{ ok: true; text: string } | { ok: false; issue: ConfigIssue }> {
  try {
    return { ok: true, text: await readCapped(path) };
  } catch (err) {
    return { ok: false, issue: fileIssue(path, err) };
  }
}

async function readCapped(path: string): Promise<string> {
  // Before open(): opening a FIFO would wait for a writer forever.
  const st = await stat(path);
  if (!st.isFile()) throw new NotRegular(kindOf(st));
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_CONFIG_BYTES) throw new TooLarge();
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}

class TooLarge extends Error {}
class NotRegular extends Error {}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'something else';
}

function fileIssue(path: string, err: unknown): ConfigIssue {
  if (err instanceof NotRegular) {
    return { path: FILE_PATH, value: undefined, message: `cannot read ${JSON.stringify(path)}: it is ${err.message}, not a regular file (a configuration file, or a symlink to one)` };
  }
  if (err instanceof TooLarge) {
    return { path: FILE_PATH, value: undefined, message: `cannot read ${JSON.stringify(path)}: larger than ${MAX_CONFIG_BYTES} bytes, which is not a configuration file` };
  }
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'error';
  const text = err instanceof Error ? err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '') : String(err);
  return { path: FILE_PATH, value: undefined, message: `cannot read ${JSON.stringify(path)}: ${code} (${text})` };
}
