// checkAdvert: one test per drop reason and warning, then every pair of
// faults to show the earlier check (keepalived's order) is the one reported.
import { expect } from 'chai';
import { type EncodeInput, checksumModeFor, encodeAdvert, passAuthData, vrrpChecksum } from '../../../lib/vrrp/packet/advert.js';
import { type CheckContext, type Received, checkAdvert } from '../../../lib/vrrp/packet/check.js';
import { DROP_REASONS, type DropReason } from '../../../lib/vrrp/packet/reasons.js';

const SRC = '192.0.2.1';
const GROUP = '224.0.0.18';

// A packet under construction: what the sender encodes, what the socket
// reports, how the instance is configured, and byte damage done afterwards.
interface Case {
  family: 4 | 6;
  input: EncodeInput;
  rx: Omit<Received, 'payload' | 'family'>;
  ctx: CheckContext;
  damage: Array<(p: Buffer) => Buffer>;
}

function v2Case(): Case {
  return {
    family: 4,
    input: { version: 2, vrid: 51, priority: 150, addresses: ['192.0.2.100', '192.0.2.101'], advertIntCs: 100, authType: 1, authData: passAuthData('s3cret') },
    rx: { src: SRC, dst: GROUP, ttl: 255 },
    ctx: { vrid: 51, version: 2, family: 4, state: 'BACKUP', unicast: false, unicastPeers: [], checkUnicastSrc: false, authPass: 's3cret', advertIntCs: 100, vips: ['192.0.2.100', '192.0.2.101'], v3ChecksumAsV2: false, checksumVerifiedByKernel: false },
    damage: [],
  };
}

function v3Case(family: 4 | 6 = 4): Case {
  const vips = family === 4 ? ['192.0.2.100'] : ['2001:db8:1::100', 'fe80::52'];
  return {
    family,
    input: { version: 3, vrid: 52, priority: 100, addresses: vips, advertIntCs: 100 },
    rx: family === 4 ? { src: SRC, dst: GROUP, ttl: 255 } : { src: 'fe80::5eff:fe10:a' },
    ctx: { vrid: 52, version: 3, family, state: 'BACKUP', unicast: false, unicastPeers: [], checkUnicastSrc: false, advertIntCs: 100, vips, v3ChecksumAsV2: false, checksumVerifiedByKernel: false },
    damage: [],
  };
}

function run(c: Case) {
  const dst = c.rx.dst ?? (c.family === 4 ? GROUP : 'ff02::12');
  let payload = encodeAdvert(c.input, c.family, { mode: checksumModeFor(c.input.version, c.ctx.v3ChecksumAsV2, c.family), src: c.rx.src, dst });
  for (const d of c.damage) payload = d(payload);
  const v4 = c.family === 4 ? { ipTotalLength: 20 + payload.length, receivedLength: 20 + payload.length } : {};
  return checkAdvert({ family: c.family, payload, ...v4, ...c.rx }, c.ctx);
}

function expectDrop(c: Case, reason: DropReason) {
  const v = run(c);
  if (v.ok) throw new Error(`expected ${reason}, packet was accepted`);
  expect(v.reason, v.detail).to.equal(reason);
  expect(v.detail).to.be.a('string').and.not.equal('');
}

// Each fault makes exactly one check fail on an otherwise good v2 packet,
// listed in the order the checks run.
type Fault = { reason: DropReason; apply: (c: Case) => void; excludes?: DropReason[] };
const FAULTS: Fault[] = [
  { reason: 'truncated', apply: (c) => c.damage.push((p) => p.subarray(0, 7)) },
  { reason: 'unknown-vrid', apply: (c) => { c.ctx.vrid = 99; } },
  { reason: 'not-ready', apply: (c) => { c.ctx.state = 'FAULT'; } },
  { reason: 'multicast-on-unicast', apply: (c) => { c.ctx.unicast = true; c.ctx.unicastPeers = [SRC]; }, excludes: ['unicast-on-multicast', 'ttl', 'unicast-src'] },
  { reason: 'unicast-on-multicast', apply: (c) => { c.rx.dst = '192.0.2.2'; }, excludes: ['unicast-src'] },
  { reason: 'length', apply: (c) => c.damage.push((p) => Buffer.concat([p, Buffer.alloc(4)])) },
  { reason: 'ttl', apply: (c) => { c.rx.ttl = 64; }, excludes: ['unicast-src'] },
  { reason: 'version', apply: (c) => { c.ctx.version = 3; } },
  { reason: 'auth-type', apply: (c) => { c.input.authType = 7; } },
  { reason: 'auth-failure', apply: (c) => { c.ctx.authPass = 'secret!'; } },
  { reason: 'advert-interval', apply: (c) => { c.ctx.advertIntCs = 300; } },
  { reason: 'type', apply: (c) => { c.input.type = 2; } },
  { reason: 'ip-length', apply: (c) => { c.rx.ipTotalLength = 64; c.rx.receivedLength = 60; } },
  { reason: 'checksum', apply: (c) => c.damage.push((p) => { const q = Buffer.from(p); q[7] = (q[7] ?? 0) ^ 0x01; return q; }) },
  { reason: 'unicast-src', apply: (c) => { c.ctx.unicast = true; c.ctx.checkUnicastSrc = true; c.ctx.unicastPeers = ['192.0.2.77']; c.rx.dst = '192.0.2.2'; } },
  { reason: 'own-address', apply: (c) => { c.ctx.ownAddress = SRC; } },
];

