// Server side of the peer link: listens on this node's replication address
// and runs a PeerLink over every accepted connection (TLS when configured).
import net from 'node:net';
import tls from 'node:tls';
import { PeerLink, type PeerLinkOptions } from './peer-link.js';
import { type LinkTls, serverTlsOptions } from './transport.js';

export interface PeerListenerOptions {
  host: string;
  port: number; // 0 picks a free port (tests)
  tls?: LinkTls;
  link: PeerLinkOptions; // stats, if given, is shared by every accepted link
  onLink: (link: PeerLink) => void; // each accepted connection, before it is authenticated
}

export class PeerListener {
  private server: net.Server | null = null;
  private readonly open = new Set<PeerLink>();

  constructor(private readonly opts: PeerListenerOptions) {}

  /** Links accepted and not yet closed. */
  get links(): PeerLink[] {
    return [...this.open];
  }

  async start(): Promise<{ host: string; port: number }> {
    const log = this.opts.link.log;
    const accept = (socket: net.Socket): void => {
      const link = new PeerLink(socket, this.opts.link);
      this.open.add(link);
      void link.closed.then(() => this.open.delete(link));
      this.opts.onLink(link);
    };
    const server = this.opts.tls
      ? tls.createServer(serverTlsOptions(this.opts.tls, this.opts.link.handshakeTimeoutMs ?? 10_000), accept)
      : net.createServer(accept);
    if (this.opts.tls) {
      server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
        log?.('warn', `TLS handshake from ${s.remoteAddress ?? '?'} failed: ${err.message}`);
      });
    }
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.opts.port, this.opts.host, () => { server.off('error', rej); res(); });
    });
    server.on('error', (err) => log?.('warn', `replication listener: ${err.message}`));
    const a = server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    const links = [...this.open];
    for (const l of links) l.close('listener stopped');
    await Promise.all(links.map((l) => l.closed));
    if (server) await new Promise<void>((res) => server.close(() => res()));
  }
}
