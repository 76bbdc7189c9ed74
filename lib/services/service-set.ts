// The managed service set of a node: one Supervisor per configured service,
// each with the driver of its kind. The conductor starts them in list order
// and stops them in reverse; this file only builds and looks them up.
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../node/log.js';
import { CommandDriver } from './driver-command.js';
import type { ServiceDriver } from './driver.js';
import { OneshotDriver } from './driver-oneshot.js';
import { UnitDriver } from './driver-unit.js';
import { Supervisor, type ServiceStatus } from './supervisor.js';

export function createDriver(cfg: ServiceConfig, log: Pick<Logger, 'info' | 'warn'>, onEnded: (why: string) => void): ServiceDriver {
  switch (cfg.kind) {
    case 'command':
      return new CommandDriver(cfg, (level, line) => (level === 'info' ? log.info(line) : log.warn(line)), (e) => onEnded(e.why));
    case 'oneshot':
      return new OneshotDriver(cfg);
    case 'unit':
      return new UnitDriver(cfg, (e) => onEnded(e.why));
  }
}

export class ServiceSet {
  private readonly byName = new Map<string, Supervisor>();

  constructor(
    configs: readonly ServiceConfig[],
    private readonly log: Logger,
    private readonly emit: (type: string, fields: Record<string, unknown>) => void,
    private readonly escalate: (service: string, reason: string) => void,
  ) {
    this.replace(configs);
  }

  // `tandem reload`: supervisors for the new list; a kept, unchanged service keeps its supervisor (and its run).
  replace(configs: readonly ServiceConfig[]): void {
    const old = new Map(this.byName);
    this.byName.clear();
    for (const cfg of configs) {
      const kept = old.get(cfg.name);
      const same = kept !== undefined && JSON.stringify(kept.cfg) === JSON.stringify(cfg);
      this.byName.set(cfg.name, same ? kept : new Supervisor(cfg, { driver: (onEnded) => createDriver(cfg, this.log, onEnded), log: this.log, emit: this.emit, escalate: this.escalate }));
    }
  }

  get(name: string): Supervisor {
    const s = this.byName.get(name);
    if (s === undefined) throw new Error(`no service ${JSON.stringify(name)}; configured: ${[...this.byName.keys()].join(', ') || 'none'}`);
    return s;
  }

  status(): ServiceStatus[] {
    return [...this.byName.values()].map((s) => s.status());
  }

  // Reverse order, like leaving MASTER: nothing may outlive the daemon.
  async stopAll(): Promise<void> {
    for (const s of [...this.byName.values()].reverse()) await s.stop();
  }
}
