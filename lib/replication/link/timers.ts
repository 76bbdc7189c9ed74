// The clock and timers the link adapters use, injected so tests control them,
// and the reconnect backoff (pure).

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface BackoffConfig {
  initialMs: number;
  maxMs: number;
  factor: number;
  jitter: number; // 0..1: fraction of the delay randomised, so two nodes do not retry in lockstep
}

export const DEFAULT_BACKOFF: BackoffConfig = { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0.2 };

// Delay before attempt `attempt` (0 = first retry); random() in [0, 1).
export function backoffDelay(attempt: number, cfg: BackoffConfig, random: () => number = Math.random): number {
  const base = Math.min(cfg.maxMs, cfg.initialMs * cfg.factor ** Math.max(0, attempt));
  return Math.round(base * (1 - cfg.jitter * random()));
}
