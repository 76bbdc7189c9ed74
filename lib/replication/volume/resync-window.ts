// How much resync data a SyncTarget keeps requested (pure): what is on its
// way (the rate times the round trip: it fills the path, nobody waits behind
// it) plus a queue that the link drains in a short time, because the data
// travels in the same ordered stream as the Primary's application writes and
// a write queued behind it waits for all of it. DRBD's dynamic resync
// controller (c-plan-ahead, c-fill-target) bounds the same queue. Without
// the round trip, a path slower than the drain time shrank the window at
// every step, down to the floor per round trip.
export const MAX_WINDOW = 8 << 20; // fills a 10 Gbit/s link at 6 ms RTT
export const MAX_BUSY_WINDOW = 2 << 20; // while application writes flow
export const MIN_WINDOW = 256 << 10; // the resync never stops: DRBD's c-min-rate idea
export const MAX_PIPE = 32 << 20; // in flight on the path: fills 1 Gbit/s at 270 ms, bounds the memory it holds
// What an application write may wait behind resync data: idle, then busy.
export const DRAIN_MS = 100;
export const BUSY_DRAIN_MS = 20;

// `rate`: resync bytes per second arriving lately; null before there is a
// measure (then a moderate start, which a fast link outgrows at once).
// `rttMs`: the link's round trip (peer-link.ts: small frames, so no
// transfer time in it, which would add a queue on a slow link), 0 when unknown.
export function resyncWindow(rate: number | null, appBusy: boolean, rttMs = 0): number {
  if (rate === null || !Number.isFinite(rate)) return MAX_BUSY_WINDOW;
  const r = Math.max(0, rate);
  const queue = Math.min(appBusy ? MAX_BUSY_WINDOW : MAX_WINDOW, (r * (appBusy ? BUSY_DRAIN_MS : DRAIN_MS)) / 1000);
  const pipe = Math.min(MAX_PIPE, (r * Math.max(0, Number.isFinite(rttMs) ? rttMs : 0)) / 1000);
  return Math.max(MIN_WINDOW, Math.floor(queue + pipe));
}

// Bytes per second over the last `spanMs`, from arrivals as they come; null
// until a quarter of the span has passed since the start.
export class ArrivalRate {
  // Trimmed at each arrival down to the newest one at or before the span's start (the base).
  private readonly samples: Array<{ at: number; total: number }> = [];
  private total = 0;

  constructor(private readonly startedAt: number, private readonly spanMs = 1000) {}

  add(bytes: number, now: number): void {
    this.total += bytes;
    this.samples.push({ at: now, total: this.total });
    while (this.samples.length > 1 && (this.samples[1] as { at: number }).at <= now - this.spanMs) this.samples.shift();
  }

  rate(now: number): number | null {
    if (now - this.startedAt < this.spanMs / 4) return null;
    const from = now - this.spanMs;
    // The newest sample at or before `from` (arrivals may have stopped since the last trim).
    let i = 0;
    while (i + 1 < this.samples.length && (this.samples[i + 1] as { at: number }).at <= from) i++;
    const first = this.samples[i];
    // No sample at or before the span's start: nothing was trimmed, so nothing arrived before the first sample.
    const base = first !== undefined && first.at <= from ? { at: from, total: first.total } : { at: Math.max(this.startedAt, from), total: 0 };
    const secs = (now - base.at) / 1000;
    return secs > 0 ? (this.total - base.total) / secs : null;
  }
}
