// IPv4 header codec (RFC 791 3.1) for the VRRP raw socket: on receive the
// kernel hands us the IP header, and we send with IP_HDRINCL so TTL 255 and
// the source address are ours to set (RFC 5798 5.1.1).
import { formatIp, parseIp } from '../../net/ip-address.js';
import { internetChecksum, onesSum } from './checksum.js';
import type { DropReason } from './reasons.js';

export interface Ipv4Header {
  src: string;
  dst: string;
  ttl: number;
  protocol: number;
  totalLength: number;
  headerLength: number;
}

export type Ipv4DecodeResult = { ok: true; header: Ipv4Header; payload: Buffer } | { ok: false; reason: DropReason; detail: string };

export const IPV4_MIN_HEADER = 20;
// "Internetwork control" precedence, as keepalived and most routers send VRRP.
export const IPV4_TOS_NETWORK_CONTROL = 0xc0;

// The payload is everything after the header, whatever the total length says:
// keepalived compares total length with what arrived later, in its own place
// in the check order (check.ts 'ip-length'), and so do we.
export function decodeIpv4(buf: Buffer): Ipv4DecodeResult {
  if (buf.length < IPV4_MIN_HEADER) return { ok: false, reason: 'truncated', detail: `${buf.length} bytes, an IPv4 header has 20` };
  const b0 = buf[0] ?? 0;
  if (b0 >> 4 !== 4) return { ok: false, reason: 'ip-header', detail: `IP version ${b0 >> 4}` };
  const headerLength = (b0 & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER) return { ok: false, reason: 'ip-header', detail: `IHL ${headerLength / 4} words` };
  if (buf.length < headerLength) return { ok: false, reason: 'truncated', detail: `${buf.length} bytes, header claims ${headerLength}` };
  // RFC 791: a header whose checksum fails is discarded (the kernel already
  // did this; checking again keeps the decoder honest on any input).
  if (onesSum([buf.subarray(0, headerLength)]) !== 0xffff) return { ok: false, reason: 'ip-header', detail: 'IPv4 header checksum' };
  const frag = buf.readUInt16BE(6);
  // More-fragments or an offset: raw sockets get reassembled datagrams only.
  if ((frag & 0x3fff) !== 0) return { ok: false, reason: 'ip-header', detail: 'IPv4 fragment' };
  return {
    ok: true,
    header: {
      src: formatIp(buf.subarray(12, 16)),
      dst: formatIp(buf.subarray(16, 20)),
      ttl: buf[8] ?? 0,
      protocol: buf[9] ?? 0,
      totalLength: buf.readUInt16BE(2),
      headerLength,
    },
    payload: buf.subarray(headerLength),
  };
}

function ipv4Bytes(text: string, what: string): Buffer {
  const p = parseIp(text);
  if (p === null || p.family !== 4) throw new RangeError(`${what} ${text} is not an IPv4 address`);
  return p.bytes;
}

// A 20-byte header (no options) followed by the payload, header checksum set.
export function encodeIpv4(
  payload: Buffer,
  h: { src: string; dst: string; ttl: number; protocol: number; id?: number; tos?: number },
): Buffer {
  const id = h.id ?? 0;
  const tos = h.tos ?? IPV4_TOS_NETWORK_CONTROL;
  const total = IPV4_MIN_HEADER + payload.length;
  for (const [name, v, max] of [['ttl', h.ttl, 255], ['protocol', h.protocol, 255], ['id', id, 0xffff], ['tos', tos, 255]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`IPv4 ${name} must be 0..${max}, not ${v}`);
  }
  if (total > 0xffff) throw new RangeError(`IPv4 datagram of ${total} bytes exceeds 65535`);
  const out = Buffer.alloc(total);
  out[0] = 0x45;
  out[1] = tos;
  out.writeUInt16BE(total, 2);
  out.writeUInt16BE(id, 4);
  out[8] = h.ttl;
  out[9] = h.protocol;
  out.set(ipv4Bytes(h.src, 'src'), 12);
  out.set(ipv4Bytes(h.dst, 'dst'), 16);
  out.writeUInt16BE(internetChecksum([out.subarray(0, IPV4_MIN_HEADER)]), 10);
  payload.copy(out, IPV4_MIN_HEADER);
  return out;
}
