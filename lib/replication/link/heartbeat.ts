// Liveness of an established link, pure (DRBD 9 guide "ping-int" / "ping-timeout":
// a peer that stays silent is dropped so a dead peer never stalls the primary).
// Any received frame counts as life; PING goes out only when the peer has
// been quiet for an interval, so a busy link carries no extra frames.

export interface HeartbeatConfig {
  intervalMs: number; // quiet time before we send a PING
  timeoutMs: number; // silence after which the link is dropped (> intervalMs)
}

export type HeartbeatVerdict = { action: 'ping' | 'timeout' | null; deadline: number };

export class Heartbeat {
  private lastReceived: number;
  private lastPing: number;

  constructor(private readonly cfg: HeartbeatConfig, now: number) {
    if (!(cfg.intervalMs > 0 && cfg.timeoutMs > cfg.intervalMs)) throw new RangeError('need 0 < intervalMs < timeoutMs');
    this.lastReceived = now;
    this.lastPing = now;
  }

  received(now: number): void {
    this.lastReceived = Math.max(this.lastReceived, now);
  }

  /** What to do at `now`, and when to ask again. */
  tick(now: number): HeartbeatVerdict {
    const dead = this.lastReceived + this.cfg.timeoutMs;
    if (now >= dead) return { action: 'timeout', deadline: dead };
    let action: 'ping' | null = null;
    if (now >= Math.max(this.lastReceived, this.lastPing) + this.cfg.intervalMs) {
      action = 'ping';
      this.lastPing = now;
    }
    return { action, deadline: Math.min(dead, Math.max(this.lastReceived, this.lastPing) + this.cfg.intervalMs) };
  }
}
