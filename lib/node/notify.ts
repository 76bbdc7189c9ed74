// keepalived-compatible notify scripts: `notify` gets
// "INSTANCE|GROUP <name> <state> <priority>", notify_master / _backup /
// _fault / _stop run as written. They run in order per instance, without
// blocking the engine; a failure is logged and emitted, never fatal.
import type { NotifyConfig } from '../config/types.js';
import { describeResult, runCommand } from '../services/exec.js';
import type { EventBus } from './events.js';
import type { Logger } from './log.js';

const NOTIFY_TIMEOUT_MS = 60_000;

export type NotifyKind = 'INSTANCE' | 'GROUP';

export class Notifier {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly controller = new AbortController();

  constructor(private readonly log: Logger, private readonly events: EventBus) {}

  notify(kind: NotifyKind, name: string, cfg: NotifyConfig, state: string, priority: number): void {
    const commands: [string, string[]][] = [];
    const specific = { MASTER: cfg.notifyMaster, BACKUP: cfg.notifyBackup, FAULT: cfg.notifyFault, STOP: cfg.notifyStop }[state];
    if (specific !== undefined) commands.push([specific, []]);
    if (cfg.notify !== undefined) commands.push([cfg.notify, [kind, name, state, String(priority)]]);
    if (commands.length === 0) return;
    const key = `${kind}/${name}`;
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(async () => {
      for (const [cmd, args] of commands) await this.run(cmd, args, key);
    });
    this.queues.set(key, next);
    void next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  private async run(cmd: string, args: string[], key: string): Promise<void> {
    const r = await runCommand(cmd, args, { timeoutMs: NOTIFY_TIMEOUT_MS, signal: this.controller.signal });
    if (r.ok) {
      this.log.debug(`notify ${key}: ${cmd} ${args.join(' ')} ok`);
      return;
    }
    this.log.warn(`notify ${key}: ${cmd} ${args.join(' ')} failed: ${describeResult(r)}`);
    this.events.emit('notify.failed', { target: key, command: cmd, args, result: describeResult(r) });
  }

  // Waits for queued notifications (bounded by their timeout) so STOP scripts run at shutdown.
  async drain(timeoutMs: number): Promise<void> {
    const all = Promise.allSettled([...this.queues.values()]);
    let t: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((r) => (t = setTimeout(r, timeoutMs)));
    await Promise.race([all, limit]);
    clearTimeout(t);
  }

  abort(): void {
    this.controller.abort();
  }
}
