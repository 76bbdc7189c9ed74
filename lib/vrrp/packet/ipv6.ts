// The fixed IPv6 header (RFC 8200 3) for adverts sent with IPV6_HDRINCL, so
// the source is exactly the configured one: the kernel would otherwise pick
// a VIP as source once it is on the interface.
import { parseIp } from '../../net/ip-address.js';

export const IPV6_HEADER = 40;
// Traffic class "network control" (CS6), as keepalived marks IPv4 with TOS 0xc0.
export const IPV6_TCLASS_NETWORK_CONTROL = 0xc0;

function ipv6Bytes(text: string, what: string): Buffer {
  const p = parseIp(text);
  if (p === null || p.family !== 6) throw new RangeError(`${what} ${text} is not an IPv6 address`);
  return p.bytes;
}

export function encodeIpv6(
  payload: Buffer,
  h: { src: string; dst: string; hopLimit: number; nextHeader: number; trafficClass?: number },
): Buffer {
  const tclass = h.trafficClass ?? IPV6_TCLASS_NETWORK_CONTROL;
  for (const [name, v] of [['hop limit', h.hopLimit], ['next header', h.nextHeader], ['traffic class', tclass]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`IPv6 ${name} must be 0..255, not ${v}`);
  }
  if (payload.length > 0xffff) throw new RangeError(`IPv6 payload of ${payload.length} bytes exceeds 65535`);
  const out = Buffer.alloc(IPV6_HEADER + payload.length);
  // version 6, traffic class, flow label 0
  out.writeUInt32BE(((6 << 28) | (tclass << 20)) >>> 0, 0);
  out.writeUInt16BE(payload.length, 4);
  out[6] = h.nextHeader;
  out[7] = h.hopLimit;
  out.set(ipv6Bytes(h.src, 'src'), 8);
  out.set(ipv6Bytes(h.dst, 'dst'), 24);
  payload.copy(out, IPV6_HEADER);
  return out;
}
