// The conductor of one resource group (issue 5): the election's role is
// carried out by the steps of ha-plan.ts, one transition at a time, each step
// under its timeout. Becoming MASTER stops at the first failed step and puts
// the group in FAULT (priority 0: the peer takes over); the FAULT is held for
// fault_hold, then the node comes back as a BACKUP that does not preempt, so
// the pair does not flap. Leaving MASTER runs every step even when one fails:
// nothing a MASTER holds may stay up. A MASTER transition in progress is
// cancelled by the next transition; a leaving one always runs to its end.
import type { Election, ElectionRole } from './election.js';
import { deadline } from './deadline.js';
import { becomeMaster, describeStep, leaveMaster, type HaState, type PlanGroup, type Step } from './ha-plan.js';

export interface StepEffects {
  promote(volume: string, signal: AbortSignal): Promise<void>;
  demote(volume: string, signal: AbortSignal): Promise<void>;
  start(service: string, signal: AbortSignal): Promise<void>;
  stop(service: string, signal: AbortSignal): Promise<void>;
  addVips(signal: AbortSignal): Promise<void>;
  announce(): void; // starts the GARP / NA schedule; it ends when the VIPs are removed
  removeVips(signal: AbortSignal): Promise<void>;
  notify(state: HaState, priority: number, signal: AbortSignal): Promise<void>;
}

export interface StepRecord {
  step: string;
  ms: number;
  ok: boolean;
  error?: string;
}

export interface TransitionRecord {
  from: ElectionRole;
  to: ElectionRole;
  reason: string;
  at: string; // ISO 8601
  ms: number | null; // null while running
  result: 'running' | 'done' | 'failed' | 'cancelled';
  steps: StepRecord[];
}

export interface HaGroupDeps {
  log: { info(m: string): void; warn(m: string): void; error(m: string): void };
  emit: (type: string, fields: Record<string, unknown>) => void;
  faultHoldMs: () => number; // read at each failure: `tandem reload` may change it
  now?: () => number;
}

const HISTORY = 20;
const CANCELLED = 'cancelled by a newer transition';

