// The handshake state machine, one test per row of its transition table, plus
// the attacks: reflected challenge, reflected response, replayed transcript,
// swapped roles, truncated responses. No sockets, no timers, no randomness.
import { expect } from 'chai';
import { computeResponse } from '../../../lib/replication/link/auth.js';
import type { FrameType } from '../../../lib/replication/link/frame-types.js';
import {
  Handshake, type HandshakeAction, type HandshakeConfig, type HandshakeStep,
} from '../../../lib/replication/link/handshake.js';
import { LINK_PROTOCOL_MIN, LINK_PROTOCOL_VERSION, decodeHello, decodeLinkError, encodeHello, encodeLinkError } from '../../../lib/replication/link/messages.js';

const SECRET = Buffer.from('correct horse battery staple');
const fixed = (byte: number) => (n: number): Buffer => Buffer.alloc(n, byte);
const T0 = 1_000_000;

function cfg(over: Partial<HandshakeConfig> = {}): HandshakeConfig {
  return { node: 'node-a', volume: 'db', secret: SECRET, timeoutMs: 5000, randomBytes: fixed(0xa1), ...over };
}
const cfgB = (over: Partial<HandshakeConfig> = {}): HandshakeConfig =>
  cfg({ node: 'node-b', randomBytes: fixed(0xb2), ...over });

type Sent = { type: FrameType; payload: Buffer };
const sends = (s: HandshakeStep): Sent[] =>
  s.actions.flatMap((a) => (a.kind === 'send' ? [{ type: a.type, payload: a.payload }] : []));
const outcome = (s: HandshakeStep): HandshakeAction | undefined => s.actions.find((a) => a.kind !== 'send');
const failure = (s: HandshakeStep): string | undefined => {
  const o = outcome(s);
  return o?.kind === 'fail' ? o.reason : undefined;
};

// Runs two machines against each other over perfect in-order pipes.
function converse(a: Handshake, b: Handshake): { a: HandshakeAction[]; b: HandshakeAction[]; wire: { a: Sent[]; b: Sent[] } } {
  const result = { a: [] as HandshakeAction[], b: [] as HandshakeAction[], wire: { a: [] as Sent[], b: [] as Sent[] } };
  const toB: Sent[] = [];
  const toA: Sent[] = [];
  const take = (side: 'a' | 'b', s: HandshakeStep): void => {
    for (const act of s.actions) {
      if (act.kind === 'send') {
        (side === 'a' ? toB : toA).push({ type: act.type, payload: act.payload });
        result.wire[side].push({ type: act.type, payload: act.payload });
      } else result[side].push(act);
    }
  };
  take('a', a.start(T0));
  take('b', b.start(T0));
  while (toA.length > 0 || toB.length > 0) {
    const fb = toB.shift();
    if (fb) take('b', b.receive(fb, T0 + 1));
    const fa = toA.shift();
    if (fa) take('a', a.receive(fa, T0 + 1));
  }
  return result;
}

