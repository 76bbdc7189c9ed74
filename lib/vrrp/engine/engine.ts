// The VRRP engine: every configured instance, the sockets they share (one per
// interface and address family), link and script trackers, and sync groups.
// It owns the real timers and I/O; decisions stay in the pure modules.
import { performance } from 'node:perf_hooks';
import type { InstanceConfig, SyncGroupConfig, VrrpConfig } from '../../config/types.js';
import { canonicalIp, type IpFamily } from '../../net/ip-address.js';
import { LinkMonitor } from '../../net/link-monitor.js';
import { getLink, pickSourceAddress, type LinkInfo } from '../../net/links.js';
import type { Logger } from '../../node/log.js';
import type { VrrpState } from '../fsm/types.js';
import type { Received } from '../packet/check.js';
import { peekVrid } from '../packet/advert.js';
import { effectivePriority, isFaulting } from '../tracking.js';
import type { VrrpSocket } from '../transport/vrrp-socket.js';
import { TandemError } from '../../errors.js';
import { VrrpInstance } from './instance.js';
import { ScriptTracker } from './script-tracker.js';
import { SocketSet, type OpenSocket } from './socket-set.js';
import { SyncGroups } from './sync-groups.js';
import type { InstanceStats } from './stats.js';

export interface TransitionEvent {
  instance: InstanceConfig;
  from: VrrpState;
  to: VrrpState;
  reason: string;
  priority: number;
  link: LinkInfo;
}

export interface EngineHooks {
  onTransition(ev: TransitionEvent): void;
  onGroupTransition(group: SyncGroupConfig, from: VrrpState, to: VrrpState): void;
  onAddressesChanged?(dev: string): void; // an address came or went on a watched link
}

export interface InstanceStatus {
  name: string;
  interface: string;
  virtual_router_id: number;
  version: 2 | 3;
  family: IpFamily;
  state: VrrpState;
  priority: number;
  effective_priority: number;
  master_ip: string | null;
  source_ip: string;
  vips: string[];
  fault_reasons: string[];
  hold_reasons: string[]; // why it stays out of MASTER (boot gate, maintenance)
  yielding: boolean; // stepped down: does not preempt until MASTER again
  sync_group: string | null;
  stats: InstanceStats;
}

interface SocketStats {
  dropped: Record<string, number>;
}

function onLink(link: LinkInfo, address: string): boolean {
  const want = canonicalIp(address) ?? address;
  return link.addresses.some((a) => (canonicalIp(a.address) ?? a.address) === want);
}

// Where adverts go from: the configured unicast_src_ip while it is on the link, else the link's own address.
function sourceOn(link: LinkInfo, c: InstanceConfig): string | null {
  if (c.unicastSrcIp !== undefined) return onLink(link, c.unicastSrcIp) ? c.unicastSrcIp : null;
  return pickSourceAddress(link, c.family, new Set(c.virtualIpaddress.map((v) => v.address)));
}

function missingSource(c: InstanceConfig): string {
  return c.unicastSrcIp !== undefined ? `unicast_src_ip ${c.unicastSrcIp} is not on ${c.interface}` : `no IPv${c.family} source address on ${c.interface}`;
}

export class VrrpEngine {
  private readonly instances = new Map<string, VrrpInstance>();
  private readonly sockets: SocketSet;
  private readonly links = new Map<string, LinkInfo>();
  private readonly scripts = new Map<string, ScriptTracker>();
  private readonly faults = new Map<string, Set<string>>();
  // Faults the conductor sets (a failed takeover, a spent restart budget), per instance.
  private readonly external = new Map<string, Set<string>>();
  // Faults no tracker can clear: a missing interface or source address (at start, or lost later); a failed socket's are the SocketSet's.
  private readonly linkFaults = new Map<string, Set<string>>();
  private readonly socketStats: SocketStats = { dropped: {} };
  // Instances whose interface or source address is missing (at start, or since); retried on link and address events.
  private readonly unresolved = new Set<string>();
  private monitor: LinkMonitor | null = null;
  private resolving: Promise<void> = Promise.resolve();
  private syncGroups: SyncGroups | null = null;
  private stopped = false;

  constructor(
    private readonly cfg: VrrpConfig,
    private readonly hooks: EngineHooks,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
    openSocket?: OpenSocket, // tests: a stand-in for the raw socket
  ) {
    this.sockets = new SocketSet(cfg.instances, {
      onPacket: (dev, rx) => this.dispatch(dev, rx),
      onDrop: (reason) => {
        this.socketStats.dropped[reason] = (this.socketStats.dropped[reason] ?? 0) + 1;
      },
      onFailed: (dev, family, reason) => {
        this.log.error(`${reason}; its instances stay FAULT until the daemon is restarted (or ${dev} is made again)`);
        for (const inst of this.instances.values()) if (inst.cfg.interface === dev && inst.cfg.family === family) this.recompute(inst);
      },
    }, openSocket);
  }

