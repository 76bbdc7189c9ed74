// One entry of `services` (issue 5): what runs (exactly one of a systemd
// unit, a command tandem runs itself, or a oneshot start/stop pair), the
// volumes it needs, its health check, restart budget and timeouts. Names
// across services and the volumes of `requires` are checked in
// services-section.ts.
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from '../services/restart-policy.js';
import { Fields, integer, list, mapping, oneOf, seconds, text, type Check } from './checks.js';
import type { Issues } from './issues.js';
import { argv, objectName } from './names.js';
import type { KeyPath } from './path.js';
import { readHealth } from './services-health.js';
import { checkKeys } from './suggest.js';
import type { HealthCheckConfig, ServiceConfig } from './types.js';

export const SERVICE_KINDS = ['unit', 'command', 'oneshot'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];
export const SERVICE_KEYS = [
  'name', ...SERVICE_KINDS, 'user', 'env', 'requires', 'health', 'restart', 'start_timeout', 'stop_timeout',
] as const;
export const RESTART_KEYS = ['action', 'max_retries', 'min_lifetime'] as const;
export const ONESHOT_KEYS = ['start', 'stop'] as const;
const COMMAND_ONLY_KEYS = ['user', 'env'] as const;

export const DEFAULT_START_TIMEOUT_MS = 60_000;
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;

const KINDS_TEXT = 'exactly one of unit: NAME.service, command: ["/path", "arg", ...] or oneshot: { start: [...], stop: [...] }';
const SERVICE_HINTS: Readonly<Record<string, string>> = {
  type: `what a service is follows from its key: ${KINDS_TEXT}`,
  exec: 'a process tandem runs itself is written command: ["/path", "arg", ...]',
  exec_start: 'a process tandem runs itself is written command: ["/path", "arg", ...]',
  ExecStart: 'a process tandem runs itself is written command: ["/path", "arg", ...]',
  environment: 'write env: { KEY: value }',
  volumes: 'the volumes a service needs are written requires: [VOLUME, ...]',
  after: 'services start in the order of the list (and stop in reverse); requires names the volumes a service needs',
  depends_on: 'services start in the order of the list (and stop in reverse); requires names the volumes a service needs',
  timeout: 'write start_timeout (to become healthy) or stop_timeout (before SIGKILL)',
};

const timeoutSeconds = seconds(0, 3600, 1000, true);
const restartAction = oneOf(['restart', 'switchover'] as const);
const maxRetries = integer(0, 1000);
const minLifetime = seconds(0, 86400, 1000, true);
const userName = text(
  'a user name: 1..32 characters from A-Z a-z 0-9 _ . -, starting with a letter or "_"',
  (s) => /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(s),
);

// What the checks across services need, even from a broken entry.
export interface ServiceDraft {
  at: KeyPath;
  name?: string;
  requires?: string[];
  config?: ServiceConfig;
}

export function readService(raw: unknown, at: KeyPath, issues: Issues): ServiceDraft | undefined {
  const obj = mapping(raw, at, issues, `a service: name and ${KINDS_TEXT}`);
  if (obj === undefined) return undefined;
  const before = issues.count;
  checkKeys(obj, SERVICE_KEYS, at, issues, SERVICE_HINTS);
  const f = new Fields(obj, at, issues);
  const name = f.required('name', objectName);
  const kind = readKind(f);
  const requires = readRequires(f);
  const health: HealthCheckConfig | null | undefined = f.has('health') ? readHealth(f.raw('health'), f.path('health'), issues) : null;
  const restart = f.has('restart') ? readRestart(f.raw('restart'), f.path('restart'), issues) : { ...DEFAULT_RESTART_POLICY };
  const startTimeoutMs = f.withDefault('start_timeout', timeoutSeconds, DEFAULT_START_TIMEOUT_MS);
  const stopTimeoutMs = f.withDefault('stop_timeout', timeoutSeconds, DEFAULT_STOP_TIMEOUT_MS);
  const what = kind === undefined ? undefined : readWhat(f, kind);

  const draft: ServiceDraft = { at };
  if (name !== undefined) draft.name = name;
  if (requires !== undefined) draft.requires = requires;
  if (issues.count > before || name === undefined || what === undefined || requires === undefined || health === undefined || restart === undefined) return draft;
  draft.config = { name, requires, health, restart, startTimeoutMs, stopTimeoutMs, ...what };
  return draft;
}

// Exactly one of the kind keys; the second one written is reported on its
// own key, and the first is still read, so its own problems show too.
function readKind(f: Fields): ServiceKind | undefined {
  const kinds = Object.keys(f.obj).filter((k): k is ServiceKind => (SERVICE_KINDS as readonly string[]).includes(k));
  const [first, second] = kinds;
  if (first === undefined) {
    f.issues.error(f.at, f.obj, `no unit, command or oneshot: a service has ${KINDS_TEXT}`);
    return undefined;
  }
  if (second !== undefined) {
    f.issues.error(f.path(second), f.raw(second), `${first} and ${second} are both given: a service has ${KINDS_TEXT}`);
  }
  for (const key of COMMAND_ONLY_KEYS) {
    if (first === 'command' || !f.has(key)) continue;
    const instead = first === 'unit' ? 'a systemd unit sets User= and Environment= in its unit file' : 'oneshot actions run as the daemon, with its environment';
    f.issues.error(f.path(key), f.raw(key), `${key} applies to command services only: ${instead}`);
  }
  return first;
}

