// Carries out what the election decided, in keepalived's order. Becoming
// MASTER: add the VIPs, announce them (gratuitous ARP / unsolicited NA,
// repeated after garp_master_delay and every garp_master_refresh), then
// notify. Leaving MASTER: stop announcing, remove the VIPs, then notify.
// Steps for one instance run strictly in order; instances do not wait for
// each other.
import type { InstanceConfig, SyncGroupConfig, VirtualAddress } from '../config/types.js';
import type { VrrpState } from '../vrrp/fsm/types.js';
import type { Announcer } from '../net/announce.js';
import { canonicalIp } from '../net/ip-address.js';
import { getLink, isOnlyGlobalAddress, type LinkInfo } from '../net/links.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { addVip, deleteVip, vipText } from '../net/vip.js';
import type { TransitionEvent } from '../vrrp/engine/engine.js';
import type { EventBus } from './events.js';
import type { Logger } from './log.js';
import type { Notifier } from './notify.js';
import type { HaGroup, StepEffects } from './ha-group.js';

// One MASTER tenure per instance: its announcements stop when it ends, and the VIPs are removed only
// after the last announcement and VIP change in flight have finished. `ready`: its VIPs were all added.
interface Tenure {
  controller: AbortController;
  announcing: Promise<void>;
  vipChanges: Promise<void>; // reload's and restored VIPs, one after the other
  ready: boolean;
}

function newTenure(ready: boolean): Tenure {
  return { controller: new AbortController(), announcing: Promise.resolve(), vipChanges: Promise.resolve(), ready };
}

export class Conductor {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly tenures = new Map<string, Tenure>();
  // Instances whose role a resource group (ha-group.ts) carries out, with the link of their last transition.
  private readonly groups = new Map<string, HaGroup>();
  private readonly lastEvent = new Map<string, TransitionEvent>();

  constructor(
    private readonly log: Logger,
    private readonly events: EventBus,
    private readonly notifier: Notifier,
    private readonly announcer: Announcer,
  ) {}

  attach(instance: string, group: HaGroup): void {
    this.groups.set(instance, group);
  }

  onTransition(ev: TransitionEvent): void {
    const c = ev.instance;
    this.events.emit('vrrp.transition', { instance: c.name, from: ev.from, to: ev.to, reason: ev.reason, priority: ev.priority });
    this.lastEvent.set(c.name, ev);
    const group = this.groups.get(c.name);
    if (group !== undefined) return group.onRole(ev.from, ev.to, ev.reason, ev.priority);
    if (ev.to === 'MASTER') {
      const tenure = newTenure(false);
      this.tenures.set(c.name, tenure);
      this.enqueue(c.name, async () => {
        await this.addAll(c);
        if (tenure.controller.signal.aborted) return;
        tenure.ready = true;
        tenure.announcing = this.announce(ev, tenure.controller.signal);
      });
    } else if (ev.from === 'MASTER') {
      const tenure = this.tenures.get(c.name);
      this.tenures.delete(c.name);
      tenure?.controller.abort();
      this.enqueue(c.name, async () => {
        // A late GARP after the new MASTER's would point clients back at us.
        await tenure?.announcing;
        await tenure?.vipChanges;
        await this.removeAll(c);
      });
    }
    this.enqueue(c.name, async () => this.notifier.notify('INSTANCE', c.name, c, ev.to, ev.priority));
  }

  onGroupTransition(g: SyncGroupConfig, from: VrrpState, to: VrrpState): void {
    this.events.emit('vrrp.group_transition', { group: g.name, from, to });
    // After the members' own steps queued so far: GROUP MASTER runs once their VIPs are up.
    const members = g.members.map((m) => this.queues.get(m) ?? Promise.resolve());
    this.enqueue(`group ${g.name}`, async () => {
      await Promise.allSettled(members);
      this.notifier.notify('GROUP', g.name, g, to, 0);
    });
  }

  private enqueue(name: string, step: () => Promise<void>): void {
    const prev = this.queues.get(name) ?? Promise.resolve();
    const next = prev.then(step).catch((err: Error) => this.log.error(`${name}: ${err.message}`));
    this.queues.set(name, next);
  }

