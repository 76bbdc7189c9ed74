// Heartbeat decisions and reconnect backoff: pure, time passed in.
import { expect } from 'chai';
import { Heartbeat } from '../../../lib/replication/link/heartbeat.js';
import { backoffDelay } from '../../../lib/replication/link/timers.js';

describe('replication/link heartbeat', () => {
  const cfg = { intervalMs: 100, timeoutMs: 350 };

  it('pings after an interval of silence, then every interval, and times out at timeoutMs', () => {
    const h = new Heartbeat(cfg, 0);
    expect(h.tick(50)).to.deep.equal({ action: null, deadline: 100 });
    expect(h.tick(100)).to.deep.equal({ action: 'ping', deadline: 200 });
    expect(h.tick(150)).to.deep.equal({ action: null, deadline: 200 });
    expect(h.tick(200)).to.deep.equal({ action: 'ping', deadline: 300 });
    expect(h.tick(300)).to.deep.equal({ action: 'ping', deadline: 350 });
    expect(h.tick(349).action).to.equal(null);
    expect(h.tick(350)).to.deep.equal({ action: 'timeout', deadline: 350 });
  });

  it('counts any received frame as life and sends no ping while frames flow', () => {
    const h = new Heartbeat(cfg, 0);
    for (let t = 60; t < 1000; t += 60) {
      h.received(t);
      expect(h.tick(t).action, `t=${t}`).to.equal(null);
    }
    expect(h.tick(1000 + 350).action).to.equal('timeout');
  });

  it('does not move time backwards on a late receive', () => {
    const h = new Heartbeat(cfg, 0);
    h.received(300);
    h.received(10);
    expect(h.tick(640).action).to.equal('ping');
    expect(h.tick(650).action).to.equal('timeout');
  });

  it('refuses a timeout not above the interval', () => {
    expect(() => new Heartbeat({ intervalMs: 100, timeoutMs: 100 }, 0)).to.throw(RangeError);
    expect(() => new Heartbeat({ intervalMs: 0, timeoutMs: 100 }, 0)).to.throw(RangeError);
  });
});

describe('replication/link backoff', () => {
  const cfg = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
  it('doubles up to the cap without jitter at random() = 0', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, cfg, () => 0))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
  });
  it('shortens by at most the jitter fraction', () => {
    expect(backoffDelay(0, cfg, () => 0.999)).to.equal(50);
    expect(backoffDelay(20, cfg, () => 0.5)).to.equal(750);
  });
});
