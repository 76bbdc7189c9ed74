import { expect } from 'chai';
import {
  ArrivalRate, BUSY_DRAIN_MS, DRAIN_MS, MAX_BUSY_WINDOW, MAX_PIPE, MAX_WINDOW, MIN_WINDOW, resyncWindow,
} from '../../../lib/replication/volume/resync-window.js';

const MB = 1e6;

describe('replication/volume resync window', () => {
  it('before a measure: a moderate start, busy or not', () => {
    expect(resyncWindow(null, false)).to.equal(MAX_BUSY_WINDOW);
    expect(resyncWindow(null, true)).to.equal(MAX_BUSY_WINDOW);
    expect(resyncWindow(Number.NaN, false)).to.equal(MAX_BUSY_WINDOW);
  });

  // [rate in bytes/s, app busy, window]
  const rows: Array<[number, boolean, number]> = [
    [1200 * MB, false, MAX_WINDOW], // 10 Gbit/s: the cap
    [1200 * MB, true, MAX_BUSY_WINDOW],
    [25 * MB, false, 2.5 * MB], // 200 Mbit/s: what drains in 100 ms
    [25 * MB, true, 0.5 * MB], // what drains in 20 ms
    [10 * MB, true, MIN_WINDOW], // 0.2 MB drains in 20 ms, below the floor
    [60 * MB, true, 1.2 * MB],
    [1 * MB, false, MIN_WINDOW], // a crawling link still gets the floor
    [0, false, MIN_WINDOW], // nothing arrived lately
    [-5, true, MIN_WINDOW],
  ];
  for (const [rate, busy, want] of rows) {
    it(`${rate / MB} MB/s${busy ? ', application writes flowing' : ''}: ${want} bytes`, () => {
      expect(resyncWindow(rate, busy)).to.equal(want);
    });
  }

  it('any rate: between the floor and the cap, never more when busy, and what drains in the target time in between', () => {
    for (let rate = 0; rate <= 2000 * MB; rate += 0.37 * MB) {
      for (const busy of [false, true]) {
        const w = resyncWindow(rate, busy);
        expect(w).to.be.within(MIN_WINDOW, busy ? MAX_BUSY_WINDOW : MAX_WINDOW);
        const drains = Math.floor((rate * (busy ? BUSY_DRAIN_MS : DRAIN_MS)) / 1000);
        if (drains > MIN_WINDOW && drains < (busy ? MAX_BUSY_WINDOW : MAX_WINDOW)) expect(w).to.equal(drains);
      }
      expect(resyncWindow(rate, true)).to.be.at.most(resyncWindow(rate, false));
    }
  });
});

describe('replication/volume resync window over a long round trip', () => {
  // [rate in bytes/s, app busy, round trip ms, window]
  const rows: Array<[number, boolean, number, number]> = [
    [25 * MB, false, 200, 2.5 * MB + 5 * MB], // what drains in 100 ms, plus what is on the way
    [25 * MB, true, 200, 0.5 * MB + 5 * MB], // the queue shrinks while writes flow, the path stays full
    [1200 * MB, false, 100, MAX_WINDOW + MAX_PIPE], // both parts capped
    [1 * MB, false, 50, MIN_WINDOW], // the floor still holds
    [10 * MB, false, 0, 1 * MB], // no round trip known: as before
    [10 * MB, false, -3, 1 * MB],
    [10 * MB, false, Number.NaN, 1 * MB],
  ];
  for (const [rate, busy, rtt, want] of rows) {
    it(`${rate / MB} MB/s${busy ? ', application writes flowing' : ''}, ${rtt} ms round trip: ${want} bytes`, () => {
      expect(resyncWindow(rate, busy, rtt)).to.equal(want);
    });
  }

  it('a window that fills the path grows with the rate it gets; one that misses it shrank before (the rate it got is window / round trip)', () => {
    for (const rtt of [150, 300]) {
      let window = MIN_WINDOW;
      let before = MIN_WINDOW;
      for (let step = 0; step < 20; step++) {
        window = resyncWindow(window / (rtt / 1000), false, rtt);
        before = resyncWindow(before / (rtt / 1000), false);
      }
      expect(window, `${rtt} ms: grows to the caps`).to.equal(MAX_WINDOW + MAX_PIPE);
      expect(before, `${rtt} ms without the round trip: stuck at the floor`).to.equal(MIN_WINDOW);
    }
  });

  it('any rate and round trip: never below the window without it, the queue part never above its cap', () => {
    for (let rate = 0; rate <= 2000 * MB; rate += 7.3 * MB) {
      for (const busy of [false, true]) {
        for (const rtt of [0, 1, 20, 99, 250, 1000]) {
          const w = resyncWindow(rate, busy, rtt);
          expect(w).to.be.at.least(resyncWindow(rate, busy));
          expect(w - Math.min(MAX_PIPE, Math.floor((rate * rtt) / 1000))).to.be.at.most(Math.max(MIN_WINDOW, busy ? MAX_BUSY_WINDOW : MAX_WINDOW) + 1);
        }
      }
    }
  });
});

describe('replication/volume resync arrival rate', () => {
  it('null for the first quarter span, then bytes per second over the last span', () => {
    const r = new ArrivalRate(1000, 1000);
    r.add(100_000, 1100);
    expect(r.rate(1200)).to.equal(null);
    expect(r.rate(1250)).to.equal(100_000 / 0.25); // since the start
    r.add(100_000, 1500);
    expect(r.rate(2000)).to.equal(200_000); // 200 kB in the second since the start
    r.add(50_000, 2400);
    // The span is 1400..2400: the 1100 arrival is before it, the 1500 and 2400 ones in it.
    expect(r.rate(2400)).to.equal(150_000);
  });

  it('nothing arrives: the rate falls to zero once the span has passed', () => {
    const r = new ArrivalRate(0, 1000);
    r.add(1_000_000, 100);
    expect(r.rate(500)).to.equal(2_000_000);
    expect(r.rate(1050)).to.equal(1_000_000); // span 50..1050 holds the arrival at 100
    expect(r.rate(1100)).to.equal(0); // span (100, 1100]: the arrival at 100 is its base, before it
    expect(r.rate(5000)).to.equal(0);
    const s = new ArrivalRate(0, 1000);
    s.add(1_000_000, 100);
    s.add(1_000_000, 500);
    expect(s.rate(1400), 'span 400..1400 holds only the arrival at 500').to.equal(1_000_000);
    expect(s.rate(2000)).to.equal(0);
  });

  it('a steady stream: the rate it carries, whatever the sample count', () => {
    const r = new ArrivalRate(0, 1000);
    for (let t = 1; t <= 10_000; t++) r.add(1000, t); // 1 kB per ms
    expect(r.rate(10_000)).to.equal(1_000_000);
  });
});
