// Unsolicited neighbour advertisement (RFC 4861 4.4), checked against the
// ones keepalived sent for its IPv6 VIPs (test/fixtures/vrrp/ndisc-unsolicited-na.hex).
import { expect } from 'chai';
import { parseIp } from '../../lib/net/ip-address.js';
import { decodeNeighbourAdvert, encodeUnsolicitedNa } from '../../lib/net/ndisc-packet.js';
import { internetChecksum, ipv6PseudoHeader } from '../../lib/vrrp/packet/checksum.js';
import { loadFixture } from '../vrrp/packet/fixtures.test.js';

const MAC = '02:00:5e:10:00:0a'; // the capturing namespace's interface

describe('net/ndisc-packet', () => {
  it('exact bytes for a known input', () => {
    const na = encodeUnsolicitedNa('2001:db8:1::100', 'AA:bb:cc:dd:ee:FF');
    expect(na.toString('hex')).to.equal(
      '88' + '00' + '0000' + '20000000' + '20010db8000100000000000000000100' + '02' + '01' + 'aabbccddeeff',
    );
  });

  it("matches keepalived's NAs byte for byte once the kernel's checksum is added", () => {
    const pkts = loadFixture('ndisc-unsolicited-na');
    expect(pkts.length).to.be.greaterThan(0);
    for (const p of pkts) {
      expect(p.nextHeader).to.equal(58);
      expect(p.ttl).to.equal(255); // RFC 4861 7.1.2: hop limit 255
      expect(p.dst).to.equal('ff02::1');
      const d = decodeNeighbourAdvert(p.payload);
      expect(d).to.deep.equal({ target: p.src, override: true, solicited: false, router: false, mac: MAC });
      const ours = encodeUnsolicitedNa(p.src, MAC);
      expect(ours.readUInt16BE(2)).to.equal(0); // left for the kernel
      const src = parseIp(p.src)?.bytes ?? Buffer.alloc(16);
      const dst = parseIp(p.dst)?.bytes ?? Buffer.alloc(16);
      ours.writeUInt16BE(internetChecksum([ipv6PseudoHeader(src, dst, 58, ours.length), ours]), 2);
      expect(ours.toString('hex')).to.equal(p.payload.toString('hex'));
    }
  });

  it('round-trips target, flags and MAC', () => {
    for (const [target, mac] of [['fe80::52', '00:00:5e:00:02:34'], ['2001:db8:1::100', 'ff:ff:ff:ff:ff:fe'], ['::', '00:00:00:00:00:00']] as const) {
      expect(decodeNeighbourAdvert(encodeUnsolicitedNa(target, mac))).to.deep.equal({ target, override: true, solicited: false, router: false, mac });
    }
  });

  it('decodes the R and S flags and an NA without options', () => {
    const na = encodeUnsolicitedNa('2001:db8:1::100', MAC).subarray(0, 24);
    na[4] = 0xe0;
    expect(decodeNeighbourAdvert(Buffer.from(na))).to.deep.equal({ target: '2001:db8:1::100', override: true, solicited: true, router: true });
  });

  it('returns null for what is not a well-formed NA', () => {
    const good = encodeUnsolicitedNa('2001:db8:1::100', MAC);
    expect(decodeNeighbourAdvert(good.subarray(0, 23))).to.equal(null);
    const ns = Buffer.from(good);
    ns[0] = 135;
    expect(decodeNeighbourAdvert(ns)).to.equal(null);
    const code = Buffer.from(good);
    code[1] = 1;
    expect(decodeNeighbourAdvert(code)).to.equal(null);
    const zeroLen = Buffer.from(good);
    zeroLen[25] = 0; // RFC 4861 4.6: an option of length 0 is invalid
    expect(decodeNeighbourAdvert(zeroLen)).to.equal(null);
    const overrun = Buffer.from(good);
    overrun[25] = 2;
    expect(decodeNeighbourAdvert(overrun)).to.equal(null);
    expect(decodeNeighbourAdvert(good.subarray(0, 25))).to.equal(null);
  });

  it('refuses a non-IPv6 target or a malformed MAC with RangeError', () => {
    expect(() => encodeUnsolicitedNa('192.0.2.100', MAC)).to.throw(RangeError);
    expect(() => encodeUnsolicitedNa('2001:db8::1', '02:00:5e:10:00')).to.throw(RangeError);
    expect(() => encodeUnsolicitedNa('2001:db8::1', '02-00-5e-10-00-0a')).to.throw(RangeError);
  });
});
