// The links of one volume, whatever its type: a listener on the volume's
// replication address and, towards each peer whose name sorts after ours, a
// connector that dials and redials (one side dials, so a pair never races two
// links). Authenticated links are handed to the volume by peer name.
import { formatHostPort } from '../../config/names.js';
import type { HostPort, ReplicationPeerConfig } from '../../config/types.js';
import { PeerConnector } from '../link/connector.js';
import { PeerListener } from '../link/listener.js';
import type { PeerLink, PeerLinkOptions } from '../link/peer-link.js';
import type { LinkTls } from '../link/transport.js';
import type { VolumeLog } from './host.js';

// What the links need of a volume's configuration, whatever its kind.
export interface LinkedVolumeConfig {
  name: string;
  listen: HostPort;
  peers: readonly ReplicationPeerConfig[];
  pingIntervalMs: number;
  pingTimeoutMs: number;
}

// A peer session as the links drive it (both kinds extend session-base.ts).
export interface LinkedSession {
  readonly name: string;
  adopt(link: PeerLink): boolean;
  enable(): void;
  disable(detail: string): void;
  noteError(reason: string, detail: string): void;
  stop(detail?: string): Promise<void>;
}

export interface VolumeLinksOptions {
  node: string;
  secret: Buffer;
  tls?: LinkTls;
  congestionControl: string | null; // replication.congestion_control; null: the host's default
  log: VolumeLog;
  cfg: LinkedVolumeConfig;
  sessions: ReadonlyMap<string, LinkedSession>; // by peer name
}

// What to check when authentication fails: nearly always the secret.
const SAME_SECRET = 'check that both nodes\' replication.secret_file hold the same secret';

export class VolumeLinks {
  private listener: PeerListener | null = null;
  private readonly connectors = new Map<string, PeerConnector>();
  private readonly congestionWarned = new Set<string>(); // reasons already logged

  constructor(private readonly o: VolumeLinksOptions) {}

  private linkOptions(): PeerLinkOptions {
    const { o } = this;
    const cc = o.congestionControl;
    return {
      node: o.node, volume: o.cfg.name, secret: o.secret,
      heartbeat: { intervalMs: o.cfg.pingIntervalMs, timeoutMs: o.cfg.pingTimeoutMs },
      log: (level, m) => o.log[level](`${o.cfg.name}: ${m}`),
      // Once per reason, not at every redial: the reason (no such algorithm) lasts as long as the configuration.
      ...(cc === null ? {} : {
        congestionControl: cc,
        congestionRefused: (why: string) => {
          if (this.congestionWarned.has(why)) return;
          this.congestionWarned.add(why);
          o.log.warn(`${o.cfg.name}: replication.congestion_control ${cc} not set on its links (${why}): they use the host's default`);
        },
      }),
    };
  }

  async listen(): Promise<void> {
    const { o } = this;
    this.listener = new PeerListener({
      host: o.cfg.listen.host, port: o.cfg.listen.port, ...(o.tls ? { tls: o.tls } : {}),
      link: this.linkOptions(),
      onLink: (link) => void link.ready.then((id) => {
        const s = o.sessions.get(id.node);
        if (s !== undefined) return s.adopt(link);
        // A node name the configuration does not know (a typo on either side): say so where the user looks.
        const names = o.cfg.peers.map((p) => p.name).join(', ');
        const detail = `a node calling itself ${JSON.stringify(id.node)} connected from ${link.remote}, and ${o.cfg.name}'s peers are ${names}: check its node.name and our peers[].name`;
        this.fromAddress(link.remote)?.noteError('unknown-peer', detail);
        link.fail(`${id.node} is not a configured peer of ${o.cfg.name} (peers: ${names})`);
      }, (e: Error & { code?: string }) => {
        // A failed authentication from a peer's address shows on that peer's status here too, not only where it dialed.
        // The error's message starts with its code, which noteError shows already.
        const detail = e.message.startsWith(`${e.code}: `) ? e.message.slice(`${e.code}: `.length) : e.message;
        if (e.code === 'auth-failed') this.fromAddress(link.remote)?.noteError('auth-failed', `${detail} (a link from ${link.remote}; ${SAME_SECRET})`);
      }),
    });
    await this.listener.start();
  }

  // `tandem replica connect`: every session leaves StandAlone; we dial those we dial.
  connect(): void {
    for (const s of this.o.sessions.values()) {
      s.enable();
      this.dial(s.name);
    }
  }

  // `tandem replica disconnect` (or the daemon stopping: `reason` says which): no more dialing, every session
  // StandAlone once its link has closed.
  async disconnect(reason = 'disconnected by tandem replica disconnect'): Promise<void> {
    // Sessions first, so each link closes with that reason (a redial meanwhile finds them StandAlone).
    const stopped = [...this.o.sessions.values()].map((s) => s.stop(reason));
    await this.stopDialing();
    await Promise.all(stopped);
  }

  // Dial `peer` unless it is the side that dials us.
  private dial(peer: string): void {
    if (this.o.node < peer) this.connector(peer).start();
  }

  // The daemon stops: the links close saying so (the peer shows it as the reason), not as an operator's disconnect.
  async disconnectForStop(): Promise<void> {
    await this.disconnect(`tandem on ${this.o.node} is stopping`);
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

  // The session of the configured peer at that address (host:port of a link's far end), if any.
  private fromAddress(remote: string): { noteError(reason: string, detail: string): void } | undefined {
    const host = remote.slice(0, remote.lastIndexOf(':')).replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
    const p = this.o.cfg.peers.find((x) => x.address.host === host);
    return p === undefined ? undefined : this.o.sessions.get(p.name);
  }

  get address(): string {
    return formatHostPort(this.o.cfg.listen);
  }

  private connector(peer: string): PeerConnector {
    let c = this.connectors.get(peer);
    if (c !== undefined) return c;
    const { o } = this;
    const p = o.cfg.peers.find((x) => x.name === peer);
    const s = o.sessions.get(peer);
    if (p === undefined || s === undefined) throw new Error(`no peer ${peer}`);
    c = new PeerConnector({
      host: p.address.host, port: p.address.port, ...(o.tls ? { tls: o.tls } : {}),
      link: { ...this.linkOptions(), expectedPeer: peer },
      onLink: (link: PeerLink) => {
        void link.ready.then(() => s.adopt(link), () => undefined);
        void link.closed.then((info) => {
          if (link.peer !== null) return; // it got through the link handshake: the session saw its end
          // Refused before that (another node answers at that address, another version): retried, and shown in status.
          if (info.reason !== 'auth-failed') return s.noteError(info.reason, `${info.detail} (dialing ${formatHostPort(p.address)})`);
          // replication.md "Peer authentication": a wrong secret fails hard, no retry loop.
          void c?.stop();
          o.log.error(`${o.cfg.name}: authentication with ${peer} failed (${info.detail}): StandAlone until \`tandem replica connect ${o.cfg.name}\`; ${SAME_SECRET}`);
          s.noteError(info.reason, `${info.detail}; ${SAME_SECRET}`);
          s.disable('authentication failed');
        });
      },
    });
    this.connectors.set(peer, c);
    return c;
  }
}
