// Tracker arithmetic (keepalived track_interface / track_script / vrrp_script
// semantics; RFC 5798 has no trackers): rise/fall debouncing of check results
// and the effective priority they produce.

export type CheckStatus = 'INIT' | 'GOOD' | 'BAD';

export interface CheckState {
  status: CheckStatus;
  successes: number; // consecutive successes up to the last result
  failures: number; // consecutive failures up to the last result
}

export function initCheck(): CheckState {
  return { status: 'INIT', successes: 0, failures: 0 };
}

function threshold(n: number): number {
  return Number.isFinite(n) ? Math.max(1, Math.floor(n)) : 1;
}

// The first result decides at once (there is no state to debounce yet);
// after that `rise` consecutive successes make a BAD check GOOD and `fall`
// consecutive failures make a GOOD check BAD, so a flapping script settles.
export function recordResult(state: CheckState, ok: boolean, rise: number, fall: number): CheckState {
  if (state.status === 'INIT') {
    return ok ? { status: 'GOOD', successes: 1, failures: 0 } : { status: 'BAD', successes: 0, failures: 1 };
  }
  if (ok) {
    const successes = state.successes + 1;
    const status = state.status === 'BAD' && successes >= threshold(rise) ? 'GOOD' : state.status;
    return { status, successes, failures: 0 };
  }
  const failures = state.failures + 1;
  const status = state.status === 'GOOD' && failures >= threshold(fall) ? 'BAD' : state.status;
  return { status, successes: 0, failures };
}

// The `good` flag effectivePriority takes: unknown (INIT) contributes nothing.
export function checkGood(status: CheckStatus): boolean | null {
  return status === 'INIT' ? null : status === 'GOOD';
}

// keepalived: a weight-0 tracker does not move the priority; while it is BAD
// the instance is FAULT (the driver adds a reason to the machine's faultReasons).
export function isFaulting(weight: number, status: CheckStatus): boolean {
  return weight === 0 && status === 'BAD';
}

export const MIN_TRACKED_PRIORITY = 1;
export const MAX_TRACKED_PRIORITY = 254;

// keepalived: a positive weight is added while GOOD, a negative one while BAD;
// the result is clamped to 1..254 so trackers can neither stop the instance
// (0) nor make it the address owner (255). An owner (255) is never changed.
export function effectivePriority(base: number, contributions: readonly { weight: number; good: boolean | null }[]): number {
  if (base === 255) return 255;
  let p = Number.isFinite(base) ? base : MIN_TRACKED_PRIORITY;
  for (const c of contributions) {
    if (!Number.isFinite(c.weight) || c.good === null) continue;
    if (c.weight > 0 && c.good) p += c.weight;
    if (c.weight < 0 && !c.good) p += c.weight;
  }
  return Math.min(MAX_TRACKED_PRIORITY, Math.max(MIN_TRACKED_PRIORITY, Math.round(p)));
}
