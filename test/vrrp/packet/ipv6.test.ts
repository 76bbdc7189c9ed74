import { expect } from 'chai';
import { encodeIpv6 } from '../../../lib/vrrp/packet/ipv6.js';

describe('vrrp/packet/ipv6 encodeIpv6', () => {
  it('writes the RFC 8200 fixed header in front of the payload', () => {
    const p = Buffer.from('31349601000a1234', 'hex');
    const out = encodeIpv6(p, { src: 'fe80::1', dst: 'ff02::12', hopLimit: 255, nextHeader: 112 });
    expect(out.subarray(0, 8).toString('hex')).to.equal('6c0000000008' + '70' + 'ff');
    expect(out.subarray(8, 24).toString('hex')).to.equal('fe800000000000000000000000000001');
    expect(out.subarray(24, 40).toString('hex')).to.equal('ff020000000000000000000000000012');
    expect(out.subarray(40).equals(p)).to.equal(true);
  });
  it('refuses what is not IPv6 or out of range (programmer errors)', () => {
    expect(() => encodeIpv6(Buffer.alloc(0), { src: '192.0.2.1', dst: 'ff02::12', hopLimit: 255, nextHeader: 112 })).to.throw(RangeError);
    expect(() => encodeIpv6(Buffer.alloc(0), { src: 'fe80::1', dst: 'ff02::12', hopLimit: 256, nextHeader: 112 })).to.throw(RangeError);
  });
});
