// PeerLink over real loopback TCP: authentication, ordered exchange, refusal
// of a wrong secret, garbage, silence, slow handshakes, re-chunked streams.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { FrameDecoder } from '../../../lib/replication/link/decoder.js';
import type { Frame } from '../../../lib/replication/link/frame.js';
import { FLAG_FUA } from '../../../lib/replication/link/frame-types.js';
import { encodeFrame } from '../../../lib/replication/link/frame.js';
import { LINK_PROTOCOL_VERSION, encodeHello } from '../../../lib/replication/link/messages.js';
import { PeerLink } from '../../../lib/replication/link/peer-link.js';
import { TandemError } from '../../../lib/errors.js';
import { rng } from '../../helpers/random.js';
import { LogLines, Proxy, SECRET, linkPair } from './harness.test.js';
import { DelayProxy } from '../delay-proxy.js';
import { tcpPair } from '../../helpers/tcp-pair.js';

// The first n frames the link delivers (or fewer, if it closes first).
function collect(link: PeerLink, n: number): Promise<Frame[]> {
  const out: Frame[] = [];
  return new Promise((res) => {
    link.deliver((f) => {
      if (out.length < n) out.push(f);
      if (out.length === n) res(out);
    });
    void link.closed.then(() => res(out));
  });
}


