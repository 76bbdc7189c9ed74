// Supervises one managed service on the MASTER (issue 5), NX-OS / systemd
// style: start it and wait until its health check passes; then watch it. A
// run that ends on its own or fails its health check `fall` times in a row is
// judged by the restart budget (restart-policy.ts): restarted after a backoff,
// or escalated, which makes this node leave MASTER so the peer takes over.
//
//   stopped    --start()----------------------> starting
//   starting   --healthy-----------------------> running
//   starting   --ended / timeout / abort-------> stopped (start() rejects: the conductor goes FAULT)
//   running    --ended / unhealthy, restart----> restarting --healthy--> running
//   running    --ended / unhealthy, escalate---> failed (escalate() called)
//   restarting --start failed: judged again as a run that ended at once
//   any        --stop()-----------------------> stopping --> stopped
//   stopping   --the stop fails-----------------> failed (stop() rejects; the run is still in the ledger)
//   stopping   --start()----------------------> (waits for the stop to end) starting
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceConfig } from '../config/types.js';
import type { ServiceDriver } from './driver.js';
import { probe, HealthTracker } from './health.js';
import { FRESH_BUDGET, onRunEnded, type RestartBudget } from './restart-policy.js';

export type ServiceState = 'stopped' | 'starting' | 'running' | 'restarting' | 'stopping' | 'failed';

export interface ServiceStatus {
  name: string;
  kind: ServiceConfig['kind'];
  state: ServiceState;
  pgid: number | null;
  health: 'unknown' | 'healthy' | 'unhealthy' | 'none'; // none: no health check configured
  since: string | null; // ISO 8601, when the current run became healthy
  restarts: number; // since the node became MASTER
  failures_in_a_row: number;
  last_problem: { reason: string; at: string } | null;
}

export interface SupervisorDeps {
  driver: (onEnded: (why: string) => void) => ServiceDriver;
  log: { info(m: string): void; warn(m: string): void; error(m: string): void };
  emit: (type: string, fields: Record<string, unknown>) => void;
  escalate: (service: string, reason: string) => void;
  // Runs that are live, kept across a crash of the daemon (leftovers.ts).
  ledger?: { started(cfg: ServiceConfig, pgid: number | null, cgroup?: string | null): void; ended(name: string): void };
  now?: () => number;
}

export class Supervisor {
  private state: ServiceState = 'stopped';
  private driver: ServiceDriver;
  private budget: RestartBudget = FRESH_BUDGET;
  private runStartedAt = 0;
  private healthySince: number | null = null;
  private tracker: HealthTracker | null = null;
  private restarts = 0;
  private lastProblem: { reason: string; at: string } | null = null;
  // One controller per MASTER tenure of the service: aborted by stop(), so no probe or restart outlives it.
  private tenure = new AbortController();
  private readonly now: () => number;
  // Set while a run starts: its end then fails the start instead of being judged by the budget.
  private endedDuringStart: ((why: string) => void) | null = null;
  private lastProbeFailure: string | null = null;
  // The stop in progress: start() waits for it, a second stop() shares it.
  private halting: Promise<void> | null = null;
  private stops = 0; // stop() calls, so a start that waited for a stop sees a later one

  constructor(readonly cfg: ServiceConfig, private readonly deps: SupervisorDeps) {
    this.now = deps.now ?? Date.now;
    this.driver = deps.driver((why) => this.onRunEnded(why));
  }

  get name(): string {
    return this.cfg.name;
  }

  // Resolves once the service is healthy; rejects (leaving it stopped, or failed if its stop failed too) with why it is not.
  async start(signal: AbortSignal): Promise<void> {
    // MASTER again before the last stop ended: the run being stopped is not a run to keep.
    const stops = this.stops;
    // A stop that failed was said where it failed; a new run is what is asked for now.
    if (this.halting !== null) await this.halting.catch(() => {});
    signal.throwIfAborted();
    if (this.stops !== stops) throw new Error(`${this.name}: start cancelled by a later stop`);
    if (this.state === 'running' || this.state === 'restarting') return;
    this.tenure = new AbortController();
    this.budget = FRESH_BUDGET;
    this.restarts = 0;
    const both = AbortSignal.any([signal, this.tenure.signal]);
    try {
      await this.run(both, 'starting');
    } catch (e) {
      // The start's own error is the news; a stop that fails as well is added to it.
      const undone = await this.halt().then(() => '', (h: Error) => `; ${h.message}`);
      this.problem(`${(e as Error).message}${undone}`);
      throw e;
    }
  }

  // One run: start the driver, wait for health within start_timeout, then watch.
  private async run(signal: AbortSignal, as: 'starting' | 'restarting'): Promise<void> {
    this.set(as);
    this.healthySince = null;
    this.runStartedAt = this.now();
    const ended = new Promise<never>((_, rej) => (this.endedDuringStart = (why) => rej(new Error(`${this.name} ${why} before it was healthy`))));
    ended.catch(() => {});
    const timeout = AbortSignal.timeout(this.cfg.startTimeoutMs);
    const within = AbortSignal.any([signal, timeout]);
    try {
      const starting = this.driver.start(within);
      starting.catch(() => {}); // when the run ended first, a late rejection is no news
      await Promise.race([starting, ended]);
      signal.throwIfAborted(); // stopped while it spawned: the run it got is not to be kept
      this.deps.ledger?.started(this.cfg, this.driver.pgid, this.driver.cgroup);
      await Promise.race([this.untilHealthy(within), ended]);
    } catch (e) {
      if (timeout.aborted && !signal.aborted) throw new Error(`${this.name} not healthy within start_timeout ${this.cfg.startTimeoutMs / 1000} s${this.lastProbeFailure ? ` (last check: ${this.lastProbeFailure})` : ''}`);
      if (signal.aborted) throw new Error(`${this.name}: start cancelled`);
      throw e;
    } finally {
      this.endedDuringStart = null;
    }
    this.healthySince = this.now();
    this.set('running');
    this.deps.emit('service.healthy', { service: this.name, pgid: this.driver.pgid, ms: this.healthySince - this.runStartedAt });
    if (this.cfg.health !== null) void this.watchHealth(this.tenure.signal);
  }

