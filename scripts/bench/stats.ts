// Small statistics for the benchmark tables: medians and ranges of samples
// that may contain failed runs (NaN), and the number formats the tables use.

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function range(xs: number[]): { min: number; max: number } {
  const s = xs.filter((x) => Number.isFinite(x));
  if (s.length === 0) return { min: Number.NaN, max: Number.NaN };
  return { min: Math.min(...s), max: Math.max(...s) };
}

export function finiteCount(xs: number[]): number {
  return xs.filter((x) => Number.isFinite(x)).length;
}

export function ms(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x)) : 'n/a';
}

// "412 (388-431)": the median and the spread, so one table shows both.
export function medianWithRange(xs: number[]): string {
  const r = range(xs);
  return `${ms(median(xs))} (${ms(r.min)}-${ms(r.max)})`;
}

export function ratio(p: number, q: number): string {
  return Number.isFinite(p) && Number.isFinite(q) && q > 0 ? (p / q).toFixed(2) : 'n/a';
}

export function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}
