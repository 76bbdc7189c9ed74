// Loads one of lib/net/native's addons (binding.gyp), built by `npm ci`
// (the package's install script) or scripts/setup.sh. A missing build is a
// TandemError that says how to build it.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { TandemError } from '../errors.js';

// From dist/lib/net/ (or lib/net/ under a TypeScript loader) to the package root's build output.
const BUILD = new URL('../../../lib/net/native/build/Release/', import.meta.url);
const loaded = new Map<string, unknown>();

// `what` names the addon in the error: "the IPv6 receive addon".
export function loadAddon<T>(target: string, what: string): T {
  const had = loaded.get(target);
  if (had !== undefined) return had as T;
  let addon: T;
  try {
    addon = createRequire(import.meta.url)(fileURLToPath(new URL(`${target}.node`, BUILD))) as T;
  } catch (err) {
    throw new TandemError('NATIVE_MISSING', `${what} is not built (${(err as Error).message.split('\n')[0]}); run \`npm run install\` (or scripts/setup.sh) in the source tree`);
  }
  loaded.set(target, addon);
  return addon;
}