  async start(beforeStartup?: () => Promise<void> | void): Promise<void> {
    const devs = new Set<string>();
    for (const i of this.cfg.instances) {
      devs.add(i.interface);
      for (const t of i.trackInterface) devs.add(t.name);
    }
    for (const dev of devs) {
      try {
        this.links.set(dev, await getLink(dev));
      } catch (err) {
        this.log.warn(`interface ${dev}: ${(err as Error).message}`);
      }
    }
    for (const c of this.cfg.instances) this.createInstance(c);
    this.syncGroups = new SyncGroups(this.cfg.syncGroups, this.instances, (g, from, to) => {
      this.log.info(`sync group ${g.name}: ${from} -> ${to}`);
      this.hooks.onGroupTransition(g, from, to);
    });
    for (const s of Object.values(this.cfg.scripts)) {
      if (!this.cfg.instances.some((i) => i.trackScript.some((t) => t.name === s.name))) continue;
      const t = new ScriptTracker(s, () => this.recomputeAll(), this.log);
      this.scripts.set(s.name, t);
    }
    this.monitor = new LinkMonitor(
      [...devs],
      (dev, up) => {
        this.log.info(`link ${dev} is ${up ? 'up' : 'down'}`);
        this.recomputeAll();
        void this.resolveInTurn(dev);
      },
      (m) => this.log.warn(m),
      (dev) => void this.resolveInTurn(dev),
    );
    await this.monitor.start();
    this.recomputeAll();
    // The conductor's holds (boot gate, maintenance) go in before any instance can become MASTER.
    await beforeStartup?.();
    for (const inst of this.instances.values()) inst.handle({ type: 'startup' });
    for (const t of this.scripts.values()) t.start();
  }

  private createInstance(c: InstanceConfig): void {
    const link = this.links.get(c.interface);
    const source = link ? sourceOn(link, c) : (c.unicastSrcIp ?? null);
    const faults = new Set<string>();
    if (link === undefined) faults.add(`interface ${c.interface} not found`);
    else if (source === null) faults.add(missingSource(c));
    if (faults.size > 0) this.unresolved.add(c.name);
    this.faults.set(c.name, faults);
    this.linkFaults.set(c.name, new Set(faults));
    const socket = link ? this.sockets.socketFor(c, link) : null;
    const inst = new VrrpInstance(
      c,
      source ?? (c.family === 4 ? '0.0.0.0' : '::'),
      socket ?? this.nullSocket(),
      { onTransition: (i, from, to, reason) => this.onTransition(i, from, to, reason) },
      this.log,
      this.now,
      c.priority,
    );
    for (const reason of faults) inst.handle({ type: 'fault', reason });
    this.instances.set(c.name, inst);
  }

  // One event at a time, so an older look at the link never lands after a newer one.
  private resolveInTurn(dev: string): Promise<void> {
    this.resolving = this.resolving.then(() => this.resolve(dev)).catch((e: Error) => this.log.error(`link ${dev}: ${e.message}`));
    return this.resolving;
  }

  // A link or address event on `dev`: instances still waiting for it get their socket and source, and
  // running ones have their source checked; then the conductor checks the VIPs of its MASTERs there.
  private async resolve(dev: string): Promise<void> {
    const here = [...this.instances.values()].filter((i) => i.cfg.interface === dev);
    if (this.stopped) return;
    let link: LinkInfo | null = null;
    try {
      if (here.length > 0) link = await getLink(dev);
    } catch {
      // missing: the link monitor reports it down
    }
    if (this.stopped) return;
    if (link !== null) {
      this.links.set(dev, link);
      this.relink(dev, link, here);
      for (const inst of here) {
        if (this.unresolved.has(inst.name)) this.bind(inst, link);
        else this.checkSource(inst, link);
      }
    }
    this.hooks.onAddressesChanged?.(dev);
  }

  // The interface or its source address is there now: socket, source, and the start faults cleared.
  private bind(inst: VrrpInstance, link: LinkInfo): void {
    const c = inst.cfg;
    const source = sourceOn(link, c);
    if (source === null) {
      // The interface is here, its address not yet (think DHCP): FAULT for that now.
      this.linkFaults.set(c.name, new Set([missingSource(c)]));
      this.recompute(inst);
      return;
    }
    try {
      inst.rebind(this.sockets.socketFor(c, link), source);
    } catch (err) {
      this.log.error(`${c.name}: ${(err as Error).message}`);
      return;
    }
    this.unresolved.delete(c.name);
    this.linkFaults.set(c.name, new Set());
    this.log.info(`${c.name}: ${c.interface} is usable now (source ${source})`);
    this.recompute(inst);
  }