  // The VIP, announce and notify steps of a resource group on instance `c` (ha-group.ts runs them in order).
  effectsFor(c: InstanceConfig): Pick<StepEffects, 'addVips' | 'announce' | 'removeVips' | 'notify'> {
    return {
      addVips: async () => {
        const failed = await this.addAll(c);
        if (failed.length > 0) throw new Error(`VIP ${failed.join(', ')} not added`);
      },
      announce: () => {
        const ev = this.lastEvent.get(c.name);
        if (ev === undefined) return;
        const tenure = newTenure(true);
        this.tenures.get(c.name)?.controller.abort();
        this.tenures.set(c.name, tenure);
        tenure.announcing = this.announce(ev, tenure.controller.signal).catch((e: Error) => this.log.warn(`${c.name}: ${e.message}`));
      },
      removeVips: async () => {
        const tenure = this.tenures.get(c.name);
        this.tenures.delete(c.name);
        tenure?.controller.abort();
        await tenure?.announcing; // a late GARP after the new MASTER's would point clients back at us
        await tenure?.vipChanges;
        const failed = await this.removeAll(c);
        if (failed.length > 0) throw new Error(`VIP ${failed.join(', ')} not removed`);
      },
      notify: async (state, priority) => this.notifier.notify('INSTANCE', c.name, c, state, priority),
    };
  }

  // `tandem reload`: the instance's VIP list becomes `next` (in place, so adverts carry it); while
  // its VIPs are up, new ones are added and announced and dropped ones removed. Unchanged ones stay.
  async applyVips(c: InstanceConfig, next: VirtualAddress[], added: VirtualAddress[], removed: VirtualAddress[]): Promise<string[]> {
    c.virtualIpaddress.splice(0, c.virtualIpaddress.length, ...next);
    const tenure = this.tenures.get(c.name);
    if (tenure === undefined) return [];
    const once = { ...c, virtualIpaddress: added };
    const change = tenure.vipChanges.then(async () => [
      ...(await this.eachVip({ ...c, virtualIpaddress: removed }, 'removed', deleteVip)),
      ...(await this.eachVip(once, 'added', addVip)),
    ]);
    tenure.vipChanges = change.then(() => {}, () => {});
    const failed = await change;
    const ev = this.lastEvent.get(c.name);
    // The takeover's schedule (garp_master_repeat, then again after garp_master_delay), as keepalived announces
    // a reloaded VIP; the tenure's refresh loop already covers it, since the list changed in place.
    if (ev !== undefined && added.length > 0) {
      this.announce({ ...ev, instance: once }, tenure.controller.signal, false).catch((e: Error) => this.log.warn(`${c.name}: ${e.message}`));
    }
    return failed;
  }

  // An address came or went on `dev` (the engine's link monitor). A MASTER's VIP there that someone
  // else removed (ip addr del, a network script) is added back and announced: the election still
  // gives this node the VIP, and its clients must not lose it. keepalived re-elects for it instead.
  onAddressesChanged(dev: string): void {
    for (const [name, tenure] of this.tenures) {
      const ev = this.lastEvent.get(name);
      if (!tenure.ready || ev?.to !== 'MASTER' || !ev.instance.virtualIpaddress.some((v) => v.dev === dev)) continue;
      tenure.vipChanges = tenure.vipChanges.then(() => this.restoreVips(ev.instance, dev, tenure)).catch((e: Error) => this.log.error(`${name}: ${e.message}`));
    }
  }

  private async restoreVips(c: InstanceConfig, dev: string, tenure: Tenure): Promise<void> {
    if (tenure.controller.signal.aborted) return;
    let link: LinkInfo;
    try {
      link = await getLink(dev);
    } catch {
      return; // the link is gone: the instance goes FAULT for it
    }
    const present = new Set(link.addresses.map((a) => canonicalIp(a.address) ?? a.address));
    const missing = c.virtualIpaddress.filter((v) => v.dev === dev && !present.has(canonicalIp(v.address) ?? v.address));
    if (missing.length === 0 || tenure.controller.signal.aborted) return;
    for (const v of missing) this.log.warn(`${c.name}: VIP ${vipText(v)} was removed from ${dev} while MASTER, not by tandem; adding it back`);
    const failed = await this.eachVip({ ...c, virtualIpaddress: missing }, 'added', addVip);
    const back = missing.filter((v) => !failed.includes(vipText(v)));
    const ev = this.lastEvent.get(c.name);
    // One burst: neighbours that saw the address go learn it is here again.
    if (ev !== undefined && back.length > 0) await this.announce({ ...ev, instance: { ...c, virtualIpaddress: back, garpMasterDelayMs: 0 } }, tenure.controller.signal, false);
  }

