// Small value checks shared by every section. A check reports its own issue
// (naming what is allowed) and returns undefined; it never coerces: the
// string "150" is not the number 150, and YAML 1.2 reads `yes` as a string.
import { Issues, listChoices } from './issues.js';
import type { KeyPath } from './path.js';
import { didYouMean } from './suggest.js';

export interface Check<T> {
  readonly allowed: string; // completes "must be ...", e.g. "an integer 1..255"
  read(value: unknown, at: KeyPath, issues: Issues): T | undefined;
}

// A check whose only failure message is "must be <allowed>" plus a hint.
export function check<T>(allowed: string, test: (v: unknown) => T | undefined): Check<T> {
  return {
    allowed,
    read(value, at, issues) {
      const out = test(value);
      if (out === undefined) issues.error(at, value, `must be ${allowed}${quotedHint(value, allowed)}`);
      return out;
    },
  };
}

// For YAML, where "150" is a string; a command-line flag has no quotes to drop (provision-flags.ts takes it out).
export const QUOTED_NUMBER_HINT = ' (this is a quoted string: write the number without quotes)';

function quotedHint(value: unknown, allowed: string): string {
  if (typeof value !== 'string') return '';
  if (/\b(integer|number)\b/.test(allowed) && value.trim() !== '' && !Number.isNaN(Number(value))) return QUOTED_NUMBER_HINT;
  if (allowed === 'true or false' && /^(yes|no|on|off|true|false|y|n)$/i.test(value)) {
    return ' (YAML 1.2 reads this as a string: write true or false, unquoted)';
  }
  return '';
}

export const bool: Check<boolean> = check('true or false', (v) => (typeof v === 'boolean' ? v : undefined));

export function integer(min: number, max: number): Check<number> {
  const allowed = max === Infinity ? `an integer >= ${min}` : `an integer ${min}..${max}`;
  return check(allowed, (v) => (Number.isInteger(v) && Number(v) >= min && Number(v) <= max ? Number(v) : undefined));
}

// A duration written in seconds; `scale` converts it (1000 = ms, 100 = cs).
// Values must land on a whole unit, so 0.0005 s is refused rather than rounded.
export function seconds(min: number, max: number, scale: number, minExclusive = false): Check<number> {
  const step = 1 / scale;
  const low = minExclusive ? `> ${min}` : `>= ${min}`;
  const allowed = `a number of seconds ${low} and <= ${max}, in steps of ${step}`;
  return check(allowed, (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    if (v < min || v > max || (minExclusive && v === min)) return undefined;
    const units = Math.round(v * scale);
    return Math.abs(units - v * scale) < 1e-6 && (units > 0 || !minExclusive) ? units : undefined;
  });
}

export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  const allowed = `one of ${listChoices(values, true)}`;
  return {
    allowed,
    read(value, at, issues) {
      const hit = values.find((v) => v === value);
      if (hit !== undefined) return hit;
      const guess = typeof value === 'string' ? didYouMean(value, values) : undefined;
      issues.error(at, value, `must be ${allowed}${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`);
      return undefined;
    },
  };
}

export function text(allowed: string, test: (s: string) => boolean): Check<string> {
  return check(allowed, (v) => (typeof v === 'string' && test(v) ? v : undefined));
}

// A list whose items are checked one by one; bad items are reported and dropped.
export function list<T>(item: Check<T>, minItems = 0): Check<T[]> {
  const allowed = minItems > 0 ? `a list of at least ${minItems}: ${item.allowed}` : `a list of ${item.allowed}`;
  return {
    allowed,
    read(value, at, issues) {
      if (!Array.isArray(value) || value.length < minItems) {
        issues.error(at, value, `must be ${allowed}`);
        return undefined;
      }
      const out: T[] = [];
      value.forEach((v: unknown, i) => {
        const r = item.read(v, [...at, i], issues);
        if (r !== undefined) out.push(r);
      });
      return out;
    },
  };
}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mapping(value: unknown, at: KeyPath, issues: Issues, what: string): Record<string, unknown> | undefined {
  if (isMapping(value)) return value;
  issues.error(at, value, `must be a mapping (${what})`);
  return undefined;
}

// Reads the keys of one mapping with their checks and defaults.
export class Fields {
  constructor(
    readonly obj: Record<string, unknown>,
    readonly at: KeyPath,
    readonly issues: Issues,
  ) {}

  has(key: string): boolean {
    return Object.hasOwn(this.obj, key);
  }

  raw(key: string): unknown {
    return this.has(key) ? this.obj[key] : undefined;
  }

