// A loopback TCP proxy that holds every chunk `delayMs` before passing it on,
// each way: a long path (a WAN between sites) for in-process tests, where
// this machine's kernel has no netem. Order is kept: equal delays fire in order.
import { once } from 'node:events';
import net from 'node:net';

export class DelayProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly targetPort: number, private readonly delayMs: number) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
      for (const s of [client, upstream]) {
        s.setNoDelay(true);
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      this.pipe(client, upstream);
      this.pipe(upstream, client);
    });
    this.server = server;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((res) => s.close(() => res()));
  }

  // Data and the end arrive `delayMs` late; an error ends both sides at once.
  private pipe(from: net.Socket, to: net.Socket): void {
    const later = (f: () => void): void => {
      const t = setTimeout(() => { this.timers.delete(t); f(); }, this.delayMs);
      this.timers.add(t);
    };
    from.on('data', (data: Buffer) => later(() => { if (!to.destroyed) to.write(data); }));
    from.on('end', () => later(() => to.end()));
    from.on('error', () => to.destroy());
    from.on('close', () => later(() => to.destroy()));
  }
}
