// Timer arithmetic of RFC 3768 6.1 (v2) and RFC 5798 6.1 (v3). Results are
// exact milliseconds: the division by 256 leaves a binary fraction (e.g.
// 609.375), kept as is so the values match the RFC formulas exactly.

// v3 Max Adver Int is a 12-bit field in centiseconds (RFC 5798 5.2.7).
export const MIN_ADVER_INT_CS = 1;
export const MAX_ADVER_INT_CS = 4095;

// Skew_Time: v2 (256 - P) / 256 s; v3 ((256 - P) * Master_Adver_Interval) / 256 cs.
export function skewMs(version: 2 | 3, priority: number, masterAdverIntCs: number): number {
  if (version === 2) return ((256 - priority) * 1000) / 256;
  return ((256 - priority) * masterAdverIntCs * 10) / 256;
}

// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
export function masterDownIntervalMs(version: 2 | 3, priority: number, masterAdverIntCs: number): number {
  return 3 * masterAdverIntCs * 10 + skewMs(version, priority, masterAdverIntCs);
}

// The configured interval as the machine uses it: a broken config value must
// not yield a zero or NaN timer that would make the driver spin.
export function configuredIntervalCs(advertIntCs: number): number {
  if (!Number.isFinite(advertIntCs)) return 100;
  return Math.max(MIN_ADVER_INT_CS, Math.round(advertIntCs));
}

// A v3 advert's interval is adopted only when it is a valid 12-bit value;
// otherwise the current one is kept (a 0 would make MDI 0 and preempt at once).
export function isValidAdverIntCs(cs: number): boolean {
  return Number.isInteger(cs) && cs >= MIN_ADVER_INT_CS && cs <= MAX_ADVER_INT_CS;
}
