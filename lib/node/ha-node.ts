// The HA part of the daemon (issue 5): one resource group that follows the
// only VRRP instance, with every replicated volume and managed service of the
// node, its boot gate and its hand-overs; and the control commands that drive
// them (`ha.status`, `ha.switchover`, `ha.maintenance`). A node with no
// services and no volumes, or with several instances, keeps keepalived's
// behaviour: each instance only moves its VIPs.
import type { ServiceConfig, TandemConfig } from '../config/types.js';
import { DEFAULT_FAULT_HOLD_MS } from '../config/startup-section.js';
import { TandemError } from '../errors.js';
import type { AnyVolumeStatus } from '../replication/volume/status-types.js';
import { serviceCgroups } from '../services/cgroup.js';
import { ServiceSet } from '../services/service-set.js';
import { startWithinMs, stepLimits } from '../services/step-limits.js';
import type { ServiceStatus } from '../services/supervisor.js';
import { pingOnce, BootDriver } from './boot-driver.js';
import type { BootState } from './boot-gate.js';
import type { Conductor } from './conductor.js';
import type { ControlServer } from './control-server.js';
import type { Election } from './election.js';
import { deadline } from './deadline.js';
import { HaGroup, type TransitionRecord } from './ha-group.js';
import { Handover } from './ha-handover.js';
import { peerPrimaryFrom, peerReadyFrom, type Readiness } from './peer-readiness.js';
import type { Logger } from './log.js';
import type { Replication } from './replication.js';
import { retryTransient } from './retry.js';

export const SWITCHOVER_TIMEOUT_MS = 120_000;
const PROMOTE_RETRY_MS = 100; // how often a refused promotion is tried again while its step runs

export interface HaStatus {
  group: string;
  role: string;
  serving: boolean; // everything a MASTER holds is up
  handing_over: boolean; // a MASTER letting go before its step-down (switchover, maintenance, a spent budget, a stop)
  boot: { state: BootState; reason: string };
  maintenance: boolean;
  services: ServiceStatus[];
  transitions: TransitionRecord[];
}

// The instance a resource group follows, or null when this node has none (see the header).
export function haInstanceOf(cfg: TandemConfig): string | null {
  if (cfg.vrrp.instances.length !== 1) return null;
  if (cfg.services.length === 0 && cfg.replication.volumes.length === 0) return null;
  return cfg.vrrp.instances[0]?.name ?? null;
}

// Why a node has no resource group, for the commands that act on one.
export function noGroupReason(cfg: TandemConfig): string {
  const n = cfg.vrrp.instances.length;
  if (n === 0) return 'it runs no VRRP instance';
  if (n > 1) return `it has ${n} VRRP instances, and a group has exactly one (active/active is not built)`;
  return 'it has no services and no replicated volumes: its instance only moves VIPs, as keepalived does (to hand the VIPs over, stop the daemon here: its priority 0 advert makes the peer MASTER at once)';
}

export class HaNode {
  readonly services: ServiceSet;
  readonly group: HaGroup;
  readonly handover: Handover;
  readonly boot: BootDriver;
  private readonly unsubscribe: (() => void) | null;

  constructor(
    private readonly cfg: TandemConfig,
    readonly election: Election,
    conductor: Conductor,
    private readonly replication: Replication,
    log: Logger,
    emit: (type: string, fields: Record<string, unknown>) => void,
    subscribe?: (listener: (ev: { type: string; [field: string]: unknown }) => void) => () => void,
  ) {
    const instance = cfg.vrrp.instances.find((i) => i.name === election.group);
    if (instance === undefined) throw new Error(`no VRRP instance ${election.group}`);
    this.services = new ServiceSet(cfg.services, log, emit, (s, why) => this.group.escalate(s, why), cfg.node.stateDir, serviceCgroups());
    const volumes = cfg.replication.volumes.map((v) => v.name);
    this.group = new HaGroup(
      { volumes, services: cfg.services.map(stepLimits), vips: instance.virtualIpaddress.length > 0 },
      election,
      {
        // An old MASTER handing over demotes while we take over, a resync ends: refusals that clear are waited out, within the step's timeout.
        promote: (v, signal) => retryTransient(() => this.volume(v).promote(false), signal, PROMOTE_RETRY_MS),
        demote: (v) => this.volume(v).demote(),
        start: (s, signal) => this.services.start(s, signal),
        stop: (s) => this.services.get(s).stop(),
        ...conductor.effectsFor(instance),
      },
      { log, emit, faultHoldMs: () => cfg.startup.faultHoldMs ?? DEFAULT_FAULT_HOLD_MS },
    );
    conductor.attach(instance.name, this.group);
    this.handover = new Handover(this.group, election, {
      stateDir: cfg.node.stateDir,
      peerReady: () => this.peerReady(),
      peerServing: (signal) => this.peerServing(signal),
      log,
      emit,
    });
    this.boot = new BootDriver(cfg.startup, election, {
      linkUp: () => this.volumeStatus().some((v) => v.peers.some((p) => p.connected)),
      volumesUpToDate: () => this.volumeStatus().every((v) => v.disk === 'UpToDate'),
      ...(subscribe ? { onLinkEvent: (cb: () => void) => subscribe((ev) => ev.type === 'replica.connected' && cb()) } : {}),
      log,
      emit,
    });
    // Our volume's peer was Primary while we were away (a stalled MASTER that came back): its data is newer, and
    // serving on would strand it (or split the brain at our next write). Step down; the link then resyncs us.
    this.unsubscribe = subscribe?.((ev) => {
      if (ev.type !== 'replica.peer-newer' || typeof ev.volume !== 'string' || !volumes.includes(ev.volume)) return;
      this.group.stepAside(ev.volume, `${String(ev.detail)}: stepping down so ${String(ev.peer)} serves and this node resyncs from it`);
    }) ?? null;
  }

