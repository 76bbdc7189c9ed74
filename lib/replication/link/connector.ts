// Client side of the peer link: connects to a peer's replication address,
// runs a PeerLink over the socket and reconnects with backoff when the
// connection fails or ends, until stop(). One LinkStats spans all attempts.
import net from 'node:net';
import tls from 'node:tls';
import { PeerLink, type PeerLinkOptions } from './peer-link.js';
import { LinkStats } from './stats.js';
import { type BackoffConfig, DEFAULT_BACKOFF, type Timers, backoffDelay, realTimers } from './timers.js';
import { type LinkTls, clientTlsOptions } from './transport.js';

export interface PeerConnectorOptions {
  host: string;
  port: number;
  tls?: LinkTls;
  link: Omit<PeerLinkOptions, 'stats' | 'timers'>;
  backoff?: BackoffConfig;
  connectTimeoutMs?: number; // default 5 s
  timers?: Timers;
  random?: () => number; // backoff jitter
  onLink?: (link: PeerLink) => void; // each new connection, before it is authenticated
}

export class PeerConnector {
  readonly stats = new LinkStats();
  private current: PeerLink | null = null;
  private socket: net.Socket | null = null;
  private retryTimer: unknown = null;
  private connectTimer: unknown = null;
  private failures = 0;
  private running = false;
  private readonly timers: Timers;

  constructor(private readonly opts: PeerConnectorOptions) {
    this.timers = opts.timers ?? realTimers;
  }

  /** The current link, established or still authenticating. */
  get link(): PeerLink | null {
    return this.current;
  }

  /** Consecutive attempts that did not end in an authenticated link. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempt();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.clear();
    this.socket?.destroy();
    this.socket = null;
    const link = this.current;
    if (link) {
      link.close('connector stopped');
      await link.closed;
    }
  }

  private attempt(): void {
    if (!this.running) return;
    const { host, port } = this.opts;
    const socket = this.opts.tls ? tls.connect(clientTlsOptions(this.opts.tls, host, port)) : net.connect({ host, port });
    this.socket = socket;
    // Stays attached after a failure, so a late error on a dead socket is swallowed, not thrown.
    const onError = (err: Error): void => {
      if (this.socket === socket) this.retry(`connect to ${host}:${port}: ${err.message}`);
    };
    socket.on('error', onError);
    this.connectTimer = this.timers.setTimeout(() => {
      this.connectTimer = null;
      this.retry(`connect to ${host}:${port}: no answer within ${this.opts.connectTimeoutMs ?? 5000} ms`);
    }, this.opts.connectTimeoutMs ?? 5000);
    socket.once(this.opts.tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', onError);
      this.clear();
      if (!this.running) return void socket.destroy();
      const link = new PeerLink(socket, { ...this.opts.link, stats: this.stats, timers: this.timers });
      const since = this.timers.now();
      this.current = link;
      this.opts.onLink?.(link);
      void link.closed.then(() => {
        if (this.current === link) this.current = null;
        // It authenticated and lasted: start the backoff over. One the peer drops at once (StandAlone, a
        // failing disk) is a failure, or we would redial ten times a second forever.
        const backoff = this.opts.backoff ?? DEFAULT_BACKOFF;
        if (link.peer !== null && this.timers.now() - since >= backoff.maxMs) this.failures = 0;
        this.retry(null);
      });
    });
  }

  private retry(why: string | null): void {
    this.clear();
    if (why !== null) {
      this.socket?.destroy();
      this.stats.lastError = { reason: 'connect-failed', detail: why, at: this.timers.now() };
      this.opts.link.log?.('info', why);
    }
    this.socket = null;
    if (!this.running) return;
    const delay = backoffDelay(this.failures++, this.opts.backoff ?? DEFAULT_BACKOFF, this.opts.random);
    this.retryTimer = this.timers.setTimeout(() => { this.retryTimer = null; this.attempt(); }, delay);
  }

  private clear(): void {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    if (this.connectTimer !== null) this.timers.clearTimeout(this.connectTimer);
    this.retryTimer = null;
    this.connectTimer = null;
  }
}
