// DRBD's c-max-rate (pure, time as an argument): a resync moves at most
// `rate` bytes per second, counted when the SyncTarget asks for the blocks
// (it drives the resync). A token bucket holding a tenth of a second's
// budget; a request may take it into debt, and the next one waits the debt
// off, so over any long span the rate holds whatever the request sizes.
export const LIMIT_BURST_MS = 100;

export class ResyncLimit {
  private tokens: number;
  private at: number;

  constructor(readonly rate: number, now: number) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`resync rate ${rate} must be a positive number of bytes per second`);
    this.tokens = this.burst;
    this.at = now;
  }

  // The budget of one burst, and so the largest request worth asking at once.
  get burst(): number {
    return Math.max(1, Math.floor((this.rate * LIMIT_BURST_MS) / 1000));
  }

  // Milliseconds until the next request may go: 0 when it may go now.
  wait(now: number): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  // A request of `bytes` went out.
  take(bytes: number, now: number): void {
    this.refill(now);
    this.tokens -= bytes;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.at); // a clock that steps back adds nothing
    this.at = Math.max(this.at, now);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }
}
