// A managed service that is a systemd unit (`unit: NAME.service`): started
// and stopped with systemctl, watched by asking `systemctl is-active` every
// WATCH_MS (a unit that leaves active / activating / reloading has ended;
// a query that gets no state at all, systemd busy or reloading, counts only
// UNANSWERED_LIMIT times in a row). systemd itself restarts nothing here: the
// restart budget is tandem's.
import type { ServiceConfig } from '../config/types.js';
import type { OnEnded, ServiceDriver } from './driver.js';
import { describeResult, runCommand } from './exec.js';
import { QUERY_TIMEOUT_MS } from './step-limits.js';

type UnitService = Extract<ServiceConfig, { kind: 'unit' }>;

export const WATCH_MS = 2000;
// A slow systemd must not spend the restart budget of a unit that runs (and escalate to a switchover).
export const UNANSWERED_LIMIT = 3;
const ALIVE = new Set(['active', 'activating', 'reloading']);

async function systemctl(args: string[], timeoutMs: number, signal?: AbortSignal): Promise<{ ok: boolean; out: string; why: string }> {
  const out: string[] = [];
  const r = await runCommand('systemctl', args, { timeoutMs, ...(signal ? { signal } : {}), onStdout: (l) => out.push(l) });
  return { ok: r.ok, out: out.join('\n').trim(), why: describeResult(r) };
}

export class UnitDriver implements ServiceDriver {
  private watch: NodeJS.Timeout | null = null;
  private mainPid: number | null = null;
  private unanswered = 0; // is-active queries in a row that got no state

  constructor(private readonly cfg: UnitService, private readonly onEnded: OnEnded) {}

  get pgid(): number | null {
    return this.mainPid;
  }

  async start(signal: AbortSignal): Promise<void> {
    const r = await systemctl(['start', this.cfg.unit], this.cfg.startTimeoutMs, signal);
    if (!r.ok) throw new Error(`systemctl start ${this.cfg.unit}: ${r.why}`);
    const pid = await systemctl(['show', '--property=MainPID', '--value', this.cfg.unit], QUERY_TIMEOUT_MS);
    const n = Number(pid.out);
    this.mainPid = pid.ok && Number.isInteger(n) && n > 0 ? n : null;
    this.unanswered = 0;
    this.arm();
  }

  private arm(): void {
    this.watch = setTimeout(() => {
      void systemctl(['is-active', this.cfg.unit], QUERY_TIMEOUT_MS).then((r) => {
        if (this.watch === null) return; // stopped meanwhile
        const answered = r.out !== ''; // a state word, also from an exit 3 (inactive, failed)
        this.unanswered = answered ? 0 : this.unanswered + 1;
        if (ALIVE.has(r.out) || (!answered && this.unanswered < UNANSWERED_LIMIT)) return this.arm();
        this.watch = null;
        this.mainPid = null;
        const why = answered ? `unit ${this.cfg.unit} is ${r.out}` : `systemctl is-active ${this.cfg.unit} gave no state ${UNANSWERED_LIMIT} times in a row (last: ${r.why})`;
        this.onEnded({ why });
      });
    }, WATCH_MS);
  }

  async stop(): Promise<void> {
    if (this.watch !== null) clearTimeout(this.watch);
    this.watch = null;
    this.mainPid = null;
    const r = await systemctl(['stop', this.cfg.unit], this.cfg.stopTimeoutMs + QUERY_TIMEOUT_MS);
    if (!r.ok) throw new Error(`systemctl stop ${this.cfg.unit}: ${r.why}`);
  }
}
