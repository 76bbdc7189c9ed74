// Liveness of an established link, pure (DRBD 9 guide "ping-int" / "ping-timeout":
// a peer that stays silent is dropped so a dead peer never stalls the primary).
// Any received byte counts as life, so a large frame crossing a slow link
// does not look like silence. A PING goes out when the peer has been quiet
// for an interval, or when we have sent nothing for one: DRBD pings on a
// meta socket of its own, and ours share the stream with the data, so a
// side receiving a long frame must still be heard by the side sending it.

export interface HeartbeatConfig {
  intervalMs: number; // quiet time before we send a PING
  timeoutMs: number; // silence after which the link is dropped (> intervalMs)
}

export type HeartbeatVerdict = { action: 'ping' | 'timeout' | null; deadline: number };

export class Heartbeat {
  private lastReceived: number;
  private lastPing: number;
  private lastSent: number;

  constructor(private readonly cfg: HeartbeatConfig, now: number) {
    if (!(cfg.intervalMs > 0 && cfg.timeoutMs > cfg.intervalMs)) throw new RangeError('need 0 < intervalMs < timeoutMs');
    this.lastReceived = now;
    this.lastPing = now;
    this.lastSent = now;
  }

  /** Bytes from the peer arrived (a whole frame or a part of one). */
  received(now: number): void {
    this.lastReceived = Math.max(this.lastReceived, now);
  }

  /** We wrote a frame to the peer. */
  sent(now: number): void {
    this.lastSent = Math.max(this.lastSent, now);
  }

  /** What to do at `now`, and when to ask again. */
  tick(now: number): HeartbeatVerdict {
    const dead = this.lastReceived + this.cfg.timeoutMs;
    if (now >= dead) return { action: 'timeout', deadline: dead };
    const quiet = Math.max(this.lastReceived, this.lastPing) + this.cfg.intervalMs;
    const mute = Math.max(this.lastSent, this.lastPing) + this.cfg.intervalMs;
    let action: 'ping' | null = null;
    if (now >= Math.min(quiet, mute)) {
      action = 'ping';
      this.lastPing = now;
      this.lastSent = now;
    }
    const next = Math.min(Math.max(this.lastReceived, this.lastPing), this.lastSent) + this.cfg.intervalMs;
    return { action, deadline: Math.min(dead, next) };
  }
}