export class HaGroup {
  private queue: Promise<void> = Promise.resolve();
  private becoming: AbortController | null = null;
  private up = false; // something a MASTER holds may be up
  private released = false; // a planned hand-over let go of everything while still MASTER (release())
  private letting = false; // release() / leaveFor() run their leaving steps now, still MASTER
  private done = false; // the last takeover completed, and nothing was let go since
  private readonly history: TransitionRecord[] = [];
  private faultKey: string | null = null;
  private faultTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(
    private plan: PlanGroup,
    readonly election: Election,
    private readonly effects: StepEffects,
    private readonly deps: HaGroupDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  // The election changed the role; `priority` is passed on to notify scripts.
  onRole(from: ElectionRole, to: ElectionRole, reason: string, priority: number): void {
    if (to === 'MASTER') {
      const ctl = new AbortController();
      this.becoming?.abort(new Error(CANCELLED));
      this.becoming = ctl;
      this.enqueue(() => this.become(from, reason, priority, ctl));
      return;
    }
    this.becoming?.abort(new Error(CANCELLED));
    this.becoming = null;
    const target = to === 'INIT' ? 'BACKUP' : to;
    const letGo = this.released && !this.up; // release() did the leaving steps already: only the notify is left
    this.released = false;
    if (!letGo && (from === 'MASTER' || this.up)) this.enqueue(() => this.leave(from, target, reason, priority));
    else this.enqueue(() => this.run(from, to, reason, [{ kind: 'notify', state: target, timeoutMs: 10_000 }], new AbortController().signal, 'leave', priority));
  }

  // A service spent its restart budget: leave MASTER so the peer takes over.
  escalate(service: string, reason: string): void {
    this.leaveFor(`service ${service}: ${reason}`);
  }

  // A volume's peer holds the data this MASTER's should be replaced by: leave MASTER, as for a spent budget.
  stepAside(volume: string, reason: string): void {
    this.leaveFor(`volume ${volume}: ${reason}`);
  }

  // This node decided to leave MASTER while it can still act: let go in order first, as a switchover does, then FAULT.
  private leaveFor(reason: string): void {
    if (this.election.role() !== 'MASTER') return;
    this.enqueue(async () => {
      await this.letGo(`leaving MASTER: ${reason}`);
      this.fail(reason);
    });
  }

  // A planned hand-over (switchover, maintenance on), before the step-down:
  // the leaving steps run while this node is still MASTER, so the peer, which
  // claims MASTER only once we step down, never starts the services while
  // ours still stop. Where no volume serializes the two nodes (a volume's
  // promotion waits for the old Primary's demote), nothing else would.
  // True when every step succeeded; otherwise the leave at the step-down runs
  // them all again (a failed stop is tried once more).
  release(reason: string): Promise<boolean> {
    return this.exclusive(() => this.letGo(reason));
  }

  private async letGo(reason: string): Promise<boolean> {
    if (this.election.role() !== 'MASTER' || !this.up) return false; // lost MASTER meanwhile: its own leave ran
    this.done = false;
    this.letting = true;
    try {
      const steps = leaveMaster(this.plan, 'BACKUP').filter((s) => s.kind !== 'notify'); // still MASTER: notify at the step-down
      const ok = await this.run('MASTER', 'BACKUP', `${reason}: letting go before the step-down`, steps, new AbortController().signal, 'leave', 0);
      if (ok) [this.up, this.released] = [false, true];
      return ok;
    } finally {
      this.letting = false;
    }
  }

  private async become(from: ElectionRole, reason: string, priority: number, ctl: AbortController): Promise<void> {
    if (ctl.signal.aborted) return; // a newer transition came before this one started
    this.released = false;
    this.up = true;
    this.done = false;
    const t0 = this.now();
    const ok = await this.run(from, 'MASTER', reason, becomeMaster(this.plan), ctl.signal, 'become', priority);
    if (this.becoming === ctl) this.becoming = null;
    if (ok) {
      this.done = true;
      this.deps.log.info(`${this.election.group}: MASTER and serving, ${this.now() - t0} ms after the election`);
      this.deps.emit('ha.master', { group: this.election.group, ms: this.now() - t0 });
    }
  }

  private async leave(from: ElectionRole, to: Exclude<HaState, 'MASTER'>, reason: string, priority: number): Promise<void> {
    this.done = false;
    await this.run(from, to, reason, leaveMaster(this.plan, to), new AbortController().signal, 'leave', priority);
    this.up = false;
  }

  // Runs the steps in order; `become` stops at the first failure, `leave` goes on. True when every step succeeded.
  private async run(from: ElectionRole, to: ElectionRole, reason: string, steps: Step[], signal: AbortSignal, mode: 'become' | 'leave', priority: number): Promise<boolean> {
    const rec: TransitionRecord = { from, to, reason, at: new Date(this.now()).toISOString(), ms: null, result: 'running', steps: [] };
    this.history.push(rec);
    if (this.history.length > HISTORY) this.history.shift();
    const t0 = this.now();
    let allOk = true;
    for (const step of steps) {
      if (signal.aborted) {
        rec.result = 'cancelled';
        break;
      }
      const s0 = this.now();
      const what = describeStep(step);
      try {
        await this.exec(step, signal, priority);
        rec.steps.push({ step: what, ms: this.now() - s0, ok: true });
      } catch (e) {
        const msg = (e as Error).message;
        rec.steps.push({ step: what, ms: this.now() - s0, ok: false, error: msg });
        allOk = false;
        if (signal.aborted) {
          rec.result = 'cancelled';
          break;
        }
        this.deps.log.error(`${this.election.group}: ${what} failed: ${msg}`);
        this.deps.emit('ha.step_failed', { group: this.election.group, to, step: what, error: msg });
        if (mode === 'become') {
          rec.result = 'failed';
          rec.ms = this.now() - t0;
          this.fail(`${what} failed: ${msg}`);
          return false;
        }
      }
    }
    rec.ms = this.now() - t0;
    if (rec.result === 'running') rec.result = allOk ? 'done' : 'failed';
    this.deps.emit('ha.transition', { group: this.election.group, from, to, reason, ms: rec.ms, result: rec.result, steps: rec.steps });
    return allOk && rec.result === 'done';
  }

  // One step under its timeout; a step that ignores the signal still loses the race.
  private async exec(step: Step, outer: AbortSignal, priority: number): Promise<void> {
    const within = deadline(step.timeoutMs, outer);
    const { signal } = within;
    const aborted = new Promise<never>((_, rej) => {
      const onAbort = (): void => rej(within.timedOut() ? new Error(`timed out after ${step.timeoutMs / 1000} s`) : new Error(CANCELLED));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {});
    try {
      await Promise.race([this.effect(step, signal, priority), aborted]);
    } finally {
      within.clear();
    }
  }

  private effect(step: Step, signal: AbortSignal, priority: number): Promise<void> {
    const e = this.effects;
    switch (step.kind) {
      case 'promote': return e.promote(step.volume, signal);
      case 'demote': return e.demote(step.volume, signal);
      case 'start': return e.start(step.service, signal);
      case 'stop': return e.stop(step.service, signal);
      case 'add-vips': return e.addVips(signal);
      case 'announce': e.announce(); return Promise.resolve();
      case 'remove-vips': return e.removeVips(signal);
      case 'notify': return e.notify(step.state, priority, signal);
    }
  }

  // FAULT (the peer takes over), then after fault_hold a BACKUP that does not preempt.
  private fail(reason: string): void {
    this.deps.log.error(`${this.election.group}: leaving MASTER: ${reason}`);
    this.deps.emit('ha.failed', { group: this.election.group, reason, fault_hold_s: this.deps.faultHoldMs() / 1000 });
    const key = `failed: ${reason}`;
    const old = this.faultKey;
    this.faultKey = key;
    // FAULT first (priority 0, one leaving run), then yield: the BACKUP it becomes later does not preempt.
    this.election.fault(key, true);
    if (old !== null && old !== key) this.election.fault(old, false);
    this.election.stepDown(reason);
    if (this.faultTimer !== null) clearTimeout(this.faultTimer);
    this.faultTimer = setTimeout(() => this.clearFault(), this.deps.faultHoldMs());
  }

  private clearFault(): void {
    if (this.faultTimer !== null) clearTimeout(this.faultTimer);
    this.faultTimer = null;
    if (this.faultKey === null) return;
    const key = this.faultKey;
    this.faultKey = null;
    this.deps.log.info(`${this.election.group}: fault_hold over; back as a BACKUP that does not preempt`);
    this.election.fault(key, false);
  }

  // Runs f after every queued transition and before any later one: service restarts and
  // reloads never interleave with a takeover or a hand-over.
  exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f);
    this.queue = run.then(() => {}, () => {});
    return run;
  }

