// A managed service that is a process tandem runs itself (`command: [...]`),
// as `user` when given: ProcessService does the spawning and stopping.
import { execFileSync } from 'node:child_process';
import type { ServiceConfig } from '../config/types.js';
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
  private readonly proc: ProcessService;

  constructor(cfg: CommandService, log: (level: 'info' | 'warn', line: string) => void, onEnded: OnEnded) {
    const ids = cfg.user === undefined ? {} : lookupUser(cfg.user);
    this.proc = new ProcessService({
      name: cfg.name,
      argv: cfg.argv,
      ...ids,
      env: cfg.env,
      stopTimeoutMs: cfg.stopTimeoutMs,
      log,
      onExit: (end) => {
        if (!end.stopped) onEnded({ why: describeEnd(end) });
      },
    });
  }

  get pgid(): number | null {
    return this.proc.pgid;
  }

  async start(): Promise<void> {
    await this.proc.start();
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}
