// A managed service that is a start / stop command pair run to completion
// (`oneshot:`), e.g. attach an NBD device and mount it, then unmount and
// detach. Started means the start command exited 0; there is no process to
// watch, so only its health check can end a run. Both commands are argv
// lists run without a shell, as the configuration says of every argv.
import type { ServiceConfig } from '../config/types.js';
import type { ServiceDriver } from './driver.js';
import { describeResult, runCommand } from './exec.js';

type OneshotService = Extract<ServiceConfig, { kind: 'oneshot' }>;

export class OneshotDriver implements ServiceDriver {
  private started = false;

  constructor(private readonly cfg: OneshotService) {}

  readonly pgid = null;

  async start(signal: AbortSignal): Promise<void> {
    const [cmd, ...args] = this.cfg.start;
    const r = await runCommand(cmd ?? '', args, { timeoutMs: this.cfg.startTimeoutMs, signal, direct: true });
    if (!r.ok) throw new Error(`start command ${this.cfg.start.join(' ')}: ${describeResult(r)}`);
    this.started = true;
  }

  // The stop command runs whenever a run may have begun: a start that failed halfway is undone too.
  async stop(): Promise<void> {
    this.started = false;
    const [cmd, ...args] = this.cfg.stop;
    const r = await runCommand(cmd ?? '', args, { timeoutMs: this.cfg.stopTimeoutMs, direct: true });
    if (!r.ok) throw new Error(`stop command ${this.cfg.stop.join(' ')}: ${describeResult(r)}`);
  }

  get running(): boolean {
    return this.started;
  }
}
