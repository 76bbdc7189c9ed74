// PeerListener + PeerConnector on loopback: reconnect with backoff through
// injected timers, authentication through the pair, reconnect after a drop.
import { expect } from 'chai';
import net from 'node:net';
import { once } from 'node:events';
import { PeerConnector } from '../../../lib/replication/link/connector.js';
import { PeerListener } from '../../../lib/replication/link/listener.js';
import { LINK_PROTOCOL_VERSION } from '../../../lib/replication/link/messages.js';
import type { PeerLink } from '../../../lib/replication/link/peer-link.js';
import { type Timers, realTimers } from '../../../lib/replication/link/timers.js';
import { LogLines, SECRET } from './harness.test.js';

async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

// Real timers that record every delay asked for.
function recordingTimers(): Timers & { delays: number[] } {
  const delays: number[] = [];
  return { ...realTimers, delays, setTimeout: (fn, ms) => { delays.push(ms); return realTimers.setTimeout(fn, ms); } };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((res) => setTimeout(res, 5));
  }
}

describe('replication/link PeerConnector / PeerListener (loopback)', function () {
  this.timeout(20000);

  it('retries with exponential backoff until the peer listens, then authenticates', async () => {
    const port = await freePort();
    const timers = recordingTimers();
    const log = new LogLines();
    const links: PeerLink[] = [];
    const connector = new PeerConnector({
      host: '127.0.0.1', port, timers, random: () => 0,
      backoff: { initialMs: 20, maxMs: 80, factor: 2, jitter: 0.5 },
      link: { node: 'node-b', volume: 'db', secret: SECRET, log: log.log },
      onLink: (l) => links.push(l),
    });
    connector.start();
    await until(() => connector.consecutiveFailures >= 4);
    // Backoff delays among the recorded timers (connect timeouts are 5000).
    expect(timers.delays.filter((d) => d < 5000).slice(0, 4)).to.deep.equal([20, 40, 80, 80]);
    expect(connector.stats.lastError?.reason).to.equal('connect-failed');
    expect(log.has('ECONNREFUSED')).to.equal(true);

    const accepted: PeerLink[] = [];
    const listener = new PeerListener({
      host: '127.0.0.1', port, link: { node: 'node-a', volume: 'db', secret: SECRET }, onLink: (l) => accepted.push(l),
    });
    await listener.start();
    await until(() => connector.link?.state === 'established');
    expect(await connector.link?.ready).to.deep.equal({ node: 'node-a', volume: 'db', version: LINK_PROTOCOL_VERSION });
    expect(connector.stats.connected).to.equal(true);
    await until(() => accepted.length === 1 && accepted[0]?.state === 'established');
    expect(listener.links).to.have.length(1);

    // The listener side drops the link; the connector comes back by itself.
    (accepted[0] as PeerLink).close('test drop');
    await until(() => accepted.length === 2 && accepted[1]?.state === 'established');
    expect(connector.stats.disconnects).to.equal(1);
    expect(connector.stats.connected).to.equal(true);
    expect(links.length).to.be.at.least(2);

    await connector.stop();
    await listener.stop();
    expect(connector.link).to.equal(null);
  });

  it('keeps retrying after auth-failed but never establishes, and stops cleanly', async () => {
    const log = new LogLines();
    const listener = new PeerListener({
      host: '127.0.0.1', port: 0, link: { node: 'node-a', volume: 'db', secret: SECRET, log: log.log }, onLink: () => undefined,
    });
    const { port } = await listener.start();
    const results: string[] = [];
    const connector = new PeerConnector({
      host: '127.0.0.1', port, random: () => 0, backoff: { initialMs: 10, maxMs: 20, factor: 2, jitter: 0 },
      link: { node: 'node-b', volume: 'db', secret: Buffer.from('wrong') },
      onLink: (l) => { void l.closed.then((c) => results.push(c.reason)); },
    });
    connector.start();
    await until(() => results.length >= 3);
    expect([...new Set(results)]).to.deep.equal(['auth-failed']);
    expect(connector.stats.connected).to.equal(false);
    expect(connector.stats.disconnects).to.equal(0);
    expect(log.has('auth-failed')).to.equal(true);
    await connector.stop();
    await listener.stop();
  });

  it('a link the peer drops right after authenticating does not start the backoff over (no redial storm)', async () => {
    const timers = recordingTimers();
    const listener = new PeerListener({
      host: '127.0.0.1', port: 0, link: { node: 'node-a', volume: 'db', secret: SECRET },
      // A StandAlone peer: it authenticates, then refuses the link.
      onLink: (l) => { void l.ready.then(() => l.close('volume is StandAlone'), () => undefined); },
    });
    const { port } = await listener.start();
    let established = 0;
    const connector = new PeerConnector({
      host: '127.0.0.1', port, timers, random: () => 0, backoff: { initialMs: 10, maxMs: 5000, factor: 2, jitter: 0 },
      link: { node: 'node-b', volume: 'db', secret: SECRET },
      onLink: (l) => { void l.ready.then(() => established++, () => undefined); },
    });
    connector.start();
    // The fifth link is dialed only after the fourth ended, so four ends were counted by then.
    await until(() => established >= 5);
    // Each short-lived link counted as a failure: the next retry waits twice as long, as after a refused connect.
    expect(connector.consecutiveFailures).to.be.at.least(4);
    await connector.stop();
    await listener.stop();
    // The backoff's delays among the recorded ones (the links' own timers use the same clock): 10 ms times a power of two.
    const backoff = timers.delays.filter((d) => d >= 10 && d < 5000 && Number.isInteger(Math.log2(d / 10)));
    expect(backoff.slice(0, 4)).to.deep.equal([10, 20, 40, 80]);
  });
});
