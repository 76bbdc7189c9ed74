// RFC 1071 Internet checksum and the pseudo-headers VRRP sums over. Pure.
import { parseIp } from '../../net/ip-address.js';

// One's-complement sum of 16-bit big-endian words, folded to 16 bits. An odd
// trailing byte is padded with zero (RFC 1071 4.1). Parts are summed as if
// concatenated, so only the last part may have odd length.
export function onesSum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  for (const part of parts) {
    const n = part.length;
    for (let i = 0; i + 1 < n; i += 2) sum += ((part[i] ?? 0) << 8) | (part[i + 1] ?? 0);
    if (n % 2 === 1) sum += (part[n - 1] ?? 0) << 8;
    // Fold often enough that the JS number never loses precision.
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

// The value to put in a checksum field that was zero while summing.
export function internetChecksum(parts: readonly Uint8Array[]): number {
  return ~onesSum(parts) & 0xffff;
}

// RFC 768-style IPv4 pseudo-header {src, dst, 0, protocol, length}, which
// keepalived puts in front of a VRRPv3 message by default (RFC 5798 5.2.8).
export function ipv4PseudoHeader(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): Buffer {
  const b = Buffer.alloc(12);
  b.set(src, 0);
  b.set(dst, 4);
  b[9] = protocol & 0xff;
  b.writeUInt16BE(length & 0xffff, 10);
  return b;
}

// RFC 8200 8.1 pseudo-header: src, dst, 32-bit length, 3 zero bytes, next header.
export function ipv6PseudoHeader(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): Buffer {
  const b = Buffer.alloc(40);
  b.set(src, 0);
  b.set(dst, 16);
  b.writeUInt32BE(length >>> 0, 32);
  b[39] = nextHeader & 0xff;
  return b;
}

// The pseudo-header for addresses given as text, or null when either address
// is missing or not of the family (callers that must not throw check for null).
export function pseudoHeaderFor(family: 4 | 6, src: string | undefined, dst: string | undefined, protocol: number, length: number): Buffer | null {
  const s = src === undefined ? null : parseIp(src);
  const d = dst === undefined ? null : parseIp(dst);
  if (s === null || d === null || s.family !== family || d.family !== family) return null;
  return family === 4 ? ipv4PseudoHeader(s.bytes, d.bytes, protocol, length) : ipv6PseudoHeader(s.bytes, d.bytes, protocol, length);
}
