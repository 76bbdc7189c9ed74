// Why a block Primary takes no application writes: a connect found a peer
// whose data is to replace ours (handshake-decision.ts intoPrimary). A write
// would split the brain, and an after-sb policy could then discard the peer's
// newer writes. Kept across link drops and re-decides, until we demote, the
// operator disconnects, or a connect with that peer settles how the two
// copies relate. Each refusal is logged once. Pure but for its log.
import type { VolumeLog } from './host.js';

export class WriteRefusal {
  private readonly newer = new Map<string, string>(); // peer -> why its data is to replace ours
  private readonly logged = new Set<string>();

  constructor(private readonly volume: string, private readonly log: VolumeLog) {}

  // A connect with `peer` decided: `why` its data is newer, or null when the decision settled it.
  decided(peer: string, why: string | null): void {
    const before = this.newer.size;
    if (why !== null) this.newer.set(peer, why);
    else {
      this.newer.delete(peer);
      this.logged.delete(peer);
    }
    if (before > 0 && this.newer.size === 0) this.log.info(`${this.volume}: writes taken again (${peer}: the connect settled how the two copies relate)`);
  }

  // Demoted, or the operator disconnected: nothing to refuse any more.
  clear(reason: string): void {
    if (this.newer.size > 0) this.log.info(`${this.volume}: writes taken again (${reason})`);
    this.newer.clear();
    this.logged.clear();
  }

  // The error a write gets now (EIO: NBD has nothing closer), or null.
  error(): Error | null {
    const [peer, why] = this.newer.entries().next().value ?? [];
    if (peer === undefined || why === undefined) return null;
    const message = `${this.volume}: writes refused: ${why}; make this node Secondary (it then resyncs from ${peer}), or \`tandem replica disconnect ${this.volume}\` to write on this node's own data (a split brain)`;
    if (!this.logged.has(peer)) this.log.warn(message);
    this.logged.add(peer);
    return Object.assign(new Error(message), { code: 'EIO' });
  }
}
