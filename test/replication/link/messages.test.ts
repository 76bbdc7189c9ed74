// HELLO / ERROR payload codecs and the HMAC response, against hand-written
// hex and an HMAC computed independently with `openssl dgst -mac HMAC`.
import { expect } from 'chai';
import { computeResponse, verifyResponse } from '../../../lib/replication/link/auth.js';
import { decodeHello, decodeLinkError, encodeHello, encodeLinkError } from '../../../lib/replication/link/messages.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const CH = Buffer.alloc(64, 0x11);
const HELLO_WIRE = hex(`0001 01 61 02 6462 ${'11'.repeat(64)}`);

describe('replication/link messages', () => {
  it('encodes and decodes HELLO as the exact bytes', () => {
    expect(encodeHello({ version: 1, node: 'a', volume: 'db', challenge: CH }).equals(HELLO_WIRE)).to.equal(true);
    expect(decodeHello(HELLO_WIRE)).to.deep.equal({ ok: true, value: { version: 1, node: 'a', volume: 'db', challenge: CH } });
  });

  const BAD_HELLOS: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['version only', hex('0001')],
    ['node length past the end', hex('0001 09 61')],
    ['empty node name', hex(`0001 00 02 6462 ${'11'.repeat(64)}`)],
    ['control character in the name', hex(`0001 01 0a 02 6462 ${'11'.repeat(64)}`)],
    ['invalid UTF-8 name', hex(`0001 01 ff 02 6462 ${'11'.repeat(64)}`)],
    ['volume length missing', hex('0001 01 61')],
    ['challenge one byte short', HELLO_WIRE.subarray(0, HELLO_WIRE.length - 1)],
    ['challenge one byte long', Buffer.concat([HELLO_WIRE, hex('00')])],
  ];
  for (const [name, bytes] of BAD_HELLOS) {
    it(`rejects a HELLO with ${name}`, () => {
      const r = decodeHello(bytes);
      expect(r.ok).to.equal(false);
    });
  }

  it('refuses to encode names a peer would reject', () => {
    expect(() => encodeHello({ version: 1, node: '', volume: 'db', challenge: CH })).to.throw(RangeError);
    expect(() => encodeHello({ version: 1, node: 'x'.repeat(64), volume: 'db', challenge: CH })).to.throw(RangeError);
    expect(() => encodeHello({ version: 1, node: 'a', volume: 'db', challenge: CH.subarray(1) })).to.throw(RangeError);
  });

  it('encodes ERROR as reason length, reason, detail', () => {
    expect(encodeLinkError({ reason: 'auth-failed', detail: 'no' }).toString('hex')).to.equal(`0b${Buffer.from('auth-failedno').toString('hex')}`);
    expect(decodeLinkError(hex('02 6869 c3a9'))).to.deep.equal({ ok: true, value: { reason: 'hi', detail: 'é' } });
    expect(decodeLinkError(Buffer.alloc(0)).ok).to.equal(false);
    expect(decodeLinkError(hex('05 6869')).ok).to.equal(false);
    expect(decodeLinkError(hex('01 07')).ok).to.equal(false);
  });

  it('caps the ERROR detail without splitting a character', () => {
    const wire = encodeLinkError({ reason: 'x', detail: 'é'.repeat(1000) });
    const d = decodeLinkError(wire);
    expect(d.ok && d.value.detail).to.equal('é'.repeat(256));
  });

  describe('HMAC response', () => {
    const input = {
      secret: Buffer.from('s3cret'), responder: 'node-b', verifier: 'node-a', volume: 'db',
      verifierChallenge: Buffer.alloc(64, 0xaa), responderChallenge: Buffer.alloc(64, 0xbb),
    };
    // openssl dgst -sha256 -mac HMAC -macopt key:s3cret over the bytes auth.ts documents.
    const EXPECTED = '186fea3292e5d790682730556019f23521adef0a0a3eb9fdd723ecb2c815d768';

    it('matches an HMAC computed by openssl', () => {
      expect(computeResponse(input).toString('hex')).to.equal(EXPECTED);
      expect(verifyResponse(input, hex(EXPECTED))).to.equal(true);
    });

    it('changes with every bound field', () => {
      const variants = [
        { ...input, secret: Buffer.from('s3creT') },
        { ...input, responder: 'node-a', verifier: 'node-b' },
        { ...input, volume: 'db2' },
        { ...input, verifierChallenge: Buffer.alloc(64, 0xab) },
        { ...input, responderChallenge: Buffer.alloc(64, 0xbc) },
        { ...input, verifierChallenge: input.responderChallenge, responderChallenge: input.verifierChallenge },
      ];
      for (const v of variants) expect(verifyResponse(v, hex(EXPECTED))).to.equal(false);
    });

    it('rejects truncated or extended responses', () => {
      const good = hex(EXPECTED);
      for (const r of [good.subarray(0, 31), Buffer.alloc(0), Buffer.concat([good, hex('00')])]) {
        expect(verifyResponse(input, r)).to.equal(false);
      }
    });
  });
});
