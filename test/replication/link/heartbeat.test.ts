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

  it('counts anything received as life and sends no ping while frames flow both ways', () => {
    const h = new Heartbeat(cfg, 0);
    for (let t = 60; t < 1000; t += 60) {
      h.received(t);
      h.sent(t);
      expect(h.tick(t).action, `t=${t}`).to.equal(null);
    }
    expect(h.tick(1000 + 350).action).to.equal('timeout');
  });

  // A 4 MiB frame over a slow link: its bytes keep coming for longer than timeoutMs, and the receiving side has
  // nothing to send; its PINGs are what tells the sending side (whose own PINGs wait behind the frame) it lives.
  it('a side that only receives stays up and pings every interval, so the sending side hears it', () => {
    const h = new Heartbeat(cfg, 0);
    const pings: number[] = [];
    for (let t = 10; t <= 2000; t += 10) {
      h.received(t); // part of a frame
      if (h.tick(t).action === 'ping') pings.push(t);
    }
    expect(pings).to.deep.equal(Array.from({ length: 20 }, (_, i) => (i + 1) * 100));
  });

  it('a side that only sends is dropped after timeoutMs of silence, pinging meanwhile', () => {
    const h = new Heartbeat(cfg, 0);
    const seen: Array<string | null> = [];
    for (let t = 50; t <= 350; t += 50) {
      h.sent(t);
      seen.push(h.tick(t).action);
    }
    expect(seen).to.deep.equal([null, 'ping', null, 'ping', null, 'ping', 'timeout']);
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