  // During start one passing check is enough: every second counts in a takeover.
  private async untilHealthy(signal: AbortSignal): Promise<void> {
    // The configured check is a probe plus its interval.
    const h = this.cfg.health;
    this.lastProbeFailure = null;
    this.tracker = h === null ? null : new HealthTracker();
    if (h === null) return;
    for (;;) {
      const r = await probe(h, signal);
      signal.throwIfAborted();
      if (r.healthy) {
        this.tracker?.record(r, this.now());
        return;
      }
      this.lastProbeFailure = r.reason;
      await sleep(Math.min(h.intervalMs, 500), undefined, { signal });
    }
  }

  private async watchHealth(signal: AbortSignal): Promise<void> {
    const h = this.cfg.health;
    if (h === null) return;
    const tracker = this.tracker;
    try {
      while (!signal.aborted && this.state === 'running' && this.tracker === tracker) {
        await sleep(h.intervalMs, undefined, { signal });
        const r = await probe(h, signal);
        if (signal.aborted || this.state !== 'running' || this.tracker !== tracker) return;
        const change = tracker?.record(r, this.now());
        if (change?.to === 'unhealthy') {
          this.onRunEnded(`failed its health check ${tracker?.fall ?? 1} times in a row (${change.reason ?? 'no reason'})`);
          return;
        }
      }
    } catch {
      // aborted: the tenure ended
    }
  }

  // A run ended on its own, or its health check failed: restart or escalate.
  private onRunEnded(why: string): void {
    if (this.endedDuringStart !== null) return this.endedDuringStart(why);
    if (this.state !== 'running') return; // stopping, or a start in progress reports through run()
    this.judge(why);
  }

  // The restart budget's verdict on a run that ended: restart after a backoff, or escalate.
  private judge(why: string): void {
    const verdict = onRunEnded(this.cfg.restart, this.budget, this.runStartedAt, this.now(), `${this.name} ${why}`);
    this.budget = verdict.budget;
    this.problem(verdict.reason);
    this.deps.emit('service.ended', { service: this.name, reason: why, verdict: verdict.kind, failures_in_a_row: verdict.budget.failures });
    if (verdict.kind === 'escalate') {
      this.deps.log.error(verdict.reason);
      this.set('failed');
      void this.driver.stop().catch((e: Error) => this.deps.log.warn(`${this.name}: ${e.message}`));
      this.deps.escalate(this.name, verdict.reason);
      return;
    }
    this.deps.log.warn(verdict.reason);
    void this.restart(verdict.delayMs, this.tenure.signal);
  }

  private async restart(delayMs: number, signal: AbortSignal): Promise<void> {
    this.set('restarting');
    this.restarts++;
    try {
      await this.driver.stop(); // a failed health check leaves the process running
      await sleep(delayMs, undefined, { signal });
      await this.run(signal, 'restarting');
    } catch (e) {
      if (signal.aborted) return;
      // A restart that does not come up counts as a run that ended at once.
      await this.driver.stop().catch(() => {});
      this.runStartedAt = this.now();
      this.judge(`did not come back: ${(e as Error).message}`);
    }
  }

  // Ends the service (idempotent). A stop that fails rejects, and the service is 'failed', not 'stopped':
  // a unit whose `systemctl stop` failed may still run, and must not pass for stopped on a BACKUP.
  async stop(): Promise<void> {
    this.stops++;
    this.tenure.abort();
    if (this.state === 'stopped') return;
    this.set('stopping');
    await this.halt();
  }

  private halt(): Promise<void> {
    this.halting ??= this.end().finally(() => (this.halting = null));
    return this.halting;
  }

  private async end(): Promise<void> {
    this.healthySince = null;
    try {
      await this.driver.stop();
    } catch (e) {
      const why = `${this.name}: stop failed: ${(e as Error).message}`;
      this.problem(why);
      this.deps.log.error(why);
      this.set('failed'); // the ledger keeps the run: the next stop, or the next daemon's start, tries again
      throw new Error(why, { cause: e });
    }
    this.deps.ledger?.ended(this.name);
    this.set('stopped');
  }

  private problem(reason: string): void {
    this.lastProblem = { reason, at: new Date(this.now()).toISOString() };
  }

  private set(state: ServiceState): void {
    if (this.state === state) return;
    const from = this.state;
    this.state = state;
    this.deps.emit('service.state', { service: this.name, from, to: state });
  }

  status(): ServiceStatus {
    // Only a running service's checks are its health: stopped, or waiting to start again, the last verdict is a dead run's.
    const checked = this.state === 'running';
    return {
      name: this.name,
      kind: this.cfg.kind,
      state: this.state,
      pgid: this.driver.pgid,
      health: this.cfg.health === null ? 'none' : checked ? (this.tracker?.state ?? 'unknown') : 'unknown',
      since: this.healthySince === null || !checked ? null : new Date(this.healthySince).toISOString(),
      restarts: this.restarts,
      failures_in_a_row: this.budget.failures,
      last_problem: this.lastProblem,
    };
  }
}
