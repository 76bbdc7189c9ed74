// The assertions every config test uses: validate a raw document as the
// loader does (host name "testhost" unless given), then expect exactly one
// issue at a path, or a valid configuration.
import { expect } from 'chai';
import { formatIssues, validateConfig } from '../../lib/config/load.js';
import type { ConfigIssue, TandemConfig } from '../../lib/config/types.js';

export const validate = (raw: unknown, hostname = 'testhost') => validateConfig(raw, { hostname });

export function issuesOf(raw: unknown, hostname?: string): ConfigIssue[] {
  const r = validate(raw, hostname);
  return r.ok ? [] : r.issues;
}

// Exactly one issue, at `path`, whose message contains every fragment; validated as host `hostname`.
export function expectOnlyAs(hostname: string | undefined, raw: unknown, path: string, ...fragments: string[]): ConfigIssue {
  const issues = issuesOf(raw, hostname);
  const shown = formatIssues(issues, 'test');
  expect(issues, shown).to.have.length(1);
  expect(issues[0]?.path, shown).to.equal(path);
  for (const f of fragments) expect(issues[0]?.message, shown).to.include(f);
  return issues[0] as ConfigIssue;
}

export const expectOnly = (raw: unknown, path: string, ...fragments: string[]): ConfigIssue => expectOnlyAs(undefined, raw, path, ...fragments);

// A document without errors: its configuration and warnings.
export function validOf(raw: unknown, hostname?: string): { config: TandemConfig; warnings: ConfigIssue[] } {
  const r = validate(raw, hostname);
  if (!r.ok) return expect.fail(formatIssues(r.issues, 'test'));
  return { config: r.config, warnings: r.warnings ?? [] };
}
