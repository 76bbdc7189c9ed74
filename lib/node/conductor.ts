// Carries out what the election decided, in keepalived's order. Becoming
// MASTER: add the VIPs, announce them (gratuitous ARP / unsolicited NA,
// repeated after garp_master_delay and every garp_master_refresh), then
// notify. Leaving MASTER: stop announcing, remove the VIPs, then notify.
// Steps for one instance run strictly in order; instances do not wait for
// each other.
import type { InstanceConfig, SyncGroupConfig, VirtualAddress } from '../config/types.js';
import type { VrrpState } from '../vrrp/fsm/types.js';
import type { Announcer } from '../net/announce.js';
import { getLink } from '../net/links.js';
import { addVip, deleteVip, vipText } from '../net/vip.js';
import type { TransitionEvent } from '../vrrp/engine/engine.js';
import type { EventBus } from './events.js';
import type { Logger } from './log.js';
import type { Notifier } from './notify.js';

export class Conductor {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly tenures = new Map<string, AbortController>();

  constructor(
    private readonly log: Logger,
    private readonly events: EventBus,
    private readonly notifier: Notifier,
    private readonly announcer: Announcer,
  ) {}

  onTransition(ev: TransitionEvent): void {
    const c = ev.instance;
    this.events.emit('vrrp.transition', { instance: c.name, from: ev.from, to: ev.to, reason: ev.reason, priority: ev.priority });
    if (ev.to === 'MASTER') {
      const tenure = new AbortController();
      this.tenures.set(c.name, tenure);
      this.enqueue(c.name, async () => {
        await this.addAll(c);
        if (!tenure.signal.aborted) this.startAnnouncing(ev, tenure.signal);
      });
    } else if (ev.from === 'MASTER') {
      this.tenures.get(c.name)?.abort();
      this.tenures.delete(c.name);
      this.enqueue(c.name, () => this.removeAll(c));
    }
    this.enqueue(c.name, async () => this.notifier.notify('INSTANCE', c.name, c, ev.to, ev.priority));
  }

  onGroupTransition(g: SyncGroupConfig, from: VrrpState, to: VrrpState): void {
    this.events.emit('vrrp.group_transition', { group: g.name, from, to });
    this.notifier.notify('GROUP', g.name, g, to, 0);
  }

  private enqueue(name: string, step: () => Promise<void>): void {
    const prev = this.queues.get(name) ?? Promise.resolve();
    const next = prev.then(step).catch((err: Error) => this.log.error(`${name}: ${err.message}`));
    this.queues.set(name, next);
  }

  private addAll(c: InstanceConfig): Promise<void> {
    return this.eachVip(c, 'added', addVip);
  }

  private removeAll(c: InstanceConfig): Promise<void> {
    return this.eachVip(c, 'removed', deleteVip);
  }

  // One failed address must not keep the others from moving: report it and go on.
  private async eachVip(c: InstanceConfig, done: 'added' | 'removed', op: (v: VirtualAddress) => Promise<void>): Promise<void> {
    for (const v of c.virtualIpaddress) {
      try {
        await op(v);
        this.events.emit(`vip.${done}`, { instance: c.name, address: vipText(v), dev: v.dev });
      } catch (err) {
        const verb = done === 'added' ? 'added on' : 'removed from';
        this.log.error(`${c.name}: VIP ${vipText(v)} not ${verb} ${v.dev}: ${(err as Error).message}`);
        this.events.emit('vip.failed', { instance: c.name, address: vipText(v), dev: v.dev, error: (err as Error).message });
      }
    }
  }

  // A burst at once, another after garp_master_delay, then one every
  // garp_master_refresh (keepalived's schedule), until the tenure ends.
  private startAnnouncing(ev: TransitionEvent, signal: AbortSignal): void {
    const c = ev.instance;
    const burst = async (count: number): Promise<void> => {
      // All VIPs at once; repeats one after the other (arping itself takes a second each).
      for (let i = 0; i < count && !signal.aborted; i++) {
        await Promise.all(
          c.virtualIpaddress.map(async (v) => {
            try {
              await this.announcer.announce(v, ev.link);
            } catch (err) {
              if (!signal.aborted) this.log.warn(`${c.name}: announcing ${v.address}: ${(err as Error).message}`);
            }
          }),
        );
      }
    };
    const later = (ms: number, fn: () => void): void => {
      if (signal.aborted) return;
      const t = setTimeout(fn, ms);
      signal.addEventListener('abort', () => clearTimeout(t), { once: true });
    };
    void burst(c.garpMasterRepeat).then(() => {
      if (c.garpMasterDelayMs > 0) later(c.garpMasterDelayMs, () => void burst(c.garpMasterRepeat));
      if (c.garpMasterRefreshMs > 0) {
        const refresh = (): void => later(c.garpMasterRefreshMs, () => void burst(1).then(refresh));
        refresh();
      }
    });
  }

  // At start-up, VIPs of this configuration found on their links are
  // leftovers of a crash: nothing is MASTER yet, so they go (keepalived does too).
  async removeLeftovers(instances: InstanceConfig[]): Promise<void> {
    for (const c of instances) {
      const devs = new Set(c.virtualIpaddress.map((v) => v.dev));
      for (const dev of devs) {
        let present: Set<string>;
        try {
          present = new Set((await getLink(dev)).addresses.map((a) => `${a.address}/${a.prefix}`));
        } catch {
          continue;
        }
        for (const v of c.virtualIpaddress.filter((x) => x.dev === dev && present.has(vipText(x)))) {
          this.log.warn(`${c.name}: removing leftover VIP ${vipText(v)} from ${dev}`);
          await deleteVip(v).catch((err: Error) => this.log.error(`${c.name}: ${err.message}`));
          this.events.emit('vip.removed', { instance: c.name, address: vipText(v), dev, reason: 'leftover at start' });
        }
      }
    }
  }

  async drain(): Promise<void> {
    for (const t of this.tenures.values()) t.abort();
    this.tenures.clear();
    await Promise.allSettled([...this.queues.values()]);
  }
}
