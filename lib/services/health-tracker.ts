// Whether a service counts as healthy, from its probe results over time:
// `fall` consecutive failures make it unhealthy, `rise` consecutive successes
// healthy again (keepalived track_script rise/fall). The debouncing is the
// VRRP trackers' pure recordResult, so both kinds of check settle alike; the
// first result decides at once, as there is nothing to debounce yet.
//
//   state      result   counts reached      next state
//   unknown    ok       -                   healthy
//   unknown    fail     -                   unhealthy
//   healthy    fail     failures >= fall    unhealthy
//   unhealthy  ok       successes >= rise   healthy
//   any        other                        unchanged
//
// Pure: the caller passes `now`, which only stamps the transitions.
import { initCheck, recordResult, type CheckState } from '../vrrp/tracking.js';
import type { HealthResult } from './health-common.js';

export type HealthState = 'unknown' | 'healthy' | 'unhealthy';

export interface HealthChange {
  from: HealthState;
  to: HealthState;
  at: number;
  reason: string | null; // the failure that made it unhealthy; null when it became healthy
}

export interface HealthTrackerOptions {
  rise?: number; // default 2
  fall?: number; // default 3
}

const STATE_OF = { INIT: 'unknown', GOOD: 'healthy', BAD: 'unhealthy' } as const;

export class HealthTracker {
  readonly rise: number;
  readonly fall: number;
  private check: CheckState = initCheck();
  private sinceAt: number | null = null;
  private reason: string | null = null;

  constructor(options: HealthTrackerOptions = {}) {
    this.rise = options.rise ?? 2;
    this.fall = options.fall ?? 3;
  }

  get state(): HealthState {
    return STATE_OF[this.check.status];
  }

  // When the current state was entered (null while unknown).
  get since(): number | null {
    return this.sinceAt;
  }

  // The reason of the latest failure while unhealthy or on the way there.
  get lastReason(): string | null {
    return this.reason;
  }

  get consecutiveSuccesses(): number {
    return this.check.successes;
  }

  get consecutiveFailures(): number {
    return this.check.failures;
  }

  // Records one result; returns the transition it caused, if any.
  record(result: HealthResult, now: number): HealthChange | null {
    const from = this.state;
    this.check = recordResult(this.check, result.healthy, this.rise, this.fall);
    if (!result.healthy) this.reason = result.reason;
    const to = this.state;
    if (to === from) return null;
    this.sinceAt = now;
    if (to === 'healthy') this.reason = null;
    return { from, to, at: now, reason: to === 'unhealthy' ? this.reason : null };
  }
}