type What = Pick<Extract<ServiceConfig, { kind: 'unit' }>, 'kind' | 'unit'>
  | Pick<Extract<ServiceConfig, { kind: 'command' }>, 'kind' | 'argv' | 'user' | 'env'>
  | Pick<Extract<ServiceConfig, { kind: 'oneshot' }>, 'kind' | 'start' | 'stop'>;

function readWhat(f: Fields, kind: ServiceKind): What | undefined {
  if (kind === 'unit') {
    const unit = f.required('unit', unitName);
    return unit === undefined ? undefined : { kind, unit };
  }
  if (kind === 'command') {
    const args = f.required('command', argv);
    const user = f.optional('user', userName);
    const env = f.has('env') ? readEnv(f.raw('env'), f.path('env'), f.issues) : {};
    if (args === undefined || env === undefined) return undefined;
    return user === undefined ? { kind, argv: args, env } : { kind, argv: args, user, env };
  }
  const obj = mapping(f.raw('oneshot'), f.path('oneshot'), f.issues, 'start and stop, each a list: ["/path", "arg", ...]');
  if (obj === undefined) return undefined;
  checkKeys(obj, ONESHOT_KEYS, f.path('oneshot'), f.issues);
  const pair = new Fields(obj, f.path('oneshot'), f.issues);
  const start = pair.required('start', argv);
  const stop = pair.required('stop', argv);
  return start === undefined || stop === undefined ? undefined : { kind, start, stop };
}

const UNIT_CHARS = 'A-Z a-z 0-9 : _ . - \\';
export const unitName: Check<string> = {
  allowed: `a systemd service unit such as "postgresql.service" or "app@1.service": at most 255 characters from ${UNIT_CHARS}, ending in ".service"`,
  read(value, at, issues) {
    const why = unitProblem(value);
    if (why === undefined) return value as string;
    issues.error(at, value, `${why}: must be ${unitName.allowed}`);
    return undefined;
  },
};

// As systemd's unit_name_is_valid(), for the .service type only.
function unitProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'not a string';
  const other = /\.(socket|timer|target|mount|automount|path|swap|slice|scope|device)$/.exec(value);
  if (other !== null) return `a .${other[1]} unit is not a service: tandem starts and stops .service units`;
  if (!value.endsWith('.service')) return `the suffix is missing (write "${value}.service")`;
  if (value.length > 255) return `${value.length} characters is too long`;
  if (/@\.service$/.test(value)) return 'a template needs an instance (NAME@INSTANCE.service)';
  return /^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]+)?\.service$/.test(value) ? undefined : 'it has a character outside the allowed set';
}

function readRequires(f: Fields): string[] | undefined {
  const names = f.has('requires') ? f.optional('requires', list(objectName)) : [];
  if (names === undefined) return undefined;
  const twice = names.findIndex((n, i) => names.indexOf(n) !== i);
  if (twice < 0) return names;
  f.issues.error(f.path('requires', twice), names[twice], `${names[twice]} is listed twice: each volume once`);
  return undefined;
}

function readRestart(raw: unknown, at: KeyPath, issues: Issues): RestartPolicy | undefined {
  const obj = mapping(raw, at, issues, 'keys: action (restart or switchover), max_retries, min_lifetime (seconds)');
  if (obj === undefined) return undefined;
  const before = issues.count;
  checkKeys(obj, RESTART_KEYS, at, issues);
  const f = new Fields(obj, at, issues);
  const policy: RestartPolicy = {
    action: f.withDefault('action', restartAction, DEFAULT_RESTART_POLICY.action),
    maxRetries: f.withDefault('max_retries', maxRetries, DEFAULT_RESTART_POLICY.maxRetries),
    minLifetimeMs: f.withDefault('min_lifetime', minLifetime, DEFAULT_RESTART_POLICY.minLifetimeMs),
  };
  return issues.count > before ? undefined : policy;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function readEnv(raw: unknown, at: KeyPath, issues: Issues): Record<string, string> | undefined {
  const obj = mapping(raw, at, issues, 'variable name -> string value, such as { PORT: "8080" }');
  if (obj === undefined) return undefined;
  const out: Record<string, string> = {};
  let ok = true;
  for (const [key, value] of Object.entries(obj)) {
    const why = !ENV_NAME.test(key) ? `${JSON.stringify(key)} is not a variable name: names are A-Z a-z 0-9 _, not starting with a digit`
      : typeof value !== 'string' ? `must be a string${typeof value === 'number' || typeof value === 'boolean' ? ` (quote it: "${String(value)}")` : ''}`
        : value.includes('\0') ? 'must not contain a NUL byte' : undefined;
    if (why === undefined && typeof value === 'string') out[key] = value;
    else {
      issues.error([...at, key], value, why ?? 'must be a string');
      ok = false;
    }
  }
  return ok ? out : undefined;
}
