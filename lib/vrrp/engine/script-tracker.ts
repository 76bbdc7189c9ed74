// Runs one vrrp_script on its interval and keeps its rise/fall status. A run
// that overruns the interval delays the next one rather than overlapping it.
import type { ScriptConfig } from '../../config/types.js';
import { describeResult, runCommand } from '../../services/exec.js';
import { initCheck, recordResult, type CheckState } from '../tracking.js';
import type { Logger } from '../../node/log.js';

export class ScriptTracker {
  private check: CheckState = initCheck();
  private timer: NodeJS.Timeout | null = null;
  private readonly controller = new AbortController();
  runs = 0;
  failures = 0;

  constructor(readonly cfg: ScriptConfig, private readonly onChange: () => void, private readonly log: Logger) {}

  get state(): CheckState {
    return this.check;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.controller.signal.aborted) return;
    this.timer = setTimeout(() => void this.runOnce(), delay);
  }

  private async runOnce(): Promise<void> {
    const started = Date.now();
    const r = await runCommand(this.cfg.script, [], { timeoutMs: this.cfg.timeoutMs, signal: this.controller.signal });
    if (this.controller.signal.aborted) return;
    this.runs++;
    if (!r.ok) this.failures++;
    const before = this.check.status;
    this.check = recordResult(this.check, r.ok, this.cfg.rise, this.cfg.fall);
    if (this.check.status !== before) {
      this.log.info(`track script ${this.cfg.name}: ${before} -> ${this.check.status}${r.ok ? '' : ` (${describeResult(r)})`}`);
      this.onChange();
    }
    this.schedule(Math.max(0, this.cfg.intervalMs - (Date.now() - started)));
  }

  stop(): void {
    this.controller.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
