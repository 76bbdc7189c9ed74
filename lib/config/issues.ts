// Collects every problem found in one validation pass: the validator never
// stops at the first mistake, so a user fixes a file in one round trip.
import type { ConfigIssue } from './types.js';
import { renderPath, type KeyPath } from './path.js';

export class Issues {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  // `value` is the offending value as written; undefined when the key is missing.
  error(path: KeyPath, value: unknown, message: string): void {
    this.errors.push(issue(path, value, message));
  }

  // Accepted, but keepalived users are known to trip over it.
  warn(path: KeyPath, value: unknown, message: string): void {
    this.warnings.push(issue(path, value, message));
  }

  get count(): number {
    return this.errors.length;
  }
}

function issue(path: KeyPath, value: unknown, message: string): ConfigIssue {
  return { path: renderPath(path), value, message };
}

const MAX_SHOWN = 60;

// A value as the user wrote it, JSON-like and cut short when long.
export function describeValue(value: unknown): string {
  let text: string;
  try {
    // JSON has no spelling for these, and "null" would be a lie: YAML's.
    if (typeof value === 'number' && !Number.isFinite(value)) text = Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
    else text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = '(a recursive structure)'; // a YAML alias that contains itself
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

// "a, b or c" for messages that list choices.
export function listChoices(items: readonly string[], quote = false): string {
  const shown = quote ? items.map((s) => JSON.stringify(s)) : [...items];
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} or ${shown[shown.length - 1]}`;
}
