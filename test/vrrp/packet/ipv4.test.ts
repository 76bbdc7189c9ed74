// IPv4 header codec for the IP_HDRINCL raw socket.
import { expect } from 'chai';
import { onesSum } from '../../../lib/vrrp/packet/checksum.js';
import { decodeIpv4, encodeIpv4 } from '../../../lib/vrrp/packet/ipv4.js';

const H = { src: '192.0.2.1', dst: '224.0.0.18', ttl: 255, protocol: 112 };

function fixSum(b: Buffer, ihl = 20): Buffer {
  b.writeUInt16BE(0, 10);
  b.writeUInt16BE(~onesSum([b.subarray(0, ihl)]) & 0xffff, 10);
  return b;
}

describe('vrrp/packet IPv4 header', () => {
  it('encodes the exact header keepalived sends (TOS 0xc0, no DF, checksum)', () => {
    const payload = Buffer.from('313f000100646966c0000264', 'hex');
    const bytes = encodeIpv4(payload, { ...H, id: 3 });
    // From test/fixtures/vrrp/v3-ipv4-priority0.hex.
    expect(bytes.toString('hex')).to.equal('45c0002000030000ff701897c0000201e0000012313f000100646966c0000264');
  });

  it('round-trips header fields and payload', () => {
    const payload = Buffer.from('hello vrrp');
    const d = decodeIpv4(encodeIpv4(payload, { ...H, ttl: 64, protocol: 51, id: 0xbeef }));
    if (!d.ok) throw new Error(d.reason);
    expect(d.header).to.deep.equal({ src: '192.0.2.1', dst: '224.0.0.18', ttl: 64, protocol: 51, totalLength: 30, headerLength: 20 });
    expect(d.payload.toString()).to.equal('hello vrrp');
  });

  it('skips IP options (IHL > 5) to find the payload', () => {
    const base = encodeIpv4(Buffer.from('abcd'), H);
    const withOpt = Buffer.concat([base.subarray(0, 20), Buffer.from([1, 1, 1, 0]), base.subarray(20)]);
    withOpt[0] = 0x46;
    withOpt.writeUInt16BE(28, 2);
    const d = decodeIpv4(fixSum(withOpt, 24));
    if (!d.ok) throw new Error(d.reason);
    expect(d.header.headerLength).to.equal(24);
    expect(d.payload.toString()).to.equal('abcd');
  });

  it('keeps total length as sent and gives every byte after the header (check.ts compares them)', () => {
    const b = encodeIpv4(Buffer.from('abcd'), H);
    b.writeUInt16BE(100, 2);
    const d = decodeIpv4(fixSum(b));
    expect(d.ok && d.header.totalLength).to.equal(100);
    expect(d.ok && d.payload.length).to.equal(4);
  });

  it('names what is wrong: truncated, version, IHL, header checksum, fragment', () => {
    const good = encodeIpv4(Buffer.from('abcd'), H);
    expect(decodeIpv4(good.subarray(0, 19))).to.include({ ok: false, reason: 'truncated' });
    const v6 = Buffer.from(good);
    v6[0] = 0x65;
    expect(decodeIpv4(fixSum(v6))).to.include({ ok: false, reason: 'ip-header' });
    const ihl4 = Buffer.from(good);
    ihl4[0] = 0x44;
    expect(decodeIpv4(fixSum(ihl4))).to.include({ ok: false, reason: 'ip-header' });
    const ihl15 = Buffer.from(good);
    ihl15[0] = 0x4f;
    expect(decodeIpv4(ihl15)).to.include({ ok: false, reason: 'truncated' });
    const sum = Buffer.from(good);
    sum[8] = 254;
    expect(decodeIpv4(sum)).to.include({ ok: false, reason: 'ip-header' });
    const mf = Buffer.from(good);
    mf[6] = 0x20;
    expect(decodeIpv4(fixSum(mf))).to.include({ ok: false, reason: 'ip-header' });
    const df = Buffer.from(good);
    df[6] = 0x40; // DF alone is fine
    expect(decodeIpv4(fixSum(df)).ok).to.equal(true);
  });

  it('refuses bad header input with RangeError', () => {
    const p = Buffer.alloc(4);
    expect(() => encodeIpv4(p, { ...H, src: '2001:db8::1' })).to.throw(RangeError);
    expect(() => encodeIpv4(p, { ...H, dst: 'x' })).to.throw(RangeError);
    expect(() => encodeIpv4(p, { ...H, ttl: 256 })).to.throw(RangeError);
    expect(() => encodeIpv4(p, { ...H, id: 65536 })).to.throw(RangeError);
    expect(() => encodeIpv4(Buffer.alloc(65516), H)).to.throw(RangeError);
  });
});
