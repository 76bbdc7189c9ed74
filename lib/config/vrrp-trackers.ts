// Tracking: `vrrp.scripts` (keepalived's vrrp_script blocks) and the
// track_interface / track_script entries of an instance.
import { Fields, integer, isMapping, mapping, seconds, type Check } from './checks.js';
import { listChoices, type Issues } from './issues.js';
import { interfaceName, isObjectName, objectName, scriptLine } from './names.js';
import type { KeyPath } from './path.js';
import { checkKeys, didYouMean } from './suggest.js';
import type { ScriptConfig, TrackInterface, TrackScriptRef } from './types.js';

export const SCRIPT_KEYS = ['script', 'interval', 'timeout', 'weight', 'rise', 'fall'] as const;
export const TRACK_KEYS = ['name', 'weight'] as const;

// keepalived's range for tracker weights (vrrp_script and track_* weight).
export const trackWeight = integer(-253, 253);
const MAX_PERIOD_S = 86400; // a day; also keeps timers inside setTimeout's range
const period = seconds(0, MAX_PERIOD_S, 1000, true);
const count = integer(1, Infinity);

export function readScripts(raw: unknown, at: KeyPath, issues: Issues): Record<string, ScriptConfig> {
  const out: Record<string, ScriptConfig> = {};
  if (raw === undefined) return out;
  const scripts = mapping(raw, at, issues, 'script name -> { script, interval, timeout, weight, rise, fall }');
  if (scripts === undefined) return out;
  for (const [name, body] of Object.entries(scripts)) {
    const here = [...at, name];
    if (!isObjectName(name)) issues.error(here, name, `a script name must be ${objectName.allowed}`);
    const obj = mapping(body, here, issues, `keys: ${SCRIPT_KEYS.join(', ')}`);
    if (obj === undefined) continue;
    checkKeys(obj, SCRIPT_KEYS, here, issues);
    const f = new Fields(obj, here, issues);
    const intervalMs = f.withDefault('interval', period, 1000);
    out[name] = {
      name,
      script: f.required('script', scriptLine) ?? '',
      intervalMs,
      timeoutMs: f.withDefault('timeout', period, intervalMs),
      weight: f.withDefault('weight', trackWeight, 0),
      rise: f.withDefault('rise', count, 1),
      fall: f.withDefault('fall', count, 1),
    };
  }
  return out;
}

// A list entry that is either a bare name or { name, weight }.
function nameOrObject<T>(what: string, nameCheck: Check<string>, build: (name: string, weight: number | undefined) => T): Check<T> {
  const allowed = `${what}, or { name, weight } with weight ${trackWeight.allowed}`;
  return {
    allowed,
    read(value, at, issues) {
      if (typeof value === 'string') {
        const name = nameCheck.read(value, at, issues);
        return name === undefined ? undefined : build(name, undefined);
      }
      if (!isMapping(value)) {
        issues.error(at, value, `must be ${allowed}`);
        return undefined;
      }
      checkKeys(value, TRACK_KEYS, at, issues);
      const f = new Fields(value, at, issues);
      const name = f.required('name', nameCheck);
      const weight = f.optional('weight', trackWeight);
      return name === undefined ? undefined : build(name, weight);
    },
  };
}

const trackInterfaceEntry = nameOrObject('an interface name', interfaceName, (name, weight): TrackInterface => ({
  name,
  weight: weight ?? 0,
}));

const trackScriptEntry = nameOrObject('a script name', objectName, (name, weight): TrackScriptRef =>
  weight === undefined ? { name } : { name, weight },
);

// Reads a track list; each name once, and (for scripts) known to vrrp.scripts.
function readTrackList<T extends { name: string }>(
  raw: unknown,
  at: KeyPath,
  issues: Issues,
  entry: Check<T>,
  known?: readonly string[],
): T[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.error(at, raw, `must be a list of ${entry.allowed}`);
    return [];
  }
  const out: T[] = [];
  raw.forEach((v: unknown, i) => {
    const item = entry.read(v, [...at, i], issues);
    if (item === undefined) return;
    if (out.some((o) => o.name === item.name)) {
      issues.error([...at, i], v, `${item.name} is listed twice: entries must be unique`);
    } else if (known !== undefined && !known.includes(item.name)) {
      const guess = didYouMean(item.name, known);
      const hint = guess === undefined ? '' : `did you mean "${guess}"? `;
      const have = known.length === 0 ? 'vrrp.scripts defines none' : `defined: ${listChoices(known)}`;
      issues.error([...at, i], v, `no such script: ${hint}must name a script of vrrp.scripts (${have})`);
    }
    out.push(item);
  });
  return out;
}

export function readTrackInterfaces(raw: unknown, at: KeyPath, issues: Issues): TrackInterface[] {
  return readTrackList(raw, at, issues, trackInterfaceEntry);
}

export function readTrackScripts(raw: unknown, at: KeyPath, issues: Issues, known: readonly string[] | undefined): TrackScriptRef[] {
  return readTrackList(raw, at, issues, trackScriptEntry, known);
}
