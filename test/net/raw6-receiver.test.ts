// The IPv6 receive addon (lib/net/native/recv6.c) against the real kernel on
// loopback: the hop limit and destination come with each packet, the kernel's
// checksum check holds, a close from inside a callback is safe, bad arguments
// are errors that say what is allowed.
import { expect } from 'chai';
import { IPPROTO_IPV6, IPV6_HDRINCL, RawSocket } from '../../lib/net/raw.js';
import { Raw6Receiver, type Raw6Packet } from '../../lib/net/raw6-receiver.js';
import { encodeIpv6 } from '../../lib/vrrp/packet/ipv6.js';
import { internetChecksum, pseudoHeaderFor } from '../../lib/vrrp/packet/checksum.js';
import { skipOutsideCi, sleep, waitFor } from '../helpers/env.js';

// A protocol number nothing else on this machine uses, so parallel runs see no foreign packets.
const PROTO = 253; // RFC 3692 experimental

describe('net/raw6-receiver (recvmsg with IPV6_HOPLIMIT and IPV6_PKTINFO, on lo)', function () {
  this.timeout(10_000);
  const open: { close(): void }[] = [];
  before(function () {
    if (process.getuid?.() !== 0) skipOutsideCi(this, 'raw sockets need root');
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  function sender(): RawSocket {
    const s = new RawSocket({ family: 6, protocol: PROTO, device: 'lo', sendOnly: true }, () => {}, (e) => {
      throw e;
    });
    s.setInt(IPPROTO_IPV6, IPV6_HDRINCL, 1);
    open.push(s);
    return s;
  }

  function receiver(checksumOffset: number | null, onPacket: (p: Raw6Packet, rx: Raw6Receiver) => void): Raw6Receiver {
    const rx = new Raw6Receiver(PROTO, 'lo', checksumOffset);
    rx.start((p) => onPacket(p, rx), (e) => {
      throw e;
    });
    open.push(rx);
    return rx;
  }

  it('shows each packet\'s hop limit, destination and source, with the payload as sent', async () => {
    const got: Raw6Packet[] = [];
    receiver(null, (p) => got.push(p));
    const s = sender();
    const payload = Buffer.from('hello, hop limit');
    for (const hopLimit of [1, 64, 255]) await s.send(encodeIpv6(payload, { src: '::1', dst: '::1', hopLimit, nextHeader: PROTO }), '::1');
    await waitFor('three packets', async () => got.length === 3, 3000);
    expect(got.map((p) => p.hopLimit)).to.deep.equal([1, 64, 255]);
    expect(got.map((p) => [p.src, p.dst])).to.deep.equal([['::1', '::1'], ['::1', '::1'], ['::1', '::1']]);
    expect(got.every((p) => p.payload.equals(payload))).to.equal(true);
  });

  it('with a checksum offset, the kernel drops a bad checksum and passes a good one', async () => {
    const got: Raw6Packet[] = [];
    receiver(6, (p) => got.push(p));
    const s = sender();
    // Eight bytes with the checksum at offset 6, summed over the RFC 8200 8.1 pseudo-header with this protocol.
    const ok = Buffer.from('0102030405060000', 'hex');
    ok.writeUInt16BE(internetChecksum([pseudoHeaderFor(6, '::1', '::1', PROTO, ok.length)!, ok]), 6);
    const bad = Buffer.from(ok);
    bad[6]! ^= 0xff;
    await s.send(encodeIpv6(bad, { src: '::1', dst: '::1', hopLimit: 255, nextHeader: PROTO }), '::1');
    await s.send(encodeIpv6(ok, { src: '::1', dst: '::1', hopLimit: 255, nextHeader: PROTO }), '::1');
    await waitFor('the good packet', async () => got.length >= 1, 3000);
    await sleep(100);
    expect(got.map((p) => p.payload.toString('hex'))).to.deep.equal([ok.toString('hex')]);
  });

  it('a close from inside the packet callback stops delivery at once and is safe', async () => {
    const got: Raw6Packet[] = [];
    receiver(null, (p, rx) => {
      got.push(p);
      rx.close();
    });
    const s = sender();
    // Queued before the receiver runs its loop turn: several are waiting when the first is delivered.
    for (let i = 0; i < 5; i++) await s.send(encodeIpv6(Buffer.from([i]), { src: '::1', dst: '::1', hopLimit: 255, nextHeader: PROTO }), '::1');
    await waitFor('one packet', async () => got.length === 1, 3000);
    await sleep(100);
    expect(got.length).to.equal(1);
  });

  it('refuses what it cannot use, saying what is allowed', () => {
    expect(() => new Raw6Receiver(PROTO, 'an-interface-name-too-long', null)).to.throw(/interface name of 1\.\.15 characters/);
    expect(() => new Raw6Receiver(PROTO, 'nosuchdev0', null)).to.throw(/setsockopt on the IPv6 raw socket: No such device/);
  });
});
