// The managed service set of a node: one Supervisor per configured service,
// each with the driver of its kind. The conductor starts them in list order
// and stops them in reverse; this file only builds and looks them up.
import { statfsSync } from 'node:fs';
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../node/log.js';
import { CommandDriver } from './driver-command.js';
import type { ServiceDriver } from './driver.js';
import { OneshotDriver } from './driver-oneshot.js';
import { UnitDriver } from './driver-unit.js';
import { Supervisor, type ServiceStatus } from './supervisor.js';
import { groupMembers, processStart, RunLedger, type LiveRun } from './leftovers.js';
import { CGROUP2_SUPER_MAGIC, RunCgroup, type CgroupSupport, type ServiceCgroups } from './cgroup.js';

export function createDriver(cfg: ServiceConfig, log: Pick<Logger, 'info' | 'warn'>, onEnded: (why: string) => void, cgroups?: ServiceCgroups): ServiceDriver {
  switch (cfg.kind) {
    case 'command':
      return new CommandDriver(cfg, (level, line) => (level === 'info' ? log.info(line) : log.warn(line)), (e) => onEnded(e.why), cgroups);
    case 'oneshot':
      return new OneshotDriver(cfg);
    case 'unit':
      return new UnitDriver(cfg, (e) => onEnded(e.why));
  }
}

export class ServiceSet {
  private readonly byName = new Map<string, Supervisor>();
  private readonly ledger: RunLedger | undefined;
  private readonly cgroups: ServiceCgroups | undefined;
  private readonly stuck = new Map<string, LiveRun>(); // leftovers that could not be ended, by service

  // `cgroups`: the daemon's look at cgroup support (cgroup.ts); without, command runs are stopped by process group.
  constructor(
    configs: readonly ServiceConfig[],
    private readonly log: Logger,
    private readonly emit: (type: string, fields: Record<string, unknown>) => void,
    private readonly escalate: (service: string, reason: string) => void,
    stateDir?: string,
    cgroups?: CgroupSupport,
  ) {
    this.ledger = stateDir === undefined ? undefined : new RunLedger(stateDir);
    this.cgroups = cgroups?.ok === true ? cgroups.tree : undefined;
    if (cgroups !== undefined && configs.some((c) => c.kind === 'command')) {
      if (cgroups.ok) log.info(`services: each run of a command service gets a cgroup of its own in ${cgroups.tree.base}`);
      else log.warn(`services: no cgroup for command services (${cgroups.why}): a child that leaves its service's process group (setsid) is not stopped with it`);
    }
    this.replace(configs);
  }

  // At start, before the election: runs a crashed daemon left behind are ended (this node is not MASTER yet).
  // One that could not be ended is tried again before its service starts.
  async endLeftovers(): Promise<void> {
    for (const run of this.ledger?.takeLeftovers() ?? []) {
      try {
        await this.endOne(run);
      } catch (e) {
        this.stuck.set(run.name, run);
        this.log.error(`service ${run.name}: leftover not ended: ${(e as Error).message}`);
      }
    }
  }

  // Starts a service once nothing of an earlier daemon's run of it is left: never two copies side by side.
  async start(name: string, signal: AbortSignal): Promise<void> {
    const left = this.stuck.get(name);
    if (left !== undefined) {
      try {
        await this.endOne(left);
      } catch (e) {
        throw new Error(`service ${name}: a run left by a daemon that did not stop could not be ended (${(e as Error).message}); not starting a second copy beside it; end it by hand, and the next start tries again`);
      }
      this.stuck.delete(name);
    }
    return this.get(name).start(signal);
  }

  private async endOne(run: LiveRun): Promise<void> {
    const what = await endLeftover(run, this.byName.get(run.name)?.cfg, this.log);
    this.ledger?.leftoverEnded(run);
    if (what !== null) {
      this.log.warn(`service ${run.name}: ${what} (left running by a daemon that did not stop)`);
      this.emit('service.leftover', { service: run.name, kind: run.kind, pgid: run.pgid, action: what });
    }
  }

