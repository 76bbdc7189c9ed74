// Raw IP protocol 112 on one interface and one address family: sends adverts
// and hands every received one, with what the IP layer showed of it, to the
// engine. Both families build their own IP header (IP_HDRINCL,
// IPV6_HDRINCL) so the source address is exactly the configured one, never a
// VIP the kernel might prefer. IPv6 receives on a socket of its own
// (raw6-receiver.ts, recvmsg) that shows the hop limit and the destination,
// which the IPv6 header would carry (RFC 5798 7.1), and lets the
// kernel verify the RFC 5798 5.2.8 checksum (IPV6_CHECKSUM).
import { RawSocket, IPPROTO_IP, IPPROTO_IPV6, IP_HDRINCL, IP_ADD_MEMBERSHIP, IP_MULTICAST_IF, IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL, IPV6_ADD_MEMBERSHIP, IPV6_HDRINCL, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP, IPV6_UNICAST_HOPS, SOL_SOCKET, SO_RCVBUF } from '../../net/raw.js';
import { Raw6Receiver } from '../../net/raw6-receiver.js';
import type { IpFamily } from '../../net/ip-address.js';
import { IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6 } from '../packet/advert.js';
import { decodeIpv4, encodeIpv4 } from '../packet/ipv4.js';
import { encodeIpv6 } from '../packet/ipv6.js';
import type { Received } from '../packet/check.js';
import type { DropReason } from '../packet/reasons.js';

export interface VrrpSocketOptions {
  device: string;
  ifindex: number;
  family: IpFamily;
  multicast: boolean; // join the VRRP group (some instance on this link is multicast)
}

// Where the VRRP checksum sits in the message (RFC 5798 5.2.8).
const VRRP_CHECKSUM_OFFSET = 6;

export interface VrrpSocketEvents {
  onPacket(rx: Received): void;
  onDrop(reason: DropReason, detail: string): void; // undecodable below VRRP: no instance to charge
  onError(err: Error, fatal: boolean): void; // fatal: the socket is closed, nothing is sent or received any more
}

export class VrrpSocket {
  private readonly raw: RawSocket;
  private readonly receiver6: Raw6Receiver | null = null;
  private ipId = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(readonly options: VrrpSocketOptions, events: VrrpSocketEvents) {
    const { device, ifindex, family } = options;
    this.raw = new RawSocket({ family, protocol: IPPROTO_VRRP, device, sendOnly: family === 6 }, (buf) => {
      const ip = decodeIpv4(buf);
      if (!ip.ok) {
        events.onDrop(ip.reason, ip.detail);
        return;
      }
      events.onPacket({
        family: 4,
        payload: ip.payload,
        src: ip.header.src,
        dst: ip.header.dst,
        ttl: ip.header.ttl,
        ipTotalLength: ip.header.totalLength,
        receivedLength: buf.length,
      });
    }, events.onError);

    if (family === 4) {
      this.raw.setInt(IPPROTO_IP, IP_HDRINCL, 1);
      this.raw.setBuffer(IPPROTO_IP, IP_MULTICAST_IF, RawSocket.ipMreqn('0.0.0.0', ifindex));
      this.raw.setInt(IPPROTO_IP, IP_MULTICAST_TTL, 255);
      this.raw.setInt(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
      if (options.multicast) this.raw.setBuffer(IPPROTO_IP, IP_ADD_MEMBERSHIP, RawSocket.ipMreqn(VRRP_MCAST_V4, ifindex));
    } else {
      // Send only: the smallest buffer for the copies of received packets the kernel still queues on it.
      this.raw.setInt(SOL_SOCKET, SO_RCVBUF, 1);
      this.raw.setInt(IPPROTO_IPV6, IPV6_HDRINCL, 1);
      this.raw.setInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex);
      // RFC 5798 5.1.2.3: hop limit 255 on send.
      this.raw.setInt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
      this.raw.setInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
      this.raw.setInt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
      try {
        const rx = new Raw6Receiver(IPPROTO_VRRP, device, VRRP_CHECKSUM_OFFSET);
        this.receiver6 = rx;
        if (options.multicast) rx.setBuffer(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, RawSocket.ipv6Mreq(VRRP_MCAST_V6, ifindex));
        // The hop limit and destination go to check.ts, which applies RFC 5798 7.1 and the unicast / multicast rules.
        rx.start((p) => events.onPacket({ family: 6, payload: p.payload, src: p.src, dst: p.dst, ttl: p.hopLimit }), events.onError);
      } catch (err) {
        this.raw.close();
        this.receiver6?.close();
        throw err;
      }
    }
  }

  // `payload` is the VRRP message with its checksum computed for `src` and `dst`.
  send(payload: Buffer, src: string, dst: string): Promise<void> {
    const p = this.sendNow(payload, src, dst);
    this.pending.add(p);
    const done = (): void => void this.pending.delete(p);
    p.then(done, done);
    return p;
  }

  // Resolves once every send started so far has left (used before closing at shutdown).
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async sendNow(payload: Buffer, src: string, dst: string): Promise<void> {
    if (this.options.family === 4) {
      this.ipId = (this.ipId + 1) & 0xffff;
      // RFC 5798 5.1.1.3: TTL 255.
      await this.raw.send(encodeIpv4(payload, { src, dst, ttl: 255, protocol: IPPROTO_VRRP, id: this.ipId }), dst);
      return;
    }
    // RFC 5798 5.1.2.3: hop limit 255.
    const packet = encodeIpv6(payload, { src, dst, hopLimit: 255, nextHeader: IPPROTO_VRRP });
    const scoped = dst.toLowerCase().startsWith('fe80:') ? `${dst}%${this.options.device}` : dst;
    await this.raw.send(packet, scoped);
  }

  close(): void {
    this.raw.close();
    this.receiver6?.close();
  }
}

export function groupAddress(family: IpFamily): string {
  return family === 4 ? VRRP_MCAST_V4 : VRRP_MCAST_V6;
}
