// The peer link over mutual TLS, with a CA and node certificates made by
// openssl(1) at test time. Without openssl the suite skips, except under
// CI=true where it fails.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerConnector } from '../../../lib/replication/link/connector.js';
import { PeerListener } from '../../../lib/replication/link/listener.js';
import type { Frame } from '../../../lib/replication/link/frame.js';
import type { PeerLink } from '../../../lib/replication/link/peer-link.js';
import type { LinkTls } from '../../../lib/replication/link/transport.js';
import { makePki } from '../../fixtures/pki.js';
import { LogLines, SECRET } from './harness.test.js';
import { requireTool } from '../../helpers/env.js';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((res) => setTimeout(res, 5));
  }
}

describe('replication/link over TLS (loopback)', function () {
  this.timeout(20000);
  let dir = '';
  let pki: Record<string, LinkTls> = {};

  before(function () {
    requireTool(this, 'openssl', 'no test certificates can be made without it; run scripts/setup.sh');
    dir = mkdtempSync(join(tmpdir(), 'tandem-link-tls-'));
    pki = { ...makePki(dir, 'ca', ['node-a', 'node-b']), ...makePki(dir, 'other-ca', ['mallory']) };
  });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  async function listen(log: LogLines, accepted: PeerLink[]): Promise<{ listener: PeerListener; port: number }> {
    const listener = new PeerListener({
      host: '127.0.0.1', port: 0, tls: pki['node-a'],
      link: { node: 'node-a', volume: 'db', secret: SECRET, log: log.log, handshakeTimeoutMs: 2000 },
      onLink: (l) => accepted.push(l),
    });
    const { port } = await listener.start();
    return { listener, port };
  }

  it('authenticates and exchanges frames with certificates from the shared CA', async () => {
    const accepted: PeerLink[] = [];
    const { listener, port } = await listen(new LogLines(), accepted);
    const connector = new PeerConnector({
      host: '127.0.0.1', port, tls: pki['node-b'], link: { node: 'node-b', volume: 'db', secret: SECRET },
    });
    connector.start();
    await until(() => connector.link?.state === 'established');
    await until(() => accepted[0]?.state === 'established');
    const server = accepted[0] as PeerLink;
    const got = new Promise<Frame>((res) => server.deliver(res));
    connector.link?.send({ type: 'WRITE', payload: Buffer.from('over tls') });
    expect((await got)?.payload.toString()).to.equal('over tls');
    await connector.stop();
    await listener.stop();
  });

  it('sets the TCP congestion control under TLS too, on both ends', async () => {
    const accepted: PeerLink[] = [];
    const listener = new PeerListener({
      host: '127.0.0.1', port: 0, tls: pki['node-a'],
      link: { node: 'node-a', volume: 'db', secret: SECRET, congestionControl: 'reno' },
      onLink: (l) => accepted.push(l),
    });
    const { port } = await listener.start();
    const connector = new PeerConnector({
      host: '127.0.0.1', port, tls: pki['node-b'], link: { node: 'node-b', volume: 'db', secret: SECRET, congestionControl: 'reno' },
    });
    connector.start();
    try {
      await until(() => connector.link?.state === 'established' && accepted[0]?.state === 'established');
      expect(connector.link?.congestionControl).to.equal('reno');
      expect(accepted[0]?.congestionControl).to.equal('reno');
    } finally {
      await connector.stop();
      await listener.stop();
    }
  });

  it('refuses a client whose certificate another CA signed, before any link frame', async () => {
    const log = new LogLines();
    const accepted: PeerLink[] = [];
    const { listener, port } = await listen(log, accepted);
    const cLog = new LogLines();
    const connector = new PeerConnector({
      host: '127.0.0.1', port, tls: { ...pki['mallory'] as LinkTls, ca: (pki['node-b'] as LinkTls).ca },
      backoff: { initialMs: 20, maxMs: 20, factor: 1, jitter: 0 },
      link: { node: 'mallory', volume: 'db', secret: SECRET, log: cLog.log },
    });
    connector.start();
    await until(() => connector.consecutiveFailures >= 2);
    expect(accepted).to.deep.equal([]);
    expect(connector.stats.connected).to.equal(false);
    await connector.stop();
    await listener.stop();
  });

  it('refuses a plain TCP client on a TLS listener', async () => {
    const accepted: PeerLink[] = [];
    const { listener, port } = await listen(new LogLines(), accepted);
    const results: string[] = [];
    const connector = new PeerConnector({
      host: '127.0.0.1', port, backoff: { initialMs: 20, maxMs: 20, factor: 1, jitter: 0 },
      link: { node: 'node-b', volume: 'db', secret: SECRET, handshakeTimeoutMs: 2000 },
      onLink: (l) => { void l.closed.then((c) => results.push(c.reason)); },
    });
    connector.start();
    await until(() => results.length >= 1);
    expect(results[0]).to.be.oneOf(['protocol-error', 'peer-closed', 'socket-error']);
    expect(accepted).to.deep.equal([]);
    await connector.stop();
    await listener.stop();
  });
});
