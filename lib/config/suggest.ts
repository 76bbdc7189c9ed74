// "Did you mean" for near misses: a typo (virtual_router_ip), a camelCase or
// dashed spelling (virtualRouterId), a wrong case (master) or a longer or
// shorter form of a known word (advert_interval).
import type { Issues } from './issues.js';
import type { KeyPath } from './path.js';

export function didYouMean(word: string, known: readonly string[]): string | undefined {
  const norm = normalize(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const c = normalize(candidate);
    if (c === norm) return candidate;
    const d = distance(norm, c);
    const close = d <= Math.max(1, Math.floor(Math.max(norm.length, c.length) / 4));
    const affix = Math.min(norm.length, c.length) >= 4 && (c.startsWith(norm) || norm.startsWith(c));
    if ((close || affix) && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function normalize(word: string): string {
  return word.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toLowerCase();
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions.
function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}

// Reports every key of `obj` that is not in `allowed`, with a suggestion or a
// specific hint (for keepalived keywords tandem knows but does not support).
export function checkKeys(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  at: KeyPath,
  issues: Issues,
  hints: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
    const guess = hint === undefined ? didYouMean(key, allowed) : undefined;
    const why = hint !== undefined ? `${hint}; ` : guess === undefined ? '' : `did you mean "${guess}"? `;
    issues.error([...at, key], obj[key], `unknown key ${JSON.stringify(key)}; ${why}allowed keys here: ${allowed.join(', ')}`);
  }
}
