// The `health` key of a service: exactly one probe (http, tcp or exec) and
// how often it runs. A probe that does not answer within timeout fails, and
// the next one starts after interval, so timeout must be shorter.
import { Fields, mapping, seconds } from './checks.js';
import type { Issues } from './issues.js';
import { argv, hostPort } from './names.js';
import type { KeyPath } from './path.js';
import { checkKeys } from './suggest.js';
import type { HealthCheckConfig } from './types.js';

export const HEALTH_KINDS = ['http', 'tcp', 'exec'] as const;
type HealthKind = (typeof HEALTH_KINDS)[number];
export const HEALTH_KEYS = [...HEALTH_KINDS, 'interval', 'timeout'] as const;
export const DEFAULT_HEALTH_INTERVAL_MS = 2000;
export const DEFAULT_HEALTH_TIMEOUT_MS = 1000;

const HEALTH_HINTS: Readonly<Record<string, string>> = {
  https: 'an https URL goes in http: "https://..."',
  url: 'write http: "http://HOST:PORT/PATH"',
  command: 'a command probe is written exec: ["/path", "arg", ...]',
  script: 'a command probe is written exec: ["/path", "arg", ...]',
};

const MAX_PERIOD_S = 3600;
const interval = seconds(0.1, MAX_PERIOD_S, 1000);
const timeout = seconds(0, MAX_PERIOD_S, 1000, true);
const tcpAddress = hostPort(false);
const KINDS_TEXT = 'exactly one of http: "http://HOST:PORT/PATH", tcp: "ADDRESS:PORT" or exec: ["/path", "arg", ...]';

export function readHealth(raw: unknown, at: KeyPath, issues: Issues): HealthCheckConfig | undefined {
  const obj = mapping(raw, at, issues, `${KINDS_TEXT}, with optional interval and timeout (seconds)`);
  if (obj === undefined) return undefined;
  const before = issues.count;
  checkKeys(obj, HEALTH_KEYS, at, issues, HEALTH_HINTS);
  const f = new Fields(obj, at, issues);
  const kinds = Object.keys(obj).filter((k): k is HealthKind => (HEALTH_KINDS as readonly string[]).includes(k));
  if (kinds.length !== 1) {
    const why = kinds.length === 0 ? 'no probe is given' : `${kinds.join(' and ')} are both given`;
    issues.error(kinds.length === 0 ? at : f.path(kinds[1] ?? ''), kinds.length === 0 ? raw : f.raw(kinds[1] ?? ''), `${why}: a health check has ${KINDS_TEXT}`);
  }
  const beforeTimes = issues.count;
  const intervalMs = f.withDefault('interval', interval, DEFAULT_HEALTH_INTERVAL_MS);
  const timeoutMs = f.withDefault('timeout', timeout, DEFAULT_HEALTH_TIMEOUT_MS);
  if (issues.count === beforeTimes && timeoutMs >= intervalMs) {
    const said = f.has('timeout') ? '' : ' (timeout defaults to 1 s)';
    issues.error(f.path(f.has('timeout') ? 'timeout' : 'interval'), f.has('timeout') ? f.raw('timeout') : f.raw('interval'),
      `timeout ${timeoutMs / 1000} s is not shorter than interval ${intervalMs / 1000} s${said}: a probe must end before the next one starts`);
  }
  const probe = readProbe(f, kinds[0]);
  if (issues.count > before || probe === undefined) return undefined;
  return { ...probe, intervalMs, timeoutMs };
}

type Probe = { kind: 'http'; url: string } | { kind: 'tcp'; host: string; port: number } | { kind: 'exec'; argv: string[] };

function readProbe(f: Fields, kind: HealthKind | undefined): Probe | undefined {
  if (kind === 'http') {
    const url = readUrl(f.raw('http'), f.path('http'), f.issues);
    return url === undefined ? undefined : { kind, url };
  }
  if (kind === 'tcp') {
    const address = f.required('tcp', tcpAddress);
    return address === undefined ? undefined : { kind, host: address.host, port: address.port };
  }
  if (kind === 'exec') {
    const args = f.required('exec', argv);
    return args === undefined ? undefined : { kind, argv: args };
  }
  return undefined;
}

const URL_ALLOWED = 'an http:// or https:// URL with a host, such as "http://127.0.0.1:8080/health" (healthy on a 2xx or 3xx answer)';

function readUrl(value: unknown, at: KeyPath, issues: Issues): string | undefined {
  const why = urlProblem(value);
  if (why === undefined) return value as string;
  issues.error(at, value, `${why}: must be ${URL_ALLOWED}`);
  return undefined;
}

function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'not a string';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? 'not a valid URL' : 'not a URL (it needs the scheme, "http://")';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `the scheme ${url.protocol.slice(0, -1)} is not http or https`;
  if (url.hostname === '') return 'the host is missing';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL are not supported';
  return undefined;
}
