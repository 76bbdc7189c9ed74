// The restart budget of a managed service (issue 5; ha-policies.md "Restart
// policies"), NX-OS System Manager style: a run that lived at least
// min_lifetime counts as a success and clears the budget; a run that ended
// sooner is a failure; more than max_retries failures in a row escalate to a
// switchover (this node leaves MASTER so the peer takes over). With action
// `switchover` the first failure escalates. Pure: times are arguments.
//
//   state        event                          -> verdict
//   failures n   run ended after >= min_lifetime -> restart, failures 1 (this end is the first of a new series)
//   failures n   run ended sooner, n+1 <= max    -> restart after backoff(n+1), failures n+1
//   failures n   run ended sooner, n+1 >  max    -> escalate
//   any          action switchover               -> escalate

export interface RestartPolicy {
  action: 'restart' | 'switchover';
  maxRetries: number; // failures in a row that are restarted; one more escalates (0: the first failure escalates)
  minLifetimeMs: number; // a run at least this long was healthy (NX-OS counts >= 4 min as success)
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { action: 'restart', maxRetries: 3, minLifetimeMs: 240_000 };

export const BACKOFF_BASE_MS = 200;
export const BACKOFF_MAX_MS = 10_000;

export interface RestartBudget {
  readonly failures: number; // short runs in a row, the one just ended included
}

export const FRESH_BUDGET: RestartBudget = { failures: 0 };

export type RestartVerdict =
  | { kind: 'restart'; delayMs: number; budget: RestartBudget; reason: string }
  | { kind: 'escalate'; budget: RestartBudget; reason: string };

// The wait before the n-th restart in a row: 200 ms doubling, at most 10 s (systemd's RestartSec, growing).
export function backoffMs(n: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, n - 1));
}

// A run of the service ended at `now` (crash, exit, failed health check) after starting at `startedAt`.
export function onRunEnded(policy: RestartPolicy, budget: RestartBudget, startedAt: number, now: number, why: string): RestartVerdict {
  const lived = Math.max(0, now - startedAt);
  if (policy.action === 'switchover') {
    return { kind: 'escalate', budget: { failures: budget.failures + 1 }, reason: `${why}; the policy is switchover on the first failure` };
  }
  const short = lived < policy.minLifetimeMs;
  const failures = short ? budget.failures + 1 : 1;
  if (short && failures > policy.maxRetries) {
    return {
      kind: 'escalate', budget: { failures },
      reason: `${why}; ${failures} runs in a row each ended within min_lifetime ${policy.minLifetimeMs / 1000} s (max_retries ${policy.maxRetries}): switching over`,
    };
  }
  const delayMs = short ? backoffMs(failures) : BACKOFF_BASE_MS;
  const count = short ? `failure ${failures} of ${policy.maxRetries} allowed` : `after ${Math.round(lived / 1000)} s of running (>= min_lifetime: the budget starts over)`;
  return { kind: 'restart', delayMs, budget: { failures }, reason: `${why}; restarting in ${delayMs} ms, ${count}` };
}
