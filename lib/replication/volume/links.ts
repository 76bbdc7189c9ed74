// The links of one volume, whatever its type: a listener on the volume's
// replication address and, towards each peer whose name sorts after ours, a
// connector that dials and redials (one side dials, so a pair never races two
// links). Authenticated links are handed to the volume by peer name.
import { formatHostPort } from '../../config/names.js';
import type { HostPort, ReplicationPeerConfig } from '../../config/types.js';
import { PeerConnector } from '../link/connector.js';
import { PeerListener } from '../link/listener.js';
import type { PeerLink } from '../link/peer-link.js';
import type { LinkTls } from '../link/transport.js';
import type { VolumeLog } from './host.js';

export interface VolumeLinksOptions {
  node: string;
  volume: string;
  secret: Buffer;
  tls?: LinkTls;
  listen: HostPort;
  peers: readonly ReplicationPeerConfig[];
  pingIntervalMs: number;
  pingTimeoutMs: number;
  log: VolumeLog;
  // An authenticated link from a configured peer.
  onLink: (peer: string, link: PeerLink) => void;
  // A link we dialed failed authentication: replication.md "a mismatch is fatal, no retry".
  onAuthFailed: (peer: string, reason: string, detail: string) => void;
}

export class VolumeLinks {
  private listener: PeerListener | null = null;
  private readonly connectors = new Map<string, PeerConnector>();

  constructor(private readonly o: VolumeLinksOptions) {}

  private linkOptions(): { node: string; volume: string; secret: Buffer; heartbeat: { intervalMs: number; timeoutMs: number }; log: (level: 'info' | 'warn', m: string) => void } {
    const o = this.o;
    return {
      node: o.node, volume: o.volume, secret: o.secret,
      heartbeat: { intervalMs: o.pingIntervalMs, timeoutMs: o.pingTimeoutMs },
      log: (level, m) => o.log[level](`${o.volume}: ${m}`),
    };
  }

  async listen(): Promise<void> {
    const o = this.o;
    this.listener = new PeerListener({
      host: o.listen.host, port: o.listen.port, ...(o.tls ? { tls: o.tls } : {}),
      link: this.linkOptions(),
      onLink: (link) => void link.ready.then((id) => {
        if (!o.peers.some((p) => p.name === id.node)) return link.fail(`${id.node} is not a configured peer of ${o.volume}`);
        o.onLink(id.node, link);
      }, () => undefined),
    });
    await this.listener.start();
  }

  // Dial `peer` unless it is the side that dials us.
  dial(peer: string): void {
    if (this.o.node < peer) this.connector(peer).start();
  }

  async stopDialing(peer?: string): Promise<void> {
    const list = peer === undefined ? [...this.connectors.values()] : [this.connectors.get(peer)].filter((c) => c !== undefined);
    await Promise.all(list.map((c) => c.stop()));
  }

  async stop(): Promise<void> {
    await this.stopDialing();
    await this.listener?.stop();
    this.listener = null;
  }

  get address(): string {
    return formatHostPort(this.o.listen);
  }

  private connector(peer: string): PeerConnector {
    let c = this.connectors.get(peer);
    if (c !== undefined) return c;
    const o = this.o;
    const p = o.peers.find((x) => x.name === peer);
    if (p === undefined) throw new Error(`no peer ${peer}`);
    c = new PeerConnector({
      host: p.address.host, port: p.address.port, ...(o.tls ? { tls: o.tls } : {}),
      link: { ...this.linkOptions(), expectedPeer: peer },
      onLink: (link: PeerLink) => {
        void link.ready.then(() => o.onLink(peer, link), () => undefined);
        void link.closed.then((info) => {
          if (info.reason === 'auth-failed' && link.peer === null) {
            void c?.stop();
            o.onAuthFailed(peer, info.reason, info.detail);
          }
        });
      },
    });
    this.connectors.set(peer, c);
    return c;
  }
}