  // The source address left the link (removed by hand, a DHCP change, Linux dropping a subnet with its
  // primary): adverts go from another address of the link, or the instance is FAULT until one is back,
  // as keepalived does, so a MASTER never goes on advertising from an address it lost.
  private checkSource(inst: VrrpInstance, link: LinkInfo): void {
    const c = inst.cfg;
    const was = inst.sourceIp;
    if (onLink(link, was)) return;
    const source = sourceOn(link, c);
    if (source !== null) {
      inst.rebind(this.sockets.socketFor(c, link), source);
      this.log.warn(`${c.name}: source address ${was} left ${c.interface}; adverts go from ${source} now`);
      return;
    }
    const reason = missingSource(c);
    this.unresolved.add(c.name);
    this.linkFaults.get(c.name)?.add(reason);
    this.log.warn(`${c.name}: source address ${was} left ${c.interface}: FAULT until it is back (${reason})`);
    this.recompute(inst);
  }

  // The interface was deleted and made again (same name, new index): its sockets are replaced, and running
  // instances move to the new ones with their source (checkSource() then handles a source that changed).
  private relink(dev: string, link: LinkInfo, here: readonly VrrpInstance[]): void {
    const stale = this.sockets.dropStale(dev, link);
    if (stale.length === 0) return;
    this.log.warn(`${dev}: the interface was made again (index ${link.index} now): its VRRP socket${stale.length > 1 ? 's are' : ' is'} opened anew`);
    for (const inst of here) {
      if (!stale.includes(inst.cfg.family) || this.unresolved.has(inst.name) || !onLink(link, inst.sourceIp)) continue;
      try {
        inst.rebind(this.sockets.socketFor(inst.cfg, link), inst.sourceIp);
      } catch (err) {
        // FAULT, and bound again (bind()) at the next event on the link.
        this.log.error(`${inst.name}: ${(err as Error).message}`);
        this.unresolved.add(inst.name);
        this.linkFaults.get(inst.name)?.add((err as Error).message);
      }
    }
    for (const inst of here) this.recompute(inst); // a failure of the old socket is gone with it
  }

  // An instance whose interface is missing never sends; it stays in FAULT.
  private nullSocket(): VrrpSocket {
    return { send: async () => {}, drain: async () => {}, close: () => {} } as unknown as VrrpSocket;
  }

  private dispatch(dev: string, rx: Received): void {
    const vrid = peekVrid(rx.payload);
    let matched = false;
    for (const inst of this.instances.values()) {
      const c = inst.cfg;
      if (c.interface !== dev || c.family !== rx.family || c.virtualRouterId !== vrid) continue;
      matched = true;
      inst.receive(rx);
    }
    // keepalived ignores adverts for VRIDs it does not run; count them per socket.
    if (!matched) {
      const reason = vrid === undefined ? 'truncated' : 'unknown-vrid';
      this.socketStats.dropped[reason] = (this.socketStats.dropped[reason] ?? 0) + 1;
    }
  }

  private onTransition(inst: VrrpInstance, from: VrrpState, to: VrrpState, reason: string): void {
    this.log.info(`${inst.name}: ${from} -> ${to} (${reason})`);
    const link = this.links.get(inst.cfg.interface);
    if (link !== undefined) {
      this.hooks.onTransition({ instance: inst.cfg, from, to, reason, priority: inst.snapshot.priority, link });
    }
    this.syncGroups?.onMemberChange(inst.name, { member: inst.name, from, to, reason }, this.stopped);
  }

  // Trackers changed: recompute every instance's faults and effective priority.
  private recomputeAll(): void {
    if (this.stopped) return;
    for (const inst of this.instances.values()) this.recompute(inst);
  }

