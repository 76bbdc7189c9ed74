// Fuzz: random and mutated bytes through decodeIpv4 / decodeAdvert /
// checkAdvert. Nothing may throw, and every rejection must be a named reason.
import { expect } from 'chai';
import { type Family, decodeAdvert } from '../../../lib/vrrp/packet/advert.js';
import { type CheckContext, type Verdict, checkAdvert } from '../../../lib/vrrp/packet/check.js';
import { decodeIpv4 } from '../../../lib/vrrp/packet/ipv4.js';
import { DROP_REASONS, WARNINGS } from '../../../lib/vrrp/packet/reasons.js';
import { type CapturedPacket, VRRP_CASES, loadFixture } from './fixtures.test.js';
import { rng } from '../../helpers/random.js';

type Result = { ok: true } | { ok: false; reason: string; detail: string };

function expectNamed(r: Result, what: string): void {
  if (r.ok) return;
  expect(DROP_REASONS as readonly string[], `${what}: ${r.reason}`).to.include(r.reason);
  expect(r.detail, what).to.be.a('string');
}

function expectVerdict(v: Verdict, what: string): void {
  expectNamed(v, what);
  if (v.ok) for (const w of v.warnings) expect(WARNINGS as readonly string[], what).to.include(w);
}

function ctxFor(family: Family, vrid: number, r: () => number): CheckContext {
  const unicast = r() < 0.3;
  return {
    vrid, version: r() < 0.5 ? 2 : 3, family, state: r() < 0.9 ? 'BACKUP' : 'INIT',
    unicast, unicastPeers: unicast ? ['192.0.2.1'] : [], checkUnicastSrc: unicast && r() < 0.5,
    ...(r() < 0.3 ? { authPass: 's3cret' } : {}),
    advertIntCs: 100, vips: ['192.0.2.100'], v3ChecksumAsV2: r() < 0.2, checksumVerifiedByKernel: r() < 0.5,
  };
}

// The whole receive path the socket driver runs, for one raw buffer; returns
// the final outcome so the tests can see the fuzz reached deep checks.
function receive(buf: Buffer, family: Family, src: string, r: () => number): string {
  const what = buf.toString('hex').slice(0, 120);
  if (family === 4) {
    const ip = decodeIpv4(buf);
    expectNamed(ip, what);
    if (!ip.ok) return ip.reason;
    expectNamed(decodeAdvert(ip.payload, 4), what);
    const rx = { family: 4 as const, payload: ip.payload, src: ip.header.src, dst: ip.header.dst, ttl: ip.header.ttl, ipTotalLength: ip.header.totalLength, receivedLength: buf.length };
    const v = checkAdvert(rx, ctxFor(4, ip.payload[1] ?? 0, r));
    expectVerdict(v, what);
    return v.ok ? 'ok' : v.reason;
  }
  const d = decodeAdvert(buf, 6);
  expectNamed(d, what);
  if (d.ok) expect(d.advert.addresses.length).to.equal(buf[3]);
  const v = checkAdvert({ family: 6, payload: buf, src }, ctxFor(6, buf[1] ?? 0, r));
  expectVerdict(v, what);
  return v.ok ? 'ok' : v.reason;
}

function mutate(src: Buffer, r: () => number): Buffer {
  const kind = Math.floor(r() * 5);
  const b = Buffer.from(src);
  switch (kind) {
    case 0: { // flip 1..3 bits
      const n = 1 + Math.floor(r() * 3);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(r() * b.length);
        b[at] = (b[at] ?? 0) ^ (1 << Math.floor(r() * 8));
      }
      return b;
    }
    case 1: // truncate anywhere
      return b.subarray(0, Math.floor(r() * b.length));
    case 2: // extend with random bytes
      return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 256)))]);
    case 3: // random byte anywhere
      b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      return b;
    default: // random byte in the first 28 bytes: IP header and VRRP fixed fields
      b[Math.floor(r() * Math.min(28, b.length))] = Math.floor(r() * 256);
      return b;
  }
}

describe('vrrp/packet fuzz', () => {
  it('5000 random buffers: never throws, always ok or a named reason', () => {
    const r = rng(42);
    for (let n = 0; n < 5000; n++) {
      const len = n % 100 === 0 ? Math.floor(r() * 4200) : Math.floor(r() * 96);
      const buf = Buffer.from(Array.from({ length: len }, () => Math.floor(r() * 256)));
      // Make half of them look like IPv4 or VRRP so the decoders get further.
      if (len > 0 && r() < 0.5) buf[0] = r() < 0.5 ? 0x45 : 0x31;
      receive(buf, 4, '192.0.2.1', r);
      receive(buf, 6, 'fe80::1', r);
    }
  });

  it('20000 mutations of the keepalived captures', () => {
    const r = rng(7);
    const packets: CapturedPacket[] = VRRP_CASES.flatMap((c) => loadFixture(c));
    const seen = new Map<string, number>();
    for (let n = 0; n < 20000; n++) {
      const p = packets[n % packets.length] as CapturedPacket;
      const m = mutate(p.family === 4 ? p.bytes : p.payload, r);
      const outcome = receive(m, p.family, p.src, r);
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
    }
    // The mutations must reach past the first checks, or this proves little.
    const summary = JSON.stringify(Object.fromEntries(seen));
    for (const outcome of ['ok', 'ip-header', 'truncated', 'length', 'version', 'checksum', 'auth-type', 'not-ready']) {
      expect(seen.get(outcome) ?? 0, `${outcome} in ${summary}`).to.be.greaterThan(0);
    }
  });

  it('every truncation of every capture is rejected as truncated or length', () => {
    for (const p of VRRP_CASES.flatMap((c) => loadFixture(c))) {
      for (let len = 0; len < p.payload.length; len++) {
        const d = decodeAdvert(p.payload.subarray(0, len), p.family);
        expect(d.ok).to.equal(false);
        if (!d.ok) expect(['truncated', 'length']).to.include(d.reason);
      }
    }
  });

  it('a count field claiming more (or fewer) addresses than the bytes hold is a length error, never a read past the end', () => {
    for (const p of VRRP_CASES.flatMap((c) => loadFixture(c))) {
      for (let count = 0; count < 256; count++) {
        if (count === p.payload[3]) continue;
        const q = Buffer.from(p.payload);
        q[3] = count;
        const d = decodeAdvert(q, p.family);
        expect(d).to.include({ ok: false, reason: 'length' });
      }
    }
  });
});