describe('replication/link handshake', () => {
  it('authenticates two peers with the same secret: HELLO, RESPONSE, AUTH_OK each way', () => {
    const a = new Handshake(cfg());
    const b = new Handshake(cfgB({ expectedPeer: 'node-a' }));
    const r = converse(a, b);
    expect(r.a).to.deep.equal([{ kind: 'authenticated', peer: { node: 'node-b', volume: 'db', version: LINK_PROTOCOL_VERSION } }]);
    expect(r.b).to.deep.equal([{ kind: 'authenticated', peer: { node: 'node-a', volume: 'db', version: LINK_PROTOCOL_VERSION } }]);
    expect(r.wire.a.map((f) => f.type)).to.deep.equal(['HELLO', 'RESPONSE', 'AUTH_OK']);
    expect(r.wire.b.map((f) => f.type)).to.deep.equal(['HELLO', 'RESPONSE', 'AUTH_OK']);
    expect(a.state).to.equal('Authenticated');
    expect(b.state).to.equal('Authenticated');
  });

  it('start sends HELLO with our names and the injected challenge, deadline now + timeout', () => {
    const s = new Handshake(cfg()).start(T0);
    expect(s.deadline).to.equal(T0 + 5000);
    const [hello] = sends(s);
    expect(hello?.type).to.equal('HELLO');
    expect(decodeHello(hello?.payload ?? Buffer.alloc(0))).to.deep.equal({
      ok: true, value: { version: LINK_PROTOCOL_VERSION, node: 'node-a', volume: 'db', challenge: Buffer.alloc(64, 0xa1) },
    });
  });

  it('a newer peer is met at our version: both sides settle on the lower of their newest', () => {
    const a = new Handshake(cfg());
    const b = new Handshake(cfgB({ version: LINK_PROTOCOL_VERSION + 1 }));
    const r = converse(a, b);
    expect(r.a).to.deep.equal([{ kind: 'authenticated', peer: { node: 'node-b', volume: 'db', version: LINK_PROTOCOL_VERSION } }]);
    expect(r.b).to.deep.equal([{ kind: 'authenticated', peer: { node: 'node-a', volume: 'db', version: LINK_PROTOCOL_VERSION } }]);
  });

  it('an older peer within our range is met at its version', () => {
    const r = converse(new Handshake(cfg()), new Handshake(cfgB({ version: LINK_PROTOCOL_MIN })));
    expect(r.a).to.deep.equal([{ kind: 'authenticated', peer: { node: 'node-b', volume: 'db', version: LINK_PROTOCOL_MIN } }]);
    expect(r.b).to.deep.equal([{ kind: 'authenticated', peer: { node: 'node-a', volume: 'db', version: LINK_PROTOCOL_MIN } }]);
  });

  it('an older peer below our oldest version is refused with both ranges named', () => {
    const a = new Handshake(cfg());
    const r = converse(a, new Handshake(cfgB({ version: LINK_PROTOCOL_MIN - 1 })));
    const fail = r.a[0];
    expect(fail?.kind).to.equal('fail');
    if (fail?.kind !== 'fail') return;
    expect(fail.detail).to.equal(`peer speaks link protocol version ${LINK_PROTOCOL_MIN - 1}, we speak ${LINK_PROTOCOL_MIN}..${LINK_PROTOCOL_VERSION}: upgrade the older node`);
  });

  const PAIRS: { name: string; a: Partial<HandshakeConfig>; b: Partial<HandshakeConfig>; ra: string; rb: string }[] = [
    { name: 'a wrong secret', a: {}, b: { secret: Buffer.from('wrong') }, ra: 'auth-failed', rb: 'auth-failed' },
    { name: 'a secret that differs in one byte', a: {}, b: { secret: Buffer.from('correct horse battery staplE') }, ra: 'auth-failed', rb: 'auth-failed' },
    { name: 'a protocol version below our oldest', a: {}, b: { version: LINK_PROTOCOL_MIN - 1 }, ra: 'version-mismatch', rb: 'version-mismatch' },
    { name: 'another volume', a: {}, b: { volume: 'logs' }, ra: 'unknown-volume', rb: 'unknown-volume' },
    { name: 'an unexpected peer name', a: { expectedPeer: 'node-c' }, b: {}, ra: 'unknown-peer', rb: 'unknown-peer' },
    { name: 'both sides with one node name', a: {}, b: { node: 'node-a' }, ra: 'auth-failed', rb: 'auth-failed' },
  ];
  for (const p of PAIRS) {
    it(`fails on both sides with ${p.rb} for ${p.name}`, () => {
      const a = new Handshake(cfg(p.a));
      const b = new Handshake(cfgB(p.b));
      const r = converse(a, b);
      expect(r.a.map((x) => x.kind === 'fail' && x.reason)).to.deep.equal([p.ra]);
      expect(r.b.map((x) => x.kind === 'fail' && x.reason)).to.deep.equal([p.rb]);
      expect(a.state).to.equal('Failed');
      expect(b.state).to.equal('Failed');
      // No side ever sends AUTH_OK to a peer it did not verify.
      if (p.ra === 'auth-failed') expect([...r.wire.a, ...r.wire.b].map((f) => f.type)).to.not.include('AUTH_OK');
    });
  }

  it('tells the peer only "authentication failed" on a wrong secret', () => {
    const a = new Handshake(cfg());
    const b = new Handshake(cfgB({ secret: Buffer.from('wrong') }));
    const r = converse(a, b);
    const err = r.wire.a.find((f) => f.type === 'ERROR');
    expect(decodeLinkError(err?.payload ?? Buffer.alloc(0))).to.deep.equal({ ok: true, value: { reason: 'auth-failed', detail: 'authentication failed' } });
  });

  // Attacker without the secret talking to A (node-a), pretending to be node-b.
  function helloFrom(node: string, challenge: Buffer, volume = 'db'): Sent {
    return { type: 'HELLO', payload: encodeHello({ version: LINK_PROTOCOL_VERSION, node, volume, challenge }) };
  }

  // Node a after node-b's HELLO with challenge cB: the next frame it wants is node-b's RESPONSE.
  function awaitingResponse(): { a: Handshake; cB: Buffer } {
    const a = new Handshake(cfg());
    a.start(T0);
    const cB = Buffer.alloc(64, 0xb2);
    a.receive(helloFrom('node-b', cB), T0);
    return { a, cB };
  }

  it('rejects a reflected challenge (our own challenge in the peer HELLO)', () => {
    const a = new Handshake(cfg());
    a.start(T0);
    const s = a.receive(helloFrom('node-b', Buffer.alloc(64, 0xa1)), T0);
    expect(failure(s)).to.equal('auth-failed');
    expect(sends(s).map((f) => f.type)).to.deep.equal(['ERROR']); // no RESPONSE to the attacker
  });

  it('rejects a reflected response (A answers on a second connection, attacker plays it back)', () => {
    const a1 = new Handshake(cfg({ randomBytes: fixed(0x01) }));
    const a2 = new Handshake(cfg({ randomBytes: fixed(0x02) }));
    a1.start(T0);
    a2.start(T0);
    const cA1 = Buffer.alloc(64, 0x01);
    const cA2 = Buffer.alloc(64, 0x02);
    // Conn 2: the attacker presents A1's challenge, so A2 answers it.
    const answer = sends(a2.receive(helloFrom('node-b', cA1), T0)).find((f) => f.type === 'RESPONSE');
    expect(answer).to.not.equal(undefined);
    // Conn 1: the attacker presents A2's challenge and plays A2's answer back to A1.
    expect(outcome(a1.receive(helloFrom('node-b', cA2), T0))).to.equal(undefined);
    expect(failure(a1.receive(answer as Sent, T0))).to.equal('auth-failed');
  });

  it('rejects a replayed transcript from an earlier session', () => {
    // Session 1: A's challenge 0xa1; record what B sent.
    const r1 = converse(new Handshake(cfg()), new Handshake(cfgB()));
    expect(r1.a[0]?.kind).to.equal('authenticated');
    // Session 2: A picks a fresh challenge; the recording is played back to it.
    const a = new Handshake(cfg({ randomBytes: fixed(0xa3) }));
    a.start(T0);
    let last: HandshakeStep | undefined;
    for (const f of r1.wire.b) {
      last = a.receive(f, T0);
      if (a.state === 'Failed') break;
    }
    expect(last && failure(last)).to.equal('auth-failed');
  });

  it('rejects a response computed with the roles swapped', () => {
    const { a, cB } = awaitingResponse();
    const swapped = computeResponse({
      secret: SECRET, responder: 'node-a', verifier: 'node-b', volume: 'db',
      verifierChallenge: Buffer.alloc(64, 0xa1), responderChallenge: cB,
    });
    expect(failure(a.receive({ type: 'RESPONSE', payload: swapped }, T0))).to.equal('auth-failed');
  });

  it('accepts the correctly bound response (control for the attack tests)', () => {
    const { a, cB } = awaitingResponse();
    const right = computeResponse({
      secret: SECRET, responder: 'node-b', verifier: 'node-a', volume: 'db',
      verifierChallenge: Buffer.alloc(64, 0xa1), responderChallenge: cB,
    });
    const s = a.receive({ type: 'RESPONSE', payload: right }, T0);
    expect(sends(s).map((f) => f.type)).to.deep.equal(['AUTH_OK']);
    expect(a.state).to.equal('WaitAuthOk');
  });

  for (const cut of [0, 1, 16, 31]) {
    it(`rejects a response truncated to ${cut} bytes`, () => {
      const { a, cB } = awaitingResponse();
      const right = computeResponse({
        secret: SECRET, responder: 'node-b', verifier: 'node-a', volume: 'db',
        verifierChallenge: Buffer.alloc(64, 0xa1), responderChallenge: cB,
      });
      expect(failure(a.receive({ type: 'RESPONSE', payload: right.subarray(0, cut) }, T0))).to.equal('auth-failed');
    });
  }

  const OUT_OF_ORDER: { name: string; before: Sent[]; frame: Sent }[] = [
    { name: 'RESPONSE before HELLO', before: [], frame: { type: 'RESPONSE', payload: Buffer.alloc(32) } },
    { name: 'AUTH_OK before HELLO', before: [], frame: { type: 'AUTH_OK', payload: Buffer.alloc(0) } },
    { name: 'WRITE during the handshake', before: [], frame: { type: 'WRITE', payload: Buffer.from('x') } },
    { name: 'a second HELLO', before: [helloFrom('node-b', Buffer.alloc(64, 0xb2))], frame: helloFrom('node-b', Buffer.alloc(64, 0xb3)) },
    { name: 'AUTH_OK before RESPONSE', before: [helloFrom('node-b', Buffer.alloc(64, 0xb2))], frame: { type: 'AUTH_OK', payload: Buffer.alloc(0) } },
    { name: 'a malformed HELLO', before: [], frame: { type: 'HELLO', payload: Buffer.from('hello') } },
  ];
  for (const c of OUT_OF_ORDER) {
    it(`fails with protocol-error on ${c.name}`, () => {
      const a = new Handshake(cfg());
      a.start(T0);
      for (const f of c.before) a.receive(f, T0);
      const s = a.receive(c.frame, T0);
      expect(failure(s)).to.equal('protocol-error');
      expect(sends(s).map((f) => f.type)).to.deep.equal(['ERROR']);
    });
  }

  it('fails with protocol-error on AUTH_OK with a payload', () => {
    const a = new Handshake(cfg());
    const b = new Handshake(cfgB());
    const r = converse(a, b);
    expect(r.a[0]?.kind).to.equal('authenticated');
    const a2 = new Handshake(cfg());
    a2.start(T0);
    for (const f of r.wire.b.slice(0, 2)) a2.receive(f, T0); // b's RESPONSE answered a's 0xa1 challenge
    expect(a2.state).to.equal('WaitAuthOk');
    expect(failure(a2.receive({ type: 'AUTH_OK', payload: Buffer.from([0]) }, T0))).to.equal('protocol-error');
  });

  it('adopts the reason of a peer ERROR and does not answer it', () => {
    for (const [theirs, ours] of [['unknown-volume', 'unknown-volume'], ['auth-failed', 'auth-failed'], ['nonsense', 'protocol-error']]) {
      const a = new Handshake(cfg());
      a.start(T0);
      const s = a.receive({ type: 'ERROR', payload: encodeLinkError({ reason: theirs as string, detail: 'd' }) }, T0);
      expect(failure(s)).to.equal(ours);
      expect(sends(s)).to.deep.equal([]);
    }
    const a = new Handshake(cfg());
    a.start(T0);
    expect(failure(a.receive({ type: 'ERROR', payload: Buffer.alloc(0) }, T0))).to.equal('protocol-error');
  });

  it('times out at the deadline and not before, in every waiting state', () => {
    for (const frames of [0, 1, 2]) {
      const a = new Handshake(cfg());
      const b = new Handshake(cfgB());
      const fromB = sends(b.start(T0));
      a.start(T0);
      if (frames >= 1) fromB.push(...sends(b.receive(sends(new Handshake(cfg()).start(T0))[0] as Sent, T0)));
      for (const f of fromB.slice(0, frames)) a.receive(f, T0);
      expect(a.state).to.equal(['WaitHello', 'WaitResponse', 'WaitAuthOk'][frames]);
      const early = a.tick(T0 + 4999);
      expect(early).to.deep.equal({ actions: [], deadline: T0 + 5000 });
      const s = a.tick(T0 + 5000);
      expect(failure(s)).to.equal('handshake-timeout');
      expect(s.deadline).to.equal(null);
    }
  });

  it('treats a frame arriving after the deadline as a timeout', () => {
    const a = new Handshake(cfg());
    a.start(T0);
    expect(failure(a.receive(helloFrom('node-b', Buffer.alloc(64, 0xb2)), T0 + 5000))).to.equal('handshake-timeout');
  });

  it('ignores everything once finished', () => {
    const a = new Handshake(cfg());
    const b = new Handshake(cfgB());
    converse(a, b);
    expect(a.receive({ type: 'HELLO', payload: Buffer.alloc(0) }, T0)).to.deep.equal({ actions: [], deadline: null });
    expect(a.tick(T0 + 10_000)).to.deep.equal({ actions: [], deadline: null });
    expect(a.start(T0)).to.deep.equal({ actions: [], deadline: null });
    const f = new Handshake(cfg());
    f.start(T0);
    f.tick(T0 + 5000);
    expect(f.receive(helloFrom('node-b', Buffer.alloc(64, 0xb2)), T0)).to.deep.equal({ actions: [], deadline: null });
  });

  it('refuses an empty secret, bad names and short randomness at construction', () => {
    expect(() => new Handshake(cfg({ secret: Buffer.alloc(0) }))).to.throw(RangeError);
    expect(() => new Handshake(cfg({ node: '' }))).to.throw(RangeError);
    expect(() => new Handshake(cfg({ randomBytes: () => Buffer.alloc(8) }))).to.throw(RangeError);
  });
});
