// validateConfig: raw data (as YAML parsed it) -> the normalized TandemConfig,
// or every issue found. Pure apart from reading the host name for the default
// node.name, which callers and tests may pass in instead.
import { hostname } from 'node:os';
import { isMapping } from './checks.js';
import { Issues } from './issues.js';
import type { AnySection, Section, SectionContext, ValidateOptions } from './section.js';
import { SECTIONS } from './sections.js';
import { checkKeys } from './suggest.js';
import type { ConfigIssue, TandemConfig } from './types.js';

export type ConfigResult =
  | { ok: true; config: TandemConfig; warnings?: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] };

export function validateConfig(raw: unknown, options: ValidateOptions = {}): ConfigResult {
  return validateWithSections(raw, SECTIONS, options);
}

export function validateWithSections(raw: unknown, sections: readonly AnySection[], options: ValidateOptions = {}): ConfigResult {
  const issues = new Issues();
  const ctx: SectionContext = { issues, options: { hostname: options.hostname ?? hostname() } };
  const keys = sections.map((s) => s.key);
  if (!isMapping(raw)) {
    const what = raw === null || raw === undefined ? 'the file is empty' : 'the top level is not a mapping';
    issues.error([], raw ?? undefined, `${what}: expected a mapping with the keys ${keys.join(', ')}`);
    return { ok: false, issues: issues.errors };
  }
  checkKeys(raw, keys, [], issues);
  const out: Partial<TandemConfig> = {};
  for (const section of sections) runSection(section, raw, out, ctx);
  for (const section of sections) section.crossCheck?.(out, ctx);
  const { node, vrrp, replication, services, startup } = out;
  if (issues.count > 0 || node === undefined || vrrp === undefined || replication === undefined || services === undefined || startup === undefined) {
    return { ok: false, issues: issues.errors };
  }
  return { ok: true, config: { node, vrrp, replication, services, startup }, warnings: issues.warnings };
}

function runSection<K extends keyof TandemConfig>(
  section: Section<K>,
  raw: Record<string, unknown>,
  out: Partial<TandemConfig>,
  ctx: SectionContext,
): void {
  const value = section.validate(Object.hasOwn(raw, section.key) ? raw[section.key] : undefined, [section.key], ctx);
  if (value !== undefined) out[section.key] = value;
}