  // One GARP / NA for one VIP; a failure is logged, never thrown (the next announcement may work).
  private async announceVip(ev: TransitionEvent, v: VirtualAddress, signal: AbortSignal): Promise<void> {
    try {
      // An NA carries the link's MAC and goes out its index, both as they are now (the link may have been made again).
      const link = v.family === 6 ? await getLink(v.dev) : ev.link;
      await this.announcer.announce(v, link, signal);
    } catch (err) {
      if (!signal.aborted) this.log.warn(`${ev.instance.name}: announcing ${v.address} on ${v.dev}: ${(err as Error).message}`);
    }
  }

  private addAll(c: InstanceConfig): Promise<string[]> {
    return this.eachVip(c, 'added', addVip);
  }

  private removeAll(c: InstanceConfig): Promise<string[]> {
    return this.eachVip(c, 'removed', deleteVip);
  }

  // One failed address must not keep the others from moving: report it and go on. Returns the ones that failed.
  private async eachVip(c: InstanceConfig, done: 'added' | 'removed', op: (v: VirtualAddress) => Promise<void>): Promise<string[]> {
    const failed: string[] = [];
    for (const v of c.virtualIpaddress) {
      try {
        await op(v);
        this.events.emit(`vip.${done}`, { instance: c.name, address: vipText(v), dev: v.dev });
      } catch (err) {
        const verb = done === 'added' ? 'added on' : 'removed from';
        this.log.error(`${c.name}: VIP ${vipText(v)} not ${verb} ${v.dev}: ${(err as Error).message}`);
        this.events.emit('vip.failed', { instance: c.name, address: vipText(v), dev: v.dev, error: (err as Error).message });
        failed.push(vipText(v));
      }
    }
    return failed;
  }

  // keepalived's schedule: a burst of garp_master_repeat at once, another
  // garp_master_delay after the transition (or when the first one is done,
  // if later), then one every garp_master_refresh, until the tenure ends.
  private async announce(ev: TransitionEvent, signal: AbortSignal, refresh = true): Promise<void> {
    const c = ev.instance;
    const burst = async (count: number): Promise<void> => {
      // All VIPs at once; repeats one after the other (arping itself takes a second each).
      for (let i = 0; i < count && !signal.aborted; i++) {
        await Promise.all(c.virtualIpaddress.map((v) => this.announceVip(ev, v, signal)));
      }
    };
    try {
      const first = burst(c.garpMasterRepeat);
      if (c.garpMasterDelayMs > 0) {
        await Promise.all([first, sleep(c.garpMasterDelayMs, undefined, { signal })]);
        await burst(c.garpMasterRepeat);
      } else {
        await first;
      }
      while (refresh && c.garpMasterRefreshMs > 0 && !signal.aborted) {
        await sleep(c.garpMasterRefreshMs, undefined, { signal });
        await burst(1);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  // At start-up, VIPs of this configuration found on their links are
  // leftovers of a crash: nothing is MASTER yet, so they go (keepalived does too).
  // Not the link's only address of its family: that is the node's own.
  async removeLeftovers(instances: InstanceConfig[]): Promise<void> {
    for (const c of instances) {
      for (const dev of new Set(c.virtualIpaddress.map((v) => v.dev))) {
        let link: LinkInfo;
        try {
          link = await getLink(dev);
        } catch {
          continue;
        }
        const present = new Map(link.addresses.map((a) => [a.address, a.prefix]));
        for (const v of c.virtualIpaddress.filter((x) => x.dev === dev && present.has(x.address))) {
          if (isOnlyGlobalAddress(link, v.address)) {
            this.log.error(`${c.name}: VIP ${v.address} is the only IPv${v.family} address of ${dev}, so it is this node's own address, not one a crash left: not removed; give the VIP an address of its own`);
            continue;
          }
          // Whatever prefix it was left with (an older configuration may have had another).
          const found = { ...v, prefix: present.get(v.address) ?? v.prefix };
          this.log.warn(`${c.name}: removing leftover VIP ${vipText(found)} from ${dev}`);
          await deleteVip(found).catch((err: Error) => this.log.error(`${c.name}: ${err.message}`));
          this.events.emit('vip.removed', { instance: c.name, address: vipText(found), dev, reason: 'leftover at start' });
        }
      }
    }
  }

  async drain(): Promise<void> {
    // Groups first: their leaving steps remove the VIPs (and wait for the announcements).
    for (const g of this.groups.values()) await g.drain();
    for (const t of this.tenures.values()) t.controller.abort();
    this.tenures.clear();
    await Promise.allSettled([...this.queues.values()]);
  }
}