  private volume(name: string): { promote(force: boolean): Promise<void>; demote(): Promise<void> } {
    const v = this.replication.volumes.get(name);
    if (v === undefined) throw new Error(`volume ${name} is not open`);
    return v;
  }

  private volumeStatus(): AnyVolumeStatus[] {
    return [...this.replication.volumes.values()].map((v) => v.status());
  }

  // Before the election starts: the holds (boot gate, maintenance) must be in place first.
  // The boot gate guards replicated data; a group without volumes has none to split, and two
  // held BACKUPs would never hear each other (a BACKUP sends no adverts).
  async beforeElection(): Promise<void> {
    await this.services.endLeftovers();
    await this.handover.restore();
    if (this.cfg.replication.volumes.length > 0) this.boot.start();
    else this.boot.skip('no replicated volume: nothing to protect from a split brain at boot');
  }

  private peerReady(): Readiness {
    return peerReadyFrom(this.volumeStatus());
  }

  // The peer is MASTER and serves: its volumes Primary, and the first VIP answers ping from here.
  private async peerServing(signal: AbortSignal): Promise<Readiness> {
    const primary = peerPrimaryFrom(this.volumeStatus());
    if (!primary.ready) return primary;
    const vip = this.cfg.vrrp.instances.find((i) => i.name === this.election.group)?.virtualIpaddress[0];
    if (vip !== undefined && !(await pingOnce(vip.address, signal))) return { ready: false, why: `VIP ${vip.address} does not answer yet` };
    return { ready: true, why: [primary.why, ...(vip ? [`VIP ${vip.address} answers`] : [])].filter((w) => w !== '').join(', ') };
  }

  status(): HaStatus {
    return {
      group: this.election.group,
      role: this.election.role(),
      serving: this.group.serving && this.election.role() === 'MASTER',
      handing_over: this.group.handingOver && this.election.role() === 'MASTER',
      boot: this.boot.status(),
      maintenance: this.handover.maintenance,
      services: this.services.status(),
      transitions: this.group.transitions(),
    };
  }

  // `tandem reload`: removed and changed services stop (reverse order); on a serving MASTER the
  // changed and new ones then start in the new order. A start that fails hands over, as at takeover.
  // Returns the problems and the services now in effect: a removed or changed service whose stop failed stays
  // as it was (still managed, stopped again on leaving MASTER), so the next reload tries again.
  reloadServices(next: readonly ServiceConfig[], stopping: readonly string[]): Promise<{ problems: string[]; services: ServiceConfig[] }> {
    return this.group.exclusive(() => this.reloadServicesNow(next, stopping));
  }

  private async reloadServicesNow(next: readonly ServiceConfig[], stopping: readonly string[]): Promise<{ problems: string[]; services: ServiceConfig[] }> {
    const problems: string[] = [];
    const serving = this.group.serving && this.election.role() === 'MASTER';
    const stuck = new Set<string>();
    for (const name of [...stopping].reverse()) {
      await this.services.get(name).stop().catch((e: Error) => {
        stuck.add(name);
        problems.push(`${name} could not be stopped (${e.message}): it stays as configured before, still managed; reload again once it can stop`);
      });
    }
    const effective = keepStuck(this.cfg.services, next, stuck);
    const had = new Set(this.services.status().map((x) => x.name));
    const restart = new Set(stopping.filter((n) => !stuck.has(n)));
    this.services.replace(effective);
    this.group.setServices(effective.map(stepLimits));
    if (!serving) return { problems, services: effective };
    for (const svc of effective) {
      if (had.has(svc.name) && !restart.has(svc.name)) continue;
      const within = deadline(startWithinMs(svc));
      try {
        await this.services.start(svc.name, within.signal);
      } catch (e) {
        problems.push(`${svc.name} did not start: ${(e as Error).message}`);
        this.group.escalate(svc.name, `did not start after reload: ${(e as Error).message}`);
        break;
      } finally {
        within.clear();
      }
    }
    return { problems, services: effective };
  }

