// Advert codec: generated round trips, checksum arithmetic, and the encoder's
// refusals of bad input.
import { expect } from 'chai';
import { formatIp } from '../../../lib/net/ip-address.js';
import {
  type EncodeInput,
  type Family,
  checksumModeFor,
  checksumOk,
  decodeAdvert,
  encodeAdvert,
  passAuthData,
  peekVrid,
  vrrpChecksum,
} from '../../../lib/vrrp/packet/advert.js';
import { checkAdvert } from '../../../lib/vrrp/packet/check.js';
import { internetChecksum, ipv4PseudoHeader, ipv6PseudoHeader, onesSum } from '../../../lib/vrrp/packet/checksum.js';
import { rng } from '../../helpers/random.js';

function randomAddress(r: () => number, family: Family): string {
  const b = Buffer.alloc(family === 4 ? 4 : 16);
  // Runs of zeros exercise the RFC 5952 "::" compression.
  for (let i = 0; i < b.length; i++) b[i] = r() < 0.4 ? 0 : Math.floor(r() * 256);
  return formatIp(b);
}

describe('vrrp/packet advert codec', () => {
  it('RFC 1071: the worked example sums to 0xddf2, and odd lengths pad with a zero byte', () => {
    // RFC 1071 section 3: 0001 f203 f4f5 f6f7 -> sum ddf2, checksum 220d.
    expect(onesSum([Buffer.from('0001f203f4f5f6f7', 'hex')])).to.equal(0xddf2);
    expect(internetChecksum([Buffer.from('0001f203f4f5f6f7', 'hex')])).to.equal(0x220d);
    expect(onesSum([Buffer.from('ab', 'hex')])).to.equal(0xab00);
    expect(onesSum([Buffer.from('0001', 'hex'), Buffer.from('f203f4f5f6f7', 'hex')])).to.equal(0xddf2);
    expect(onesSum([Buffer.alloc(70000, 0xff)])).to.equal(0xffff);
  });

  it('pseudo-headers: IPv4 {src, dst, 0, 112, len}, IPv6 RFC 8200 8.1', () => {
    const v4 = ipv4PseudoHeader(Buffer.from([192, 0, 2, 1]), Buffer.from([224, 0, 0, 18]), 112, 12);
    expect(v4.toString('hex')).to.equal('c0000201e0000012' + '0070' + '000c');
    const v6 = ipv6PseudoHeader(Buffer.alloc(16, 1), Buffer.alloc(16, 2), 112, 56);
    expect(v6.toString('hex')).to.equal('01'.repeat(16) + '02'.repeat(16) + '00000038' + '000000' + '70');
  });

  it('checksumModeFor: v2 and v3_checksum_as_v2 sum the message, v3 adds the pseudo-header, IPv6 always does', () => {
    expect(checksumModeFor(2, false)).to.equal('message');
    expect(checksumModeFor(2, true)).to.equal('message');
    expect(checksumModeFor(3, false)).to.equal('pseudo-header');
    expect(checksumModeFor(3, true)).to.equal('message');
    expect(checksumModeFor(3, true, 6)).to.equal('pseudo-header');
  });

  it('peekVrid reads byte 1 when present', () => {
    expect(peekVrid(Buffer.from([0x31, 7]))).to.equal(7);
    expect(peekVrid(Buffer.from([0x31]))).to.equal(undefined);
    expect(peekVrid(Buffer.alloc(0))).to.equal(undefined);
  });

  it('round-trips 3000 generated adverts (v2/v3, IPv4/IPv6, 0..255 addresses)', () => {
    const r = rng(1);
    for (let n = 0; n < 3000; n++) {
      const family: Family = r() < 0.5 ? 4 : 6;
      const version = family === 6 || r() < 0.5 ? 3 : 2;
      // Mostly small, sometimes the maximum the count byte allows.
      const count = n % 50 === 0 ? 255 : Math.floor(r() * 9);
      const addresses = Array.from({ length: count }, () => randomAddress(r, family));
      const input: EncodeInput = {
        version, vrid: 1 + Math.floor(r() * 255), priority: Math.floor(r() * 256), addresses,
        advertIntCs: version === 2 ? 100 * (1 + Math.floor(r() * 255)) : 1 + Math.floor(r() * 4095),
        ...(version === 2 && r() < 0.5 ? { authType: 1, authData: passAuthData('pw' + n) } : {}),
      };
      const src = randomAddress(r, family);
      const dst = family === 4 ? '224.0.0.18' : 'ff02::12';
      const mode = checksumModeFor(version, r() < 0.3, family);
      const bytes = encodeAdvert(input, family, { mode, src, dst });
      expect(bytes.length).to.equal(8 + count * (family === 4 ? 4 : 16) + (version === 2 ? 8 : 0));
      const d = decodeAdvert(bytes, family);
      if (!d.ok) throw new Error(`${d.reason}: ${d.detail}`);
      expect(d.advert).to.deep.include({ version, type: 1, vrid: input.vrid, priority: input.priority, advertIntCs: input.advertIntCs, authType: input.authType ?? 0 });
      expect(d.advert.addresses).to.deep.equal(addresses);
      expect(d.advert.authData.toString('hex')).to.equal(version === 2 ? (input.authData ?? Buffer.alloc(8)).toString('hex') : '');
      expect(checksumOk(bytes, family, mode, src, dst)).to.equal(true);
      expect(vrrpChecksum(bytes, family, mode, src, dst)).to.equal(d.advert.checksum);
      const v = checkAdvert(
        { family, payload: bytes, src, ...(family === 4 ? { dst, ttl: 255 } : {}) },
        {
          vrid: input.vrid, version, family, state: 'BACKUP', unicast: false, unicastPeers: [], checkUnicastSrc: false,
          advertIntCs: input.advertIntCs, vips: addresses, v3ChecksumAsV2: mode === 'message', checksumVerifiedByKernel: false,
          ...(input.authType === 1 ? { authPass: 'pw' + n } : {}),
        },
      );
      if (!v.ok) throw new Error(`${v.reason}: ${v.detail}`);
      expect(v.warnings).to.deep.equal([]);
    }
  });

  it('v3 ignores the 4 reserved bits on receive (RFC 5798 5.2.7)', () => {
    const bytes = encodeAdvert({ version: 3, vrid: 1, priority: 100, addresses: ['192.0.2.100'], advertIntCs: 100 }, 4, { mode: 'message' });
    bytes[4] = (bytes[4] ?? 0) | 0xf0;
    const d = decodeAdvert(bytes, 4);
    expect(d.ok && d.advert.advertIntCs).to.equal(100);
  });

  it('IPv6 pseudo-header without addresses leaves the checksum zero for the kernel (IPV6_CHECKSUM)', () => {
    const bytes = encodeAdvert({ version: 3, vrid: 1, priority: 100, addresses: ['2001:db8:1::100'], advertIntCs: 100 }, 6, { mode: 'pseudo-header' });
    expect(bytes.readUInt16BE(6)).to.equal(0);
  });

  it('decodeAdvert names structural faults: truncated, version, length', () => {
    const good = encodeAdvert({ version: 3, vrid: 1, priority: 100, addresses: ['192.0.2.100'], advertIntCs: 100 }, 4, { mode: 'message' });
    expect(decodeAdvert(good.subarray(0, 7), 4)).to.include({ ok: false, reason: 'truncated' });
    expect(decodeAdvert(Buffer.concat([good, Buffer.alloc(1)]), 4)).to.include({ ok: false, reason: 'length' });
    expect(decodeAdvert(good, 6)).to.include({ ok: false, reason: 'length' });
    const v4 = Buffer.from(good);
    v4[0] = 0x41;
    expect(decodeAdvert(v4, 4)).to.include({ ok: false, reason: 'version' });
    const v2 = encodeAdvert({ version: 2, vrid: 1, priority: 100, addresses: [], advertIntCs: 100 }, 4, { mode: 'message' });
    expect(decodeAdvert(v2, 6)).to.include({ ok: false, reason: 'version' });
  });

  describe('encodeAdvert refuses programmer errors with RangeError', () => {
    const ok: EncodeInput = { version: 3, vrid: 1, priority: 100, addresses: ['192.0.2.100'], advertIntCs: 100 };
    const cases: Array<[string, EncodeInput, Family, { mode: 'message' | 'pseudo-header'; src?: string; dst?: string }]> = [
      ['v2 over IPv6', { ...ok, version: 2, addresses: ['2001:db8::1'] }, 6, { mode: 'message' }],
      ['VRID 0', { ...ok, vrid: 0 }, 4, { mode: 'message' }],
      ['VRID 256', { ...ok, vrid: 256 }, 4, { mode: 'message' }],
      ['priority 256', { ...ok, priority: 256 }, 4, { mode: 'message' }],
      ['priority 1.5', { ...ok, priority: 1.5 }, 4, { mode: 'message' }],
      ['IPv6 address in an IPv4 advert', { ...ok, addresses: ['2001:db8::1'] }, 4, { mode: 'message' }],
      ['not an address', { ...ok, addresses: ['192.0.2.100/24'] }, 4, { mode: 'message' }],
      ['256 addresses', { ...ok, addresses: new Array<string>(256).fill('192.0.2.1') }, 4, { mode: 'message' }],
      ['v3 interval 0', { ...ok, advertIntCs: 0 }, 4, { mode: 'message' }],
      ['v3 interval 4096', { ...ok, advertIntCs: 4096 }, 4, { mode: 'message' }],
      ['v2 interval 150 cs', { ...ok, version: 2, advertIntCs: 150 }, 4, { mode: 'message' }],
      ['v2 interval 256 s', { ...ok, version: 2, advertIntCs: 25600 }, 4, { mode: 'message' }],
      ['v2 auth data 9 bytes', { ...ok, version: 2, authType: 1, authData: Buffer.alloc(9) }, 4, { mode: 'message' }],
      ['v3 with auth', { ...ok, authType: 1 }, 4, { mode: 'message' }],
      ['type 16', { ...ok, type: 16 }, 4, { mode: 'message' }],
      ['IPv4 pseudo-header without dst', ok, 4, { mode: 'pseudo-header', src: '192.0.2.1' }],
      ['IPv4 pseudo-header with IPv6 src', ok, 4, { mode: 'pseudo-header', src: '2001:db8::1', dst: '224.0.0.18' }],
    ];
    for (const [what, input, family, sum] of cases) {
      it(what, () => expect(() => encodeAdvert(input, family, sum)).to.throw(RangeError));
    }
  });
});
