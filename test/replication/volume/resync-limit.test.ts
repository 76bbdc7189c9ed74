import { expect } from 'chai';
import { LIMIT_BURST_MS, ResyncLimit } from '../../../lib/replication/volume/resync-limit.js';

// Drives the limiter as the SyncTarget does: ask whenever it may, requests of `size`, for `ms`.
function run(rate: number, size: number, ms: number): { bytes: number; steps: number } {
  const l = new ResyncLimit(rate, 0);
  let now = 0;
  let bytes = 0;
  let steps = 0;
  while (now <= ms) {
    const w = l.wait(now);
    if (w > 0) {
      now += w;
      continue;
    }
    if (now > ms) break;
    l.take(size, now);
    bytes += size;
    steps++;
  }
  return { bytes, steps };
}

describe('replicated volume: resync rate limit (c-max-rate)', () => {
  it('lets a request go at once with a fresh budget, and makes the next wait off the debt', () => {
    const l = new ResyncLimit(10 << 20, 1000); // 10 MiB/s: a burst of 1 MiB
    expect(l.burst).to.equal(Math.floor((10 << 20) / 10));
    expect(l.wait(1000)).to.equal(0);
    l.take(l.burst, 1000);
    expect(l.wait(1000)).to.equal(0); // the budget is used up exactly, not overdrawn
    l.take(1 << 20, 1000); // 1 MiB more: 100 ms of debt at 10 MiB/s
    expect(l.wait(1000)).to.equal(100);
    expect(l.wait(1050)).to.equal(50);
    expect(l.wait(1100)).to.equal(0);
  });

  it('holds the rate over a long span whatever the request size (within one burst and one request)', () => {
    for (const rate of [64 << 10, 1 << 20, 7_777_777, 100 << 20, 1 << 30]) {
      for (const size of [4096, 65536, 1 << 20, 8 << 20]) {
        const ms = 60_000;
        const { bytes } = run(rate, size, ms);
        const allowed = (rate * ms) / 1000 + rate * (LIMIT_BURST_MS / 1000) + size;
        expect(bytes, `${rate} B/s, requests of ${size}`).to.be.at.most(allowed);
        // Not much below either: the limiter waits only as long as the debt lasts.
        expect(bytes, `${rate} B/s, requests of ${size}`).to.be.at.least((rate * ms) / 1000 - size);
      }
    }
  });

  it('saves up no more than one burst while idle', () => {
    const l = new ResyncLimit(1 << 20, 0);
    expect(l.wait(3_600_000)).to.equal(0);
    l.take(l.burst, 3_600_000);
    l.take(1, 3_600_000);
    expect(l.wait(3_600_000)).to.be.greaterThan(0);
  });

  it('adds nothing when the clock steps back', () => {
    const l = new ResyncLimit(1 << 20, 10_000);
    l.take(2 * l.burst, 10_000);
    const w = l.wait(10_000);
    expect(w).to.be.greaterThan(0);
    expect(l.wait(5_000)).to.equal(w); // earlier time: the debt is unchanged
    expect(l.wait(10_000 + w)).to.equal(0);
  });

  it('refuses a rate that is not a positive number', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new ResyncLimit(bad, 0)).to.throw(RangeError, /positive/);
  });
});
