// ResyncMeter: done / percent / rate / ETA as status shows them, with time passed in.
import { expect } from 'chai';
import { ResyncMeter } from '../../../lib/replication/volume/resync-meter.js';

describe('replicated volume: resync progress (ResyncMeter)', () => {
  it('starts at 0 % with no rate and no ETA', () => {
    const m = new ResyncMeter('SyncTarget', true, 1000, 10_000);
    expect(m.status(10_000)).to.deep.equal({
      direction: 'SyncTarget', full: true, total_bytes: 1000, done_bytes: 0, percent: 0, rate_bytes_per_s: 0, eta_s: null,
    });
  });

  it('reports the rate over the recent samples and the time left at that rate', () => {
    const m = new ResyncMeter('SyncSource', false, 10_000, 0);
    for (let t = 1000; t <= 4000; t += 1000) m.add(1000, t); // 1000 bytes/s
    const s = m.status(4000);
    expect(s.done_bytes).to.equal(4000);
    expect(s.percent).to.equal(40);
    expect(s.rate_bytes_per_s).to.equal(1000);
    expect(s.eta_s).to.equal(6);
  });

  it('forgets old samples, so a resync that slowed down shows its new rate', () => {
    const m = new ResyncMeter('SyncTarget', false, 1_000_000, 0);
    for (let t = 1000; t <= 5000; t += 1000) m.add(100_000, t); // fast: 100 kB/s
    for (let t = 6000; t <= 12_000; t += 1000) m.add(1000, t); // slow: 1 kB/s
    const s = m.status(12_000);
    expect(s.rate_bytes_per_s).to.equal(1000); // only the last five samples (8..12 s) count
    expect(s.done_bytes).to.equal(507_000);
  });

  it('never counts past the total, and an empty resync is 100 %', () => {
    const m = new ResyncMeter('SyncSource', false, 500, 0);
    m.add(400, 100);
    m.add(400, 200);
    expect(m.status(300).done_bytes).to.equal(500);
    expect(m.status(300).percent).to.equal(100);
    expect(new ResyncMeter('SyncSource', false, 0, 0).status(0).percent).to.equal(100);
  });

  it('shows one decimal of percent, rounded down (99.99 % is not done)', () => {
    const m = new ResyncMeter('SyncTarget', false, 10_000, 0);
    m.add(9999, 10);
    expect(m.status(20).percent).to.equal(99.9);
  });
});
