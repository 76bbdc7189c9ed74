// The configuration API: validate raw data, parse YAML text, load a file,
// and format the issues for people. Never throws on bad input.
import { open } from 'node:fs/promises';
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
  let text: string;
  try {
    text = await readCapped(path);
  } catch (err) {
    return { ok: false, issues: [fileIssue(path, err)] };
  }
  return parseConfigText(text, options);
}

async function readCapped(path: string): Promise<string> {
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

function fileIssue(path: string, err: unknown): ConfigIssue {
  if (err instanceof TooLarge) {
    return { path: FILE_PATH, value: undefined, message: `cannot read ${JSON.stringify(path)}: larger than ${MAX_CONFIG_BYTES} bytes, which is not a configuration file` };
  }
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'error';
  const text = err instanceof Error ? err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '') : String(err);
  return { path: FILE_PATH, value: undefined, message: `cannot read ${JSON.stringify(path)}: ${code} (${text})` };
}