  path(key: string | number, ...more: (string | number)[]): KeyPath {
    return [...this.at, key, ...more];
  }

  required<T>(key: string, c: Check<T>): T | undefined {
    if (!this.has(key)) {
      this.issues.error(this.path(key), undefined, `required key is missing: must be ${c.allowed}`);
      return undefined;
    }
    return c.read(this.obj[key], this.path(key), this.issues);
  }

  optional<T>(key: string, c: Check<T>): T | undefined {
    return this.has(key) ? c.read(this.obj[key], this.path(key), this.issues) : undefined;
  }

  // The default also stands in for an invalid value, whose issue is already recorded.
  withDefault<T>(key: string, c: Check<T>, dflt: T): T {
    return this.optional(key, c) ?? dflt;
  }
}

// Binary units only: "GB" would leave 10^9 against 2^30 to guesswork.
const BYTE_UNITS: Readonly<Record<string, number>> = {
  B: 1, K: 2 ** 10, KiB: 2 ** 10, M: 2 ** 20, MiB: 2 ** 20, G: 2 ** 30, GiB: 2 ** 30, T: 2 ** 40, TiB: 2 ** 40,
};
const BYTE_UNIT_NAMES = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

// A size in bytes: an integer, or a string such as "10GiB" or "1.5 TiB" (K, M,
// G, T are the same binary units). It must be positive, a multiple of `unit`
// and at most `max` bytes; the message says which rule failed.
export function byteSize(unit: number, max: number): Check<number> {
  const allowed = `a whole number of bytes, or a string such as "10GiB" (units ${BYTE_UNIT_NAMES.join(', ')}; K, M, G, T mean KiB..TiB), ` +
    `a positive multiple of ${unit}, at most ${max}`;
  return {
    allowed,
    read(value, at, issues) {
      const bytes = parseBytes(value);
      if (typeof bytes === 'string') {
        issues.error(at, value, `must be ${allowed}${bytes === '' ? '' : ` (${bytes})`}`);
        return undefined;
      }
      const why = bytes <= 0 ? 'is not positive'
        : bytes > max ? `is more than ${max}`
          : bytes % unit !== 0 ? `is not a multiple of ${unit}` : undefined;
      if (why === undefined) return bytes;
      issues.error(at, value, `${bytes} bytes ${why}: must be ${allowed}`);
      return undefined;
    },
  };
}

// Bytes per second: a size as byteSize reads it, "/s" optional ("100MiB/s").
export function byteRate(min: { bytes: number; text: string }, max: { bytes: number; text: string }): Check<number> {
  const allowed = `bytes per second: a whole number, or a string such as "100MiB/s" (units ${BYTE_UNIT_NAMES.join(', ')}; K, M, G, T mean KiB..TiB; ` +
    `"/s" may be left out), ${min.text}..${max.text}`;
  return {
    allowed,
    read(value, at, issues) {
      const bytes = parseBytes(typeof value === 'string' ? value.trim().replace(/\s*\/\s*s$/, '') : value);
      if (typeof bytes === 'string') {
        issues.error(at, value, `must be ${allowed}${bytes === '' ? '' : ` (${bytes})`}`);
        return undefined;
      }
      if (bytes >= min.bytes && bytes <= max.bytes) return bytes;
      issues.error(at, value, `${bytes} bytes per second is ${bytes < min.bytes ? `less than ${min.text}` : `more than ${max.text}`}: must be ${allowed}`);
      return undefined;
    },
  };
}

// Bytes, or a hint (possibly '') saying why the value is not a size.
function parseBytes(value: unknown): number | string {
  if (typeof value === 'number') return Number.isInteger(value) ? value : 'a number of bytes is a whole number';
  if (typeof value !== 'string') return '';
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(value.trim());
  if (m === null) return '';
  const unit = m[2] === '' ? 'B' : (m[2] ?? '');
  const scale = Object.hasOwn(BYTE_UNITS, unit) ? BYTE_UNITS[unit] : undefined;
  if (scale === undefined) {
    const binary = `${unit.slice(0, 1).toUpperCase()}iB`;
    const decimal = /^[kmgt]b$/i.test(unit) && Object.hasOwn(BYTE_UNITS, binary);
    return decimal ? `${unit} is ambiguous: write ${binary} (powers of 1024) or a number of bytes` : `unknown unit "${unit}"`;
  }
  const bytes = Number(m[1]) * scale;
  return Number.isInteger(bytes) ? bytes : `${value} is not a whole number of bytes`;
}
