// systemd's notify protocol for `Type=notify` (issue 5 "systemd"): READY=1
// once the configuration is loaded and the control socket listens, STATUS=
// lines, STOPPING=1, and WATCHDOG=1 pings from the event loop every half of
// WATCHDOG_USEC, so a stalled loop stops the pings and systemd restarts the
// daemon. Node has no AF_UNIX datagram socket, so each message goes through
// `systemd-notify --no-block --pid=OUR_PID` (the unit needs NotifyAccess=all,
// since the sender is our child); the one way in is services/exec.ts.
import { describeResult, runCommand } from '../services/exec.js';

export interface SdNotifyLog {
  warn(m: string): void;
}

export class SdNotify {
  private timer: NodeJS.Timeout | null = null;
  sent = 0;
  failed = 0;

  private constructor(private readonly env: NodeJS.ProcessEnv, private readonly log: SdNotifyLog) {}

  // Null when not started by systemd with Type=notify (no NOTIFY_SOCKET).
  static fromEnv(env: NodeJS.ProcessEnv, log: SdNotifyLog): SdNotify | null {
    return env.NOTIFY_SOCKET ? new SdNotify(env, log) : null;
  }

  // The watchdog interval systemd asked for, halved as sd_watchdog_enabled(3) advises; null when off or meant for another process.
  watchdogIntervalMs(pid = process.pid): number | null {
    const usec = Number(this.env.WATCHDOG_USEC);
    if (!Number.isFinite(usec) || usec <= 0) return null;
    if (this.env.WATCHDOG_PID !== undefined && Number(this.env.WATCHDOG_PID) !== pid) return null;
    return Math.max(1, Math.floor(usec / 2000));
  }

  ready(status: string): Promise<void> {
    return this.send(['READY=1', `STATUS=${status}`]);
  }

  status(text: string): Promise<void> {
    return this.send([`STATUS=${text}`]);
  }

  // `budgetMs`: how long the stop may take (EXTEND_TIMEOUT_USEC, systemd 236+), past the unit's TimeoutStopSec.
  stopping(budgetMs?: number): Promise<void> {
    this.stopWatchdog();
    return this.send(['STOPPING=1', ...(budgetMs === undefined ? [] : [`EXTEND_TIMEOUT_USEC=${Math.ceil(budgetMs) * 1000}`])]);
  }

  startWatchdog(): void {
    const every = this.watchdogIntervalMs();
    if (every === null || this.timer !== null) return;
    this.timer = setInterval(() => void this.send(['WATCHDOG=1']), every);
    this.timer.unref();
  }

  stopWatchdog(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async send(fields: string[]): Promise<void> {
    const r = await runCommand('systemd-notify', ['--no-block', `--pid=${process.pid}`, ...fields], {
      timeoutMs: 5000,
      env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', NOTIFY_SOCKET: this.env.NOTIFY_SOCKET ?? '' },
    });
    if (r.ok) this.sent++;
    else {
      this.failed++;
      this.log.warn(`sd_notify ${fields[0] ?? ''} failed: systemd-notify ${describeResult(r)}`);
    }
  }
}