  private enqueue(f: () => Promise<unknown>): void {
    this.queue = this.queue.then(f).then(
      () => {},
      (e: Error) => this.deps.log.error(`${this.election.group}: ${e.message}`),
    );
  }

  // `tandem reload`: the services of later transitions (the caller starts or stops them now).
  setServices(services: PlanGroup['services']): void {
    this.plan = { ...this.plan, services };
  }

  // Every step of the last takeover done, nothing let go since.
  get serving(): boolean {
    return this.done;
  }

  // A MASTER letting go before it steps down (a hand-over, a spent budget): it is not taking over.
  get handingOver(): boolean {
    return this.letting;
  }

  // Something a MASTER holds may still be up (a takeover or a hand-over not finished).
  get holding(): boolean {
    return this.up;
  }

  transitions(): TransitionRecord[] {
    return this.history.map((r) => ({ ...r, steps: [...r.steps] }));
  }

  // Resolves once every queued transition has run (also those queued meanwhile).
  async idle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }

  // At daemon stop: whatever runs finishes (the engine's STOP transition queued the leaving steps).
  async drain(): Promise<void> {
    this.becoming?.abort(new Error(CANCELLED));
    if (this.faultTimer !== null) clearTimeout(this.faultTimer);
    this.faultTimer = null;
    await this.idle();
  }
}
