import { expect } from 'chai';
import { canonicalIp, compareIp, formatIp, isLinkLocalV6, parseIp } from '../../lib/net/ip-address.js';

describe('net/ip-address', () => {
  it('parses IPv4 and IPv6 into network-order bytes', () => {
    expect(parseIp('192.0.2.100')?.bytes.toString('hex')).to.equal('c0000264');
    expect(parseIp('2001:db8:1::100')?.bytes.toString('hex')).to.equal('20010db8000100000000000000000100');
    expect(parseIp('::ffff:192.0.2.1')?.bytes.toString('hex')).to.equal('00000000000000000000ffffc0000201');
    expect(parseIp('::')?.bytes.toString('hex')).to.equal('0'.repeat(32));
  });
  it('refuses what is not an address', () => {
    for (const bad of ['', '192.0.2', '256.1.1.1', 'fe80::1%eth0', 'x', '1::2::3', '192.0.2.1/24']) {
      expect(parseIp(bad), bad).to.equal(null);
    }
  });
  it('formats RFC 5952 canonical text and round-trips', () => {
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).to.equal('2001:db8::1');
    expect(canonicalIp('2001:db8:0:1:0:0:0:1')).to.equal('2001:db8:0:1::1');
    expect(canonicalIp('2001:db8:0:1:1:1:1:1')).to.equal('2001:db8:0:1:1:1:1:1');
    expect(canonicalIp('fe80:0:0:0:0:0:0:0')).to.equal('fe80::');
    for (let i = 0; i < 500; i++) {
      const b = Buffer.alloc(16);
      for (let j = 0; j < 16; j++) b[j] = Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 256);
      expect(parseIp(formatIp(b))?.bytes.equals(b)).to.equal(true);
    }
  });
  it('compares as unsigned integers (RFC 5798 6.4.3 tie-break)', () => {
    expect(compareIp('192.0.2.12', '192.0.2.11')).to.be.greaterThan(0);
    expect(compareIp('10.0.0.1', '192.0.2.1')).to.be.lessThan(0);
    expect(compareIp('200.0.0.1', '100.0.0.1')).to.be.greaterThan(0);
    expect(compareIp('fe80::2', 'fe80::2')).to.equal(0);
    expect(() => compareIp('192.0.2.1', 'fe80::1')).to.throw(RangeError);
  });
  it('recognizes IPv6 link-local addresses', () => {
    expect(isLinkLocalV6('fe80::1')).to.equal(true);
    expect(isLinkLocalV6('febf::1')).to.equal(true);
    expect(isLinkLocalV6('fec0::1')).to.equal(false);
    expect(isLinkLocalV6('192.0.2.1')).to.equal(false);
  });
});