function applyAll(faults: Fault[]): Case {
  const c = v2Case();
  for (const f of faults) f.apply(c);
  return c;
}

describe('vrrp/packet checkAdvert', () => {
  it('the fault table covers every reason checkAdvert can return, in DROP_REASONS order', () => {
    expect(FAULTS.map((f) => f.reason)).to.deep.equal(DROP_REASONS.filter((r) => r !== 'ip-header'));
  });

  it('accepts the unmodified v2 and v3 packets without warnings', () => {
    for (const c of [v2Case(), v3Case(4), v3Case(6)]) {
      const v = run(c);
      if (!v.ok) throw new Error(`${v.reason}: ${v.detail}`);
      expect(v.warnings).to.deep.equal([]);
    }
  });

  describe('one fault at a time', () => {
    for (const f of FAULTS) {
      it(`${f.reason}`, () => expectDrop(applyAll([f]), f.reason));
    }
  });

  it('every pair of faults reports the one checked first', () => {
    let pairs = 0;
    FAULTS.forEach((a, i) => {
      FAULTS.slice(i + 1).forEach((b) => {
        if (a.excludes?.includes(b.reason) || b.excludes?.includes(a.reason)) return;
        const c = v2Case();
        a.apply(c);
        b.apply(c);
        // Truncation always last so the other damage happens first.
        if (a.reason === 'truncated') c.damage.push(c.damage.shift() as (p: Buffer) => Buffer);
        const v = run(c);
        expect(v.ok, `${a.reason} + ${b.reason}`).to.equal(false);
        if (!v.ok) expect(v.reason, `${a.reason} + ${b.reason}: ${v.detail}`).to.equal(a.reason);
        pairs++;
      });
    });
    expect(pairs).to.be.greaterThan(90);
  });

  it('own-address: our own source, in any written form (IPv6 case and zeros), is another host; a different one is not', () => {
    const c = v3Case(6);
    c.ctx.ownAddress = 'FE80:0::5EFF:FE10:A';
    expectDrop(c, 'own-address');
    const d = v3Case(6);
    d.ctx.ownAddress = 'fe80::5eff:fe10:b';
    expect(run(d).ok).to.equal(true);
  });

  it('not-ready in INIT and STOP too, and BACKUP and MASTER both process adverts', () => {
    for (const state of ['INIT', 'STOP'] as const) {
      const c = v3Case();
      c.ctx.state = state;
      expectDrop(c, 'not-ready');
    }
    for (const state of ['BACKUP', 'MASTER'] as const) {
      const c = v3Case();
      c.ctx.state = state;
      expect(run(c).ok).to.equal(true);
    }
  });

  it('auth-type when the instance has no password and the packet carries PASS, or the reverse', () => {
    const a = v2Case();
    delete a.ctx.authPass;
    expectDrop(a, 'auth-type');
    const b = v2Case();
    b.input.authType = 0;
    b.input.authData = Buffer.alloc(8);
    expectDrop(b, 'auth-type');
    const ah = v2Case();
    ah.input.authType = 2; // IPsec AH is not supported: a mismatch like any other
    expectDrop(ah, 'auth-type');
  });

  it('passwords compare zero-padded to 8 bytes; longer ones by their first 8 bytes', () => {
    const c = v2Case();
    c.input.authData = passAuthData('longpassword');
    c.ctx.authPass = 'longpass';
    expect(run(c).ok).to.equal(true);
    c.ctx.authPass = 'longpas';
    expectDrop(c, 'auth-failure');
  });

  it('length when the count field claims more or fewer addresses than the bytes hold', () => {
    for (const count of [0, 2, 3, 255]) {
      const c = v3Case();
      c.damage.push((p) => { const q = Buffer.from(p); q[3] = count; return q; });
      expectDrop(c, 'length');
    }
  });

  it('no TTL check for unicast instances (keepalived), and none when the socket does not report it', () => {
    const c = v3Case();
    c.ctx.unicast = true;
    c.ctx.unicastPeers = [SRC];
    c.rx.dst = '192.0.2.2';
    c.rx.ttl = 3;
    expect(run(c).ok).to.equal(true);
    const d = v3Case();
    delete d.rx.ttl;
    expect(run(d).ok).to.equal(true);
  });

  it('the multicast/unicast check needs a destination: without one (no IPV6_PKTINFO from the kernel) it is skipped', () => {
    const c = v3Case(6);
    c.ctx.unicast = true;
    c.ctx.unicastPeers = [c.rx.src];
    c.ctx.checksumVerifiedByKernel = true;
    expect(run(c).ok).to.equal(true);
    const d = v3Case(6);
    d.rx.dst = 'ff02::12';
    d.ctx.unicast = true;
    expectDrop(d, 'multicast-on-unicast');
  });

  it('version when a v2 advert reaches a v3 instance, before any v2 auth check', () => {
    const c = v2Case();
    c.ctx.version = 3;
    delete c.ctx.authPass;
    expectDrop(c, 'version');
  });

  it('checksum: v3 IPv4 in the other form, IPv6 when the kernel did not verify, unicast without a destination', () => {
    const c = v3Case();
    c.damage.push((p) => { const q = Buffer.from(p); q.writeUInt16BE(vrrpChecksum(p, 4, 'message'), 6); return q; });
    expectDrop(c, 'checksum');
    const six = v3Case(6);
    six.damage.push((p) => { const q = Buffer.from(p); q[6] = (q[6] ?? 0) ^ 0x80; return q; });
    expectDrop(six, 'checksum');
    six.ctx.checksumVerifiedByKernel = true; // then the kernel has already dropped bad ones
    expect(run(six).ok).to.equal(true);
    const uni = v3Case(6);
    uni.ctx.unicast = true;
    uni.ctx.unicastPeers = [uni.rx.src];
    expectDrop(uni, 'checksum'); // pseudo-header needs our unicast address, which the socket did not give
  });

  it('v3ChecksumAsV2 accepts the message-only form on IPv4', () => {
    const c = v3Case();
    c.ctx.v3ChecksumAsV2 = true;
    expect(run(c).ok).to.equal(true);
  });

  it('unicast-src only when check_unicast_src is on; addresses compare canonically', () => {
    const c = v3Case();
    c.ctx.unicast = true;
    c.rx.dst = '192.0.2.2';
    c.ctx.unicastPeers = ['192.0.2.77'];
    expect(run(c).ok).to.equal(true);
    c.ctx.checkUnicastSrc = true;
    expectDrop(c, 'unicast-src');
    const six = v3Case(6);
    six.rx.dst = '2001:db8:1::2';
    six.ctx.unicast = true;
    six.ctx.checkUnicastSrc = true;
    six.ctx.unicastPeers = ['FE80:0:0:0:0:5EFF:FE10:A'];
    expect(run(six).ok).to.equal(true);
  });

  describe('warnings (accepted)', () => {
    it('advert-interval-mismatch for v3 (v2 drops instead)', () => {
      const c = v3Case();
      c.ctx.advertIntCs = 200;
      const v = run(c);
      expect(v).to.include({ ok: true });
      if (v.ok) expect(v.warnings).to.deep.equal(['advert-interval-mismatch']);
    });

    it('address-list-mismatch for a different set, count or duplicate, not for order or spelling', () => {
      const mismatch = (vips: string[], sent: string[]) => {
        const c = v3Case();
        c.ctx.vips = vips;
        c.input.addresses = sent;
        const v = run(c);
        if (!v.ok) throw new Error(v.reason);
        return v.warnings.includes('address-list-mismatch');
      };
      expect(mismatch(['192.0.2.100'], ['192.0.2.101'])).to.equal(true);
      expect(mismatch(['192.0.2.100'], ['192.0.2.100', '192.0.2.101'])).to.equal(true);
      expect(mismatch(['192.0.2.100', '192.0.2.101'], ['192.0.2.100', '192.0.2.100'])).to.equal(true);
      expect(mismatch(['192.0.2.100'], [])).to.equal(true);
      expect(mismatch(['192.0.2.101', '192.0.2.100'], ['192.0.2.100', '192.0.2.101'])).to.equal(false);
      expect(mismatch(['192.0.2.100/24'], ['192.0.2.100'])).to.equal(false);
    });

    it('both warnings together, in check order', () => {
      const c = v3Case();
      c.ctx.advertIntCs = 50;
      c.ctx.vips = ['192.0.2.200'];
      const v = run(c);
      expect(v.ok).to.equal(true);
      if (v.ok) expect(v.warnings).to.deep.equal(['advert-interval-mismatch', 'address-list-mismatch']);
    });

    it('a dropped packet carries no warnings: the drop wins', () => {
      const c = v3Case();
      c.ctx.advertIntCs = 50;
      c.damage.push((p) => { const q = Buffer.from(p); q[6] = (q[6] ?? 0) ^ 1; return q; });
      expectDrop(c, 'checksum');
    });
  });

  it('priority 0 is a valid advert (the master is leaving, RFC 5798 6.4.2)', () => {
    for (const c of [v2Case(), v3Case(4), v3Case(6)]) {
      c.input.priority = 0;
      const v = run(c);
      expect(v.ok).to.equal(true);
      if (v.ok) expect(v.advert.priority).to.equal(0);
    }
  });
});