  private recompute(inst: VrrpInstance): void {
    const c = inst.cfg;
    const up = (dev: string): boolean => this.monitor?.isUp(dev) ?? this.links.get(dev)?.up ?? false;
    const reasons = new Set<string>([...(this.linkFaults.get(c.name) ?? []), ...(this.external.get(c.name) ?? [])]);
    const failed = this.sockets.failure(c);
    if (failed !== null) reasons.add(failed);
    const contributions: { weight: number; good: boolean | null }[] = [];
    // RFC 5798 has no trackers; keepalived: the VRRP interface down is FAULT.
    if (!up(c.interface)) reasons.add(`interface ${c.interface} down`);
    // keepalived: weights of sync-group members are ignored (a failure is FAULT), so one
    // member's weight cannot make the group flap between nodes.
    const grouped = this.syncGroups?.groupName(c.name) != null;
    for (const t of c.trackInterface) {
      const status = up(t.name) ? 'GOOD' : 'BAD';
      const weight = grouped ? 0 : t.weight;
      if (isFaulting(weight, status)) reasons.add(`tracked interface ${t.name} down`);
      else contributions.push({ weight, good: status === 'GOOD' });
    }
    for (const ref of c.trackScript) {
      const tracker = this.scripts.get(ref.name);
      if (tracker === undefined) continue;
      const weight = grouped ? 0 : (ref.weight ?? tracker.cfg.weight);
      const status = tracker.state.status;
      if (isFaulting(weight, status)) reasons.add(`track script ${ref.name} failed`);
      else contributions.push({ weight, good: status === 'INIT' ? null : status === 'GOOD' });
    }
    const old = this.faults.get(c.name) ?? new Set<string>();
    this.faults.set(c.name, reasons);
    for (const r of reasons) if (!old.has(r)) inst.handle({ type: 'fault', reason: r });
    for (const r of old) if (!reasons.has(r)) inst.handle({ type: 'fault-cleared', reason: r });
    if (reasons.size !== old.size || [...reasons].some((r) => !old.has(r))) this.syncGroups?.onMemberChange(c.name, null);
    const p = effectivePriority(c.priority, contributions);
    if (p !== inst.snapshot.priority) {
      this.log.info(`${c.name}: effective priority ${inst.snapshot.priority} -> ${p}`);
      inst.handle({ type: 'priority', priority: p });
    }
  }

  status(): InstanceStatus[] {
    return [...this.instances.values()].map((inst) => {
      const f = inst.snapshot;
      const c = inst.cfg;
      return {
        name: c.name,
        interface: c.interface,
        virtual_router_id: c.virtualRouterId,
        version: c.version,
        family: c.family,
        state: f.state,
        priority: c.priority,
        effective_priority: f.priority,
        master_ip: f.state === 'MASTER' ? inst.sourceIp : f.masterIp,
        source_ip: inst.sourceIp,
        vips: c.virtualIpaddress.map((v) => `${v.address}/${v.prefix}`),
        fault_reasons: [...f.faultReasons],
        hold_reasons: [...f.holdReasons],
        yielding: f.yielding,
        sync_group: this.syncGroups?.groupName(c.name) ?? null,
        stats: inst.stats,
      };
    });
  }

  // The conductor's inputs (lib/node/vrrp-election.ts); unknown instance names are a bug, reported as such.
  setFault(name: string, reason: string, on: boolean): void {
    const set = this.external.get(name) ?? new Set<string>();
    this.external.set(name, set);
    if (on) set.add(reason);
    else set.delete(reason);
    if (!this.stopped) this.recompute(this.instance(name));
  }

  hold(name: string, reason: string, on: boolean): void {
    if (!this.stopped) this.instance(name).handle(on ? { type: 'hold', reason } : { type: 'hold-cleared', reason });
  }

  refreshVips(name: string): void {
    this.instance(name).refreshVips();
  }

  stepDown(name: string, reason: string): void {
    if (!this.stopped) this.instance(name).handle({ type: 'step-down', reason });
  }

  // The instance as the conductor sees it: state, the master's address, and whether any peer advert arrived.
  view(name: string): { state: VrrpState; masterIp: string | null; sourceIp: string; peerHeard: boolean } {
    const inst = this.instance(name);
    const f = inst.snapshot;
    return { state: f.state, masterIp: f.state === 'MASTER' ? inst.sourceIp : f.masterIp, sourceIp: inst.sourceIp, peerHeard: inst.peerHeardAt !== null };
  }

  private instance(name: string): VrrpInstance {
    const inst = this.instances.get(name);
    if (inst === undefined) throw new TandemError('NO_INSTANCE', `no VRRP instance ${JSON.stringify(name)}`);
    return inst;
  }

  socketDrops(): Record<string, number> {
    return { ...this.socketStats.dropped };
  }

  // Every instance to STOP: a MASTER sends priority 0 first (RFC 5798 6.4.3).
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // The priority-0 adverts first: every millisecond here delays the peer's takeover.
    for (const inst of this.instances.values()) {
      inst.handle({ type: 'shutdown' });
      inst.stop();
    }
    for (const t of this.scripts.values()) t.stop();
    this.monitor?.stop();
    await this.sockets.close();
  }
}
