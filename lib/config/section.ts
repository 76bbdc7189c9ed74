// A top-level section of the file (`node`, `vrrp`, `replication`, `services`,
// `startup`): each owns its key, its checks and its defaults, so adding one
// is a new file plus one line in sections.ts, and no other section changes.
import type { Issues } from './issues.js';
import type { KeyPath } from './path.js';
import type { TandemConfig } from './types.js';

export interface ValidateOptions {
  hostname?: string; // default for node.name; os.hostname() when not given
}

export interface SectionContext {
  issues: Issues;
  options: Required<ValidateOptions>;
}

export interface Section<K extends keyof TandemConfig> {
  key: K;
  // Called with `raw` undefined when the section is absent: return its
  // defaults, or report it as missing. Report every problem to ctx.issues; the
  // return value is only used when the whole file is free of errors.
  validate(raw: unknown, at: KeyPath, ctx: SectionContext): TandemConfig[K] | undefined;
  // Checks across sections, run once every section has been read; fields of
  // sections that had errors may be missing.
  crossCheck?(config: Partial<TandemConfig>, ctx: SectionContext): void;
}

// Any registered section, whatever its key.
export type AnySection = { [K in keyof TandemConfig]: Section<K> }[keyof TandemConfig];