  // `tandem reload`: supervisors for the new list; a kept, unchanged service keeps its supervisor (and its run).
  replace(configs: readonly ServiceConfig[]): void {
    const old = new Map(this.byName);
    this.byName.clear();
    for (const cfg of configs) {
      const kept = old.get(cfg.name);
      const same = kept !== undefined && JSON.stringify(kept.cfg) === JSON.stringify(cfg);
      this.byName.set(cfg.name, same ? kept : new Supervisor(cfg, { driver: (onEnded) => createDriver(cfg, this.log, onEnded, this.cgroups), log: this.log, emit: this.emit, escalate: this.escalate, ...(this.ledger ? { ledger: this.ledger } : {}) }));
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

  // Reverse order, like leaving MASTER: nothing may outlive the daemon. A stop that fails (logged by its
  // supervisor, kept in the ledger for the next start) does not keep the others running.
  async stopAll(): Promise<void> {
    for (const s of [...this.byName.values()].reverse()) await s.stop().catch(() => {});
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

// Ends one leftover run the way its kind is stopped; null when there was nothing left to end.
async function endLeftover(run: LiveRun, cfg: ServiceConfig | undefined, log: Pick<Logger, 'info' | 'warn'>): Promise<string | null> {
  if (run.kind === 'command') {
    const cg = leftoverCgroup(run.cgroup);
    if (cg !== null) return endCgroup(cg, cfg?.stopTimeoutMs ?? 5000);
    if (run.pgid === null || run.since === null) return null;
    const pgid = run.pgid;
    // The leader may be gone (SIGPIPE once the daemon's end of its pipe closed) while its children run on.
    const leader = processStart(pgid);
    if (leader !== null && leader !== run.since) return null; // the pid is someone else's now
    if (groupMembers(pgid).length === 0 || !signalGroup(pgid, 'SIGTERM')) return null;
    const until = Date.now() + (cfg?.stopTimeoutMs ?? 5000);
    while (Date.now() < until && groupMembers(pgid).length > 0) await sleep(50);
    signalGroup(pgid, 'SIGKILL');
    return `process group ${pgid} ended`;
  }
  // A unit or oneshot is stopped by the stop action it was run with; an older ledger has only the name.
  const svc = run.service ?? (cfg?.kind === run.kind ? cfg : undefined);
  if (svc === undefined) {
    log.warn(`service ${run.name}: a ${run.kind} left running by a daemon that did not stop, not in the configuration any more: not stopped, stop it by hand`);
    return null;
  }
  await createDriver(svc, log, () => {}).stop();
  return svc.kind === 'unit' ? `unit ${svc.unit} stopped` : 'stop command run';
}

// The cgroup a ledger names, if it is one of ours that still exists: only a directory named as
// ProcessService names them, on a cgroup2 file system, is signalled or removed.
function leftoverCgroup(path: string | undefined): RunCgroup | null {
  if (path === undefined || !/^\/.*\/tandem\.\d+\.[^/]+\.\d+$/.test(path)) return null;
  try {
    if (statfsSync(path).type !== CGROUP2_SUPER_MAGIC) return null;
  } catch {
    return null; // gone (the host rebooted since)
  }
  return new RunCgroup(path);
}

// A run's whole cgroup, as its stop does: SIGTERM to every process in it, SIGKILL after the stop timeout, removed.
async function endCgroup(cg: RunCgroup, stopTimeoutMs: number): Promise<string | null> {
  const found = cg.members().length;
  await cg.end(stopTimeoutMs);
  if (!cg.remove()) throw new Error(`${cg.path} still holds ${cg.members().join(', ')} after SIGKILL`);
  return found === 0 ? null : `${found} process${found === 1 ? '' : 'es'} of ${cg.path} ended`;
}
