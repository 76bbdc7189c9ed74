// A managed service that is a process tandem runs itself (`command: [...]`),
// as `user` when given: ProcessService does the spawning and stopping.
import { execFileSync } from 'node:child_process';
import type { ServiceConfig } from '../config/types.js';
import type { ServiceCgroups } from './cgroup.js';
import type { OnEnded, ServiceDriver } from './driver.js';
import { describeEnd, ProcessService } from './process-service.js';

type CommandService = Extract<ServiceConfig, { kind: 'command' }>;

// uid and gid of a user name through the system's NSS (getent), so LDAP users work too.
export function lookupUser(name: string): { uid: number; gid: number } {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    throw new Error(`user ${JSON.stringify(name)} does not exist on this node (getent passwd found nothing)`);
  }
  const f = line.split(':');
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`user ${name}: unreadable passwd entry ${JSON.stringify(line)}`);
  return { uid, gid };
}

export class CommandDriver implements ServiceDriver {
  private proc: ProcessService | null = null;
  private starting: Promise<void> | null = null; // stop() waits for it: a run being spawned is stopped once it exists

  constructor(
    private readonly cfg: CommandService,
    private readonly log: (level: 'info' | 'warn', line: string) => void,
    private readonly onEnded: OnEnded,
    private readonly cgroups?: ServiceCgroups,
  ) {}

  get pgid(): number | null {
    return this.proc?.pgid ?? null;
  }

  get cgroup(): string | null {
    return this.proc?.cgroup ?? null;
  }

  // The user is looked up at each start: a missing one fails this start (the node goes FAULT), not the daemon.
  async start(): Promise<void> {
    this.starting = this.begin();
    try {
      await this.starting;
    } finally {
      this.starting = null;
    }
  }

  private async begin(): Promise<void> {
    if (this.proc?.running && !this.proc.isStopping) return;
    await this.proc?.stop(); // a run being stopped ends first: it is not the run asked for
    const ids = this.cfg.user === undefined ? {} : lookupUser(this.cfg.user);
    this.proc = new ProcessService({
      name: this.cfg.name,
      argv: this.cfg.argv,
      ...ids,
      env: this.cfg.env,
      stopTimeoutMs: this.cfg.stopTimeoutMs,
      ...(this.cgroups !== undefined ? { cgroups: this.cgroups } : {}),
      log: this.log,
      onExit: (end) => {
        if (!end.stopped) this.onEnded({ why: describeEnd(end) });
      },
    });
    await this.proc.start();
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    await this.proc?.stop();
  }
}
