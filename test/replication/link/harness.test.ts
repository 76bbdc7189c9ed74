// Helpers for the loopback tests: a TCP proxy that can re-chunk the stream at
// random boundaries and be suspended (a peer that goes silent without closing,
// after etcd3's test Proxy), linked PeerLink pairs, and a log collector.
import { expect } from 'chai';
import net from 'node:net';
import { once } from 'node:events';
import { PeerLink, type PeerLinkOptions } from '../../../lib/replication/link/peer-link.js';
import { rng } from '../../helpers/random.js';

export const SECRET = Buffer.from('loopback test secret');

export class Proxy {
  private server: net.Server | null = null;
  private readonly pairs: [net.Socket, net.Socket][] = [];
  private suspended = false;
  pieces = 0; // writes made towards either end

  constructor(private readonly targetPort: number, private readonly chunk?: { random: () => number; max: number }) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      this.pairs.push([client, upstream]);
      this.pipe(client, upstream);
      this.pipe(upstream, client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      // While suspended a close is not passed on either: the other side must find the silence itself.
      client.on('close', () => { if (!this.suspended) upstream.destroy(); });
      upstream.on('close', () => { if (!this.suspended) client.destroy(); });
    });
    this.server = server;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as net.AddressInfo).port;
  }

  /** Stop forwarding in both directions; the sockets stay open. */
  suspend(): void {
    this.suspended = true;
  }

  async stop(): Promise<void> {
    for (const [a, b] of this.pairs) { a.destroy(); b.destroy(); }
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((res) => s.close(() => res()));
  }

  private pipe(from: net.Socket, to: net.Socket): void {
    let chain = Promise.resolve();
    from.on('data', (data: Buffer) => {
      if (this.suspended) return; // swallowed: the peer looks silent, not closed
      chain = chain.then(async () => {
        let i = 0;
        while (i < data.length) {
          const n = this.chunk ? 1 + Math.floor(this.chunk.random() * this.chunk.max) : data.length;
          if (to.destroyed || this.suspended) return;
          to.write(data.subarray(i, i + n));
          this.pieces++;
          i += n;
          // Let the event loop run so the pieces leave as separate segments.
          if (this.chunk) await new Promise((res) => setImmediate(res));
        }
      });
    });
  }
}

export class LogLines {
  readonly lines: string[] = [];
  readonly log = (level: 'info' | 'warn', message: string): void => { this.lines.push(`${level} ${message}`); };
  has(part: string): boolean {
    return this.lines.some((l) => l.includes(part));
  }
}

export interface LinkPair {
  a: PeerLink; // accepted side
  b: PeerLink; // connecting side
  close(): Promise<void>;
}

// Two PeerLinks over loopback: b connects (through `via` if given) to a server that wraps accepted sockets as a.
export async function linkPair(
  aOpts: Partial<PeerLinkOptions>, bOpts: Partial<PeerLinkOptions>, via?: (port: number) => Promise<number>,
): Promise<LinkPair> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let port = (server.address() as net.AddressInfo).port;
  if (via) port = await via(port);
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const [serverSocket] = await accepted;
  const a = new PeerLink(serverSocket, { node: 'node-a', volume: 'db', secret: SECRET, ...aOpts });
  const b = new PeerLink(socket, { node: 'node-b', volume: 'db', secret: SECRET, ...bOpts });
  return {
    a, b,
    async close() {
      a.close();
      b.close();
      await Promise.all([a.closed, b.closed]);
      serverSocket.destroy();
      socket.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

describe('replication/link test harness', () => {
  it('the proxy re-chunks a stream without changing it', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const proxy = new Proxy((echo.address() as net.AddressInfo).port, { random: rng(3), max: 7 });
    const port = await proxy.start();
    const c = net.connect({ host: '127.0.0.1', port });
    const sent = Buffer.alloc(5000);
    for (let i = 0; i < sent.length; i++) sent[i] = i % 251;
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    c.write(sent);
    while (Buffer.concat(got).length < sent.length) await new Promise((res) => setTimeout(res, 10));
    expect(Buffer.concat(got).equals(sent)).to.equal(true);
    expect(proxy.pieces).to.be.greaterThan(1000); // both directions, pieces of 1-7 bytes
    c.destroy();
    await proxy.stop();
    await new Promise<void>((res) => echo.close(() => res()));
  });
});
