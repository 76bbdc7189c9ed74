// The VRRP sockets the instances share: one per interface and address
// family, bound to the link's index. A socket whose link was deleted and made
// again under the same name (a VLAN, bond or veth re-created) neither hears
// nor reaches anyone: it is replaced. One that failed stays failed, and says
// why, until the daemon restarts (or its link is made again): deaf and mute,
// its instances must be FAULT, not MASTER beside the real one.
import type { InstanceConfig } from '../../config/types.js';
import { TandemError } from '../../errors.js';
import type { LinkInfo } from '../../net/links.js';
import type { Received } from '../packet/check.js';
import { VrrpSocket, type VrrpSocketEvents, type VrrpSocketOptions } from '../transport/vrrp-socket.js';

interface Held {
  socket: VrrpSocket;
  ifindex: number;
  failed: string | null; // why it failed for good, or null
}

export interface SocketSetEvents {
  onPacket(dev: string, rx: Received): void;
  onDrop(reason: string): void; // counted per reason
  onFailed(dev: string, family: 4 | 6, reason: string): void; // the instances on it are FAULT now
}

export type OpenSocket = (options: VrrpSocketOptions, events: VrrpSocketEvents) => VrrpSocket;

const openVrrpSocket: OpenSocket = (options, events) => new VrrpSocket(options, events);

const keyOf = (dev: string, family: 4 | 6): string => `${dev}/${family}`;

export class SocketSet {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly instances: readonly InstanceConfig[],
    private readonly events: SocketSetEvents,
    private readonly open: OpenSocket = openVrrpSocket,
  ) {}

  // The socket for `c` on `link`, opened at the first call.
  socketFor(c: InstanceConfig, link: LinkInfo): VrrpSocket {
    const key = keyOf(c.interface, c.family);
    const had = this.held.get(key);
    if (had !== undefined) return had.socket;
    const here = this.instances.filter((i) => i.interface === c.interface && i.family === c.family);
    let socket: VrrpSocket | null = null;
    socket = this.openSocket(
      { device: c.interface, ifindex: link.index, family: c.family, multicast: here.some((i) => i.unicastPeer.length === 0) },
      {
        onPacket: (rx) => this.events.onPacket(c.interface, rx),
        onDrop: (reason) => this.events.onDrop(reason),
        onError: (err, fatal) => {
          if (!fatal) return this.events.onDrop('receive-error');
          const held = this.held.get(key);
          if (held === undefined || held.socket !== socket) return; // replaced meanwhile: its successor is fine
          held.failed = `VRRP socket on ${c.interface} failed: ${err.message}`;
          this.events.onFailed(c.interface, c.family, held.failed);
        },
      },
    );
    this.held.set(key, { socket, ifindex: link.index, failed: null });
    return socket;
  }

  // Why the socket `c` uses failed for good, or null.
  failure(c: InstanceConfig): string | null {
    return this.held.get(keyOf(c.interface, c.family))?.failed ?? null;
  }

  // `dev` is `link` now: the families whose socket was bound to another index, closed and forgotten, so the
  // next socketFor() opens them on the new link.
  dropStale(dev: string, link: LinkInfo): Array<4 | 6> {
    const stale: Array<4 | 6> = [];
    for (const family of [4, 6] as const) {
      const key = keyOf(dev, family);
      const had = this.held.get(key);
      if (had === undefined || had.ifindex === link.index) continue;
      this.held.delete(key);
      had.socket.close();
      stale.push(family);
    }
    return stale;
  }

  async close(): Promise<void> {
    for (const h of this.held.values()) await h.socket.drain();
    for (const h of this.held.values()) h.socket.close();
  }

  private openSocket(options: VrrpSocketOptions, events: VrrpSocketEvents): VrrpSocket {
    try {
      return this.open(options, events);
    } catch (cause) {
      const why = (cause as Error).message;
      const hint = /not permitted|EPERM|EACCES/i.test(why) ? ' (raw sockets need root or CAP_NET_RAW)' : '';
      throw new TandemError('VRRP_SOCKET', `cannot open the VRRP socket on ${options.device} (IPv${options.family}): ${why}${hint}`, { cause });
    }
  }
}
