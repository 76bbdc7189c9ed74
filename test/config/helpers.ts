// The assertions every config test uses: validate a raw document as the
// loader does (host name "testhost" unless given), then expect exactly one
// issue at a path, or a valid configuration. mutate() makes random bad documents
// out of a good one, for tests that a refusal is an issue, never a throw.
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

// The smallest valid block volume; tests override one key at a time.
export function blockVolume(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'db',
    device: '/var/lib/tandem/db.img',
    size: '10GiB',
    listen: '198.51.100.11:7789',
    peers: [{ name: 'node-b', address: '198.51.100.12:7789' }],
    ...over,
  };
}

// A document of node-a with these volumes; `extra` adds keys to replication.
export function replicationDoc(volumes: unknown[], extra: Record<string, unknown> = {}, node: Record<string, unknown> = { name: 'node-a' }): Record<string, unknown> {
  return { node, replication: { secret_file: '/etc/tandem/secret', volumes, ...extra } };
}

const ODD: unknown[] = [null, 0, -1, 1.5, 1e308, NaN, '', ' ', 'x'.repeat(300), true, [], {}, [null], { a: {} }, '192.0.2.1/99', 'fe80::1%eth0', '\0'];

// Replaces one random node of `value` with an odd value, or deletes a key.
export function mutate(value: unknown, next: () => number): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || next() < 0.2) return ODD[Math.floor(next() * ODD.length)];
    const copy = [...value];
    const i = Math.floor(next() * copy.length);
    copy[i] = mutate(copy[i], next);
    return copy;
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    if (keys.length === 0 || next() < 0.15) return ODD[Math.floor(next() * ODD.length)];
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const key = keys[Math.floor(next() * keys.length)] ?? '';
    if (next() < 0.2) delete copy[key];
    else copy[key] = mutate(copy[key], next);
    return copy;
  }
  return ODD[Math.floor(next() * ODD.length)];
}