  // `tandem restart` (escadm restart): the managed services of a serving MASTER, stopped in reverse and
  // started in order; VIPs and volumes stay. A service that does not come back hands over.
  restartServices(only?: string): Promise<{ restarted: string[]; ms: number }> {
    return this.group.exclusive(() => this.restartServicesNow(only));
  }

  private async restartServicesNow(only?: string): Promise<{ restarted: string[]; ms: number }> {
    if (!(this.group.serving && this.election.role() === 'MASTER')) {
      throw new TandemError('NOT_MASTER', `nothing to restart: ${this.election.group} is ${this.election.role()} here, and services run only on the serving MASTER`);
    }
    const list = only === undefined ? this.cfg.services : this.cfg.services.filter((x) => x.name === only);
    if (this.cfg.services.length === 0) throw new TandemError('NO_SERVICE', 'nothing to restart: no services are configured (the services section is empty)');
    if (list.length === 0) throw new TandemError('NO_SERVICE', `no service ${JSON.stringify(only)}; configured: ${this.cfg.services.map((x) => x.name).join(', ')}`);
    const t0 = Date.now();
    for (const svc of [...list].reverse()) {
      await this.services.get(svc.name).stop().catch((e: Error) => {
        throw new TandemError('RESTART_FAILED', `${e.message}; nothing was started again`);
      });
    }
    for (const svc of list) {
      const within = deadline(startWithinMs(svc));
      try {
        await this.services.start(svc.name, within.signal);
      } catch (e) {
        this.group.escalate(svc.name, `did not come back after tandem restart: ${(e as Error).message}`);
        throw new TandemError('RESTART_FAILED', `${svc.name} did not come back: ${(e as Error).message}; handing over to the peer`);
      } finally {
        within.clear();
      }
    }
    return { restarted: list.map((x) => x.name), ms: Date.now() - t0 };
  }

  // A node without a group answers its commands with why, not "unknown command".
  static registerAbsent(control: ControlServer, cfg: TandemConfig): void {
    for (const command of ['ha.restart', 'ha.switchover', 'ha.maintenance']) {
      control.handle(command, () => {
        throw new TandemError('NO_RESOURCE_GROUP', `${command.slice(3)} acts on the node's resource group (one VRRP instance with the services and volumes that follow it), and this node has none: ${noGroupReason(cfg)}`);
      });
    }
  }

  register(control: ControlServer): void {
    control.handle('ha.restart', (req) => this.restartServices(typeof req.service === 'string' ? req.service : undefined));
    control.handle('ha.status', () => this.status());
    control.handle('ha.switchover', (req) => this.handover.switchover(req.force === true, SWITCHOVER_TIMEOUT_MS));
    control.handle('ha.maintenance', (req) => {
      if (typeof req.on !== 'boolean') throw new Error('ha.maintenance needs "on": true or false');
      return this.handover.setMaintenance(req.on, req.force === true, SWITCHOVER_TIMEOUT_MS);
    });
  }

  // Before the engine's STOP at daemon stop: a MASTER lets go in order while still MASTER (HaGroup.release).
  release(reason: string): Promise<boolean> {
    return this.group.release(reason);
  }

  // After the engine's STOP: the group's leaving steps ran (drain), then nothing may outlive the daemon.
  async stop(): Promise<void> {
    this.boot.stop();
    this.unsubscribe?.();
    await this.group.drain();
    await this.services.stopAll();
  }
}

// The new service list, except that each `stuck` service (its stop failed) keeps its old configuration, and
// its old place when the new list removed it.
export function keepStuck(old: readonly ServiceConfig[], next: readonly ServiceConfig[], stuck: ReadonlySet<string>): ServiceConfig[] {
  const before = (name: string): ServiceConfig | undefined => old.find((o) => o.name === name);
  const out = next.map((s) => (stuck.has(s.name) ? before(s.name) ?? s : s));
  old.forEach((o, i) => {
    if (stuck.has(o.name) && !next.some((n) => n.name === o.name)) out.splice(Math.min(i, out.length), 0, o);
  });
  return out;
}