// A plain TCP client `raw` connected to a listening `server`; `s` is the accepted socket.
async function rawConnection(): Promise<{ server: net.Server; raw: net.Socket; s: net.Socket }> {
  const { server, client, accepted } = await tcpPair();
  return { server, raw: client, s: accepted };
}
describe('replication/link PeerLink (loopback)', function () {
  this.timeout(20000);

  it('authenticates with the same secret and exchanges frames in order both ways', async () => {
    const p = await linkPair({}, {});
    const [peerOfA, peerOfB] = await Promise.all([p.a.ready, p.b.ready]);
    expect(peerOfA).to.deep.equal({ node: 'node-b', volume: 'db', version: LINK_PROTOCOL_VERSION });
    expect(peerOfB).to.deep.equal({ node: 'node-a', volume: 'db', version: LINK_PROTOCOL_VERSION });
    expect(p.a.state).to.equal('established');
    const N = 1000;
    const gotA = collect(p.a, N);
    const gotB = collect(p.b, N);
    for (let i = 0; i < N; i++) {
      const payload = Buffer.alloc(8);
      payload.writeBigUInt64BE(BigInt(i));
      // Handshake used seq 0-2 and the round-trip PING at establishment 3, so data frames start at 4.
      expect(p.b.send({ type: 'WRITE', flags: i % 2 ? FLAG_FUA : 0, payload })).to.equal(BigInt(i + 4));
      p.a.send({ type: 'WRITE_ACK', payload });
    }
    const [a, b] = await Promise.all([gotA, gotB]);
    expect(a.map((f) => f.payload.readBigUInt64BE(0))).to.deep.equal([...Array(N).keys()].map(BigInt));
    expect(a.map((f) => f.seq)).to.deep.equal([...Array(N).keys()].map((i) => BigInt(i + 4)));
    expect(a.every((f, i) => f.type === 'WRITE' && f.flags === (i % 2 ? FLAG_FUA : 0))).to.equal(true);
    expect(b.map((f) => f.type)).to.deep.equal(Array(N).fill('WRITE_ACK'));
    const s = p.b.stats;
    expect(s.connected).to.equal(true);
    expect(s.connectedSince).to.be.a('number');
    expect(s.framesSent).to.be.at.least(3 + N);
    expect(s.framesReceived).to.be.at.least(3 + N);
    expect(s.bytesSent).to.be.at.least(N * 28);
    expect(s.lastSentAt).to.be.a('number');
    expect(s.lastReceivedAt).to.be.a('number');
    await p.close();
  });

  it('tells the peer it closes: the other side ends with peer-closed and counts a disconnect', async () => {
    const p = await linkPair({}, {});
    await Promise.all([p.a.ready, p.b.ready]);
    p.b.close('maintenance');
    expect(await p.b.closed).to.deep.equal({ reason: 'local-close', detail: 'maintenance' });
    expect(await p.a.closed).to.deep.equal({ reason: 'peer-closed', detail: 'maintenance' });
    expect(p.a.stats.connected).to.equal(false);
    expect(p.a.stats.disconnects).to.equal(1);
    expect(p.a.stats.lastError?.reason).to.equal('peer-closed');
    expect(() => p.a.send({ type: 'WRITE' })).to.throw(TandemError);
    await p.close();
  });

  it('a reconnect tells the peer: it closes as planned (peer-reconnect, logged as info, no last error), still counted as a disconnect', async () => {
    const logA = new LogLines();
    const p = await linkPair({ log: logA.log }, {});
    await Promise.all([p.a.ready, p.b.ready]);
    p.b.reconnect('generation moved: connecting again to resync');
    expect(await p.b.closed).to.deep.equal({ reason: 'local-close', detail: 'generation moved: connecting again to resync' });
    expect(await p.a.closed).to.deep.equal({ reason: 'peer-reconnect', detail: 'generation moved: connecting again to resync' });
    expect(p.a.stats.disconnects).to.equal(1);
    expect(p.a.stats.lastError).to.equal(null);
    expect(logA.lines.filter((l) => l.includes('dropping link'))).to.deep.equal([
      'info dropping link to node-b (127.0.0.1:' + String((p.b as unknown as { socket: net.Socket }).socket.localPort) + '): peer-reconnect: generation moved: connecting again to resync',
    ]);
    await p.close();
  });

  it('an IPv6 peer\'s address is written bracketed, as config and status write it', async () => {
    const { server, client, accepted } = await tcpPair('::1');
    const link = new PeerLink(client, { node: 'node-b', volume: 'db', secret: SECRET });
    try {
      expect(link.remote).to.equal(`[::1]:${(server.address() as net.AddressInfo).port}`);
    } finally {
      link.close();
      await link.closed;
      accepted.destroy();
      client.destroy();
      server.close();
    }
  });

  it('refuses a wrong secret on both sides with auth-failed and closes the socket', async () => {
    const logA = new LogLines();
    const logB = new LogLines();
    const p = await linkPair({ log: logA.log }, { secret: Buffer.from('not the secret'), log: logB.log });
    const socketClosed = once((p.b as unknown as { socket: net.Socket }).socket, 'close');
    const [ra, rb] = await Promise.allSettled([p.a.ready, p.b.ready]);
    for (const r of [ra, rb]) {
      expect(r.status).to.equal('rejected');
      if (r.status === 'rejected') {
        expect(r.reason).to.be.instanceOf(TandemError);
        expect((r.reason as TandemError).code).to.equal('auth-failed');
      }
    }
    expect((await p.a.closed).reason).to.equal('auth-failed');
    expect((await p.b.closed).reason).to.equal('auth-failed');
    await socketClosed;
    expect(logA.has('auth-failed')).to.equal(true);
    expect(logB.has('auth-failed')).to.equal(true);
    expect(p.a.stats.disconnects).to.equal(0); // never connected
    expect(p.a.stats.lastError?.reason).to.equal('auth-failed');
    await p.close();
  });

  it('drops a peer that sends garbage, logs why, and closes its socket', async () => {
    const log = new LogLines();
    const { server, raw, s } = await rawConnection();
    const link = new PeerLink(s, { node: 'node-a', volume: 'db', secret: SECRET, log: log.log });
    const got: Buffer[] = [];
    raw.on('data', (d: Buffer) => got.push(d));
    const rawEnded = once(raw, 'end');
    raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await link.closed).to.deep.include({ reason: 'protocol-error' });
    expect((await link.closed).detail).to.match(/^bad-magic/);
    expect(log.has('dropping link')).to.equal(true);
    expect(log.has('bad-magic')).to.equal(true);
    await rawEnded;
    // What the garbage sender saw: our HELLO, then an ERROR naming the reason.
    const out = new FrameDecoder().push(Buffer.concat(got));
    expect(out.frames.map((f) => f.type)).to.deep.equal(['HELLO', 'ERROR']);
    raw.destroy();
    await new Promise<void>((res) => server.close(() => res()));
  });

  it('drops a peer that never finishes the handshake with handshake-timeout', async () => {
    const { server, raw, s } = await rawConnection();
    const t0 = Date.now();
    const link = new PeerLink(s, { node: 'node-a', volume: 'db', secret: SECRET, handshakeTimeoutMs: 150 });
    expect((await link.closed).reason).to.equal('handshake-timeout');
    expect(Date.now() - t0).to.be.within(140, 2000);
    raw.destroy();
    await new Promise<void>((res) => server.close(() => res()));
  });

  it('drops a peer that goes silent after the heartbeat timeout, on both sides', async () => {
    let proxy: Proxy | undefined;
    const hb = { intervalMs: 50, timeoutMs: 200 };
    const p = await linkPair({ heartbeat: hb }, { heartbeat: hb }, async (port) => {
      proxy = new Proxy(port);
      return proxy.start();
    });
    await Promise.all([p.a.ready, p.b.ready]);
    // Alive while idle: pings keep it up well past the timeout.
    await new Promise((res) => setTimeout(res, 500));
    expect(p.a.state).to.equal('established');
    expect(p.a.stats.framesReceived).to.be.at.least(5); // PINGs / PONGs
    const t0 = Date.now();
    proxy?.suspend();
    const [ca, cb] = await Promise.all([p.a.closed, p.b.closed]);
    expect(ca.reason).to.equal('ping-timeout');
    expect(cb.reason).to.equal('ping-timeout');
    expect(Date.now() - t0).to.be.within(150, 1500);
    expect(p.a.stats.disconnects).to.equal(1);
    await p.close();
    await proxy?.stop();
  });

  it('sets the socket\'s TCP congestion control on each end as asked; an unknown one is logged and the link still works', async () => {
    const host = readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
    const asked = host === 'reno' ? 'cubic' : 'reno'; // one that differs from the host's, so the change shows
    const log = new LogLines();
    const p = await linkPair({ congestionControl: asked }, { congestionControl: 'no_such_cc', log: log.log });
    try {
      await Promise.all([p.a.ready, p.b.ready]);
      expect(p.a.congestionControl).to.equal(asked);
      expect(p.b.congestionControl, 'the unknown name leaves the host default').to.equal(host);
      expect(log.lines.join('\n')).to.match(/congestion_control no_such_cc not set \(the kernel has no congestion control algorithm "no_such_cc" \(loaded: [a-z].*\)\); the link uses the host's default/);
      const got = collect(p.a, 1);
      p.b.send({ type: 'WRITE', payload: Buffer.from('still carried') });
      expect((await got)[0]?.payload.toString()).to.equal('still carried');
    } finally {
      await p.close();
    }
    expect(p.a.congestionControl, 'closed').to.equal(null);
  });

  it('measures the round trip at authentication and with each PING, as the shortest seen', async () => {
    let proxy: DelayProxy | undefined;
    const hb = { intervalMs: 50, timeoutMs: 2000 };
    const p = await linkPair({ heartbeat: hb }, { heartbeat: hb }, async (port) => {
      proxy = new DelayProxy(port, 40); // 80 ms there and back
      return proxy.start();
    });
    try {
      expect(p.a.roundTripMs, 'before authentication').to.equal(null);
      await Promise.all([p.a.ready, p.b.ready]);
      // 76: the timers and clocks round to whole milliseconds.
      for (const side of [p.a, p.b]) expect(side.roundTripMs).to.be.within(76, 1000);
      const framesBefore = p.a.stats.framesReceived;
      await new Promise((res) => setTimeout(res, 400)); // idle: PINGs and PONGs
      expect(p.a.stats.framesReceived).to.be.greaterThan(framesBefore);
      for (const side of [p.a, p.b]) expect(side.roundTripMs).to.be.within(76, 1000);
    } finally {
      await p.close();
      await proxy?.stop();
    }
  });

  it('a PING reports the bytes its sender has received: the other side sees its data being taken in (peerProgressAt)', async () => {
    const hb = { intervalMs: 50, timeoutMs: 2000 };
    const p = await linkPair({ heartbeat: hb }, { heartbeat: hb });
    try {
      await Promise.all([p.a.ready, p.b.ready]);
      p.b.deliver(() => {}); // b takes in whatever comes
      await new Promise((res) => setTimeout(res, 200));
      const before = p.a.peerProgressAt;
      expect(before, 'b has received the handshake and PINGs by now').to.not.equal(null);
      await new Promise((res) => setTimeout(res, 200)); // idle: b's count stands still
      expect(p.a.peerProgressAt, 'no new bytes, no progress').to.equal(before);
      p.a.send({ type: 'WRITE', payload: Buffer.alloc(64 * 1024) });
      await new Promise((res) => setTimeout(res, 200)); // b is mute meanwhile: its next PING carries the new count
      expect(p.a.peerProgressAt).to.be.greaterThan(before as number);
    } finally {
      await p.close();
    }
  });

  it('a round trip inflated by a stall during authentication gives way to the PING sent as the link is established', async () => {
    const hb = { intervalMs: 10_000, timeoutMs: 30_000 }; // no idle PING in this test's time
    const p = await linkPair({ heartbeat: hb }, { heartbeat: hb });
    try {
      const until = Date.now() + 300;
      while (Date.now() < until) { /* the event loop stalls while the HELLOs are answered */ }
      await Promise.all([p.a.ready, p.b.ready]);
      await new Promise((res) => setTimeout(res, 300));
      for (const side of [p.a, p.b]) expect(side.roundTripMs, 'loopback, after the stall').to.be.below(100);
    } finally {
      await p.close();
    }
  });

  it('delivers frames intact when a proxy splits the stream at random boundaries', async () => {
    let proxy: Proxy | undefined;
    const p = await linkPair({}, {}, async (port) => {
      proxy = new Proxy(port, { random: rng(21), max: 1500 });
      return proxy.start();
    });
    await Promise.all([p.a.ready, p.b.ready]);
    const r = rng(22);
    const sent: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const b = Buffer.alloc(Math.floor(r() * 70000));
      for (let j = 0; j < b.length; j += 97) b[j] = Math.floor(r() * 256);
      sent.push(b);
    }
    const got = collect(p.a, sent.length);
    for (const payload of sent) {
      p.b.send({ type: 'RESYNC_DATA', payload });
      if (p.b.needsDrain) await p.b.drain();
    }
    const frames = await got;
    expect(frames.length).to.equal(sent.length);
    frames.forEach((f, i) => expect(f.payload.equals(sent[i] as Buffer), `frame ${i}`).to.equal(true));
    expect(proxy?.pieces).to.be.greaterThan(1000);
    await p.close();
    await proxy?.stop();
  });

  it('refuses frames the link owns and frames before authentication', async () => {
    const p = await linkPair({}, {});
    expect(() => p.b.send({ type: 'WRITE' })).to.throw(TandemError, /handshaking/);
    await Promise.all([p.a.ready, p.b.ready]);
    for (const type of ['HELLO', 'RESPONSE', 'AUTH_OK', 'PING', 'PONG', 'ERROR'] as const) {
      expect(() => p.b.send({ type }), type).to.throw(RangeError);
    }
    expect(() => p.b.send({ type: 'BARRIER', flags: FLAG_FUA })).to.throw(RangeError);
    await p.close();
  });

  it('deliver() hands over the frames received before it first, then each as it is decoded', async () => {
    const p = await linkPair({}, {});
    await Promise.all([p.a.ready, p.b.ready]);
    p.b.send({ type: 'STATE', payload: Buffer.from('x') });
    p.b.send({ type: 'BARRIER' });
    await new Promise((res) => setTimeout(res, 100)); // both arrive and wait in the link
    const seen: string[] = [];
    p.a.deliver((f) => seen.push(f.type));
    expect(seen).to.deep.equal(['STATE', 'BARRIER']); // at once, in order
    p.b.send({ type: 'WRITE', payload: Buffer.from('y') });
    await new Promise((res) => setTimeout(res, 100));
    expect(seen).to.deep.equal(['STATE', 'BARRIER', 'WRITE']);
    await p.close();
  });

  it('pauseUntil() holds frames back until its promise settles; the link stays up', async () => {
    const p = await linkPair({}, {});
    await Promise.all([p.a.ready, p.b.ready]);
    const seen: string[] = [];
    p.a.deliver((f) => seen.push(f.type));
    let caughtUp!: () => void;
    p.a.pauseUntil(new Promise<void>((res) => (caughtUp = res)));
    p.a.pauseUntil(new Promise<void>(() => {})); // held already: adds nothing, never resolving does not matter
    p.b.send({ type: 'BARRIER' });
    await new Promise((res) => setTimeout(res, 150));
    expect(seen).to.deep.equal([]);
    caughtUp();
    await new Promise((res) => setTimeout(res, 150));
    expect(seen).to.deep.equal(['BARRIER']);
    expect(p.a.state).to.equal('established');
    await p.close();
  });

  const hello = encodeFrame({ type: 'HELLO', seq: 0n, payload: encodeHello({ version: LINK_PROTOCOL_VERSION, node: 'node-b', volume: 'db', challenge: Buffer.alloc(64, 7) }) });
  const RAW: { name: string; bytes: Buffer; reason: string; detail: RegExp; maxPayload?: number }[] = [
    { name: 'a newer frame format in the handshake', bytes: Buffer.concat([hello.subarray(0, 4), Buffer.of(2), hello.subarray(5)]), reason: 'version-mismatch', detail: /^unsupported-version/ },
    { name: 'a first frame with sequence 5', bytes: encodeFrame({ type: 'HELLO', seq: 5n, payload: hello.subarray(20) }), reason: 'protocol-error', detail: /sequence 5, expected 0/ },
    { name: 'an oversized frame', bytes: encodeFrame({ type: 'WRITE', seq: 0n, payload: Buffer.alloc(2000) }), reason: 'protocol-error', detail: /^oversized/, maxPayload: 1024 },
    { name: 'a WRITE before authentication', bytes: encodeFrame({ type: 'WRITE', seq: 0n, payload: Buffer.alloc(10) }), reason: 'protocol-error', detail: /WRITE received in WaitHello/ },
    { name: 'half a frame, then close', bytes: hello.subarray(0, 30), reason: 'protocol-error', detail: /^truncated/ },
  ];
  for (const c of RAW) {
    it(`drops a raw peer that sends ${c.name} (${c.reason})`, async () => {
      const { server, raw, s } = await rawConnection();
      raw.on('error', () => undefined);
      const link = new PeerLink(s, { node: 'node-a', volume: 'db', secret: SECRET, maxPayload: c.maxPayload });
      raw.end(c.bytes);
      const closed = await link.closed;
      expect(closed.reason).to.equal(c.reason);
      expect(closed.detail).to.match(c.detail);
      raw.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    });
  }
});
