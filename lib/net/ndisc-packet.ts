// ICMPv6 neighbour advertisement (RFC 4861 4.4), the IPv6 counterpart of a
// gratuitous ARP: a new MASTER sends one per IPv6 VIP to ff02::1 with the
// Override flag so neighbours replace their cache entry at once (RFC 4861 7.2.6).
// Pure; the checksum is left zero because the kernel fills it for
// IPPROTO_ICMPV6 raw sockets (RFC 3542 3.1).
import { formatIp, parseIp } from './ip-address.js';

export const ICMPV6_NEIGHBOUR_ADVERT = 136;
export const ND_OPT_TARGET_LINKADDR = 2;
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;
const NA_HEADER_LEN = 24; // type, code, checksum, flags+reserved, target

export interface NeighbourAdvert {
  target: string;
  override: boolean;
  solicited: boolean;
  router: boolean;
  mac?: string; // from the target link-layer address option, when present
}

export function parseMac(text: string): Buffer | null {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text)) return null;
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

// Unsolicited: Solicited clear (RFC 4861 7.2.6), Router clear (a VIP is not
// a router advertisement), Override set, target link-layer option (type 2).
export function encodeUnsolicitedNa(target: string, mac: string): Buffer {
  const t = parseIp(target);
  if (t === null || t.family !== 6) throw new RangeError(`NA target ${target} is not an IPv6 address`);
  const m = parseMac(mac);
  if (m === null) throw new RangeError(`${mac} is not a MAC address like aa:bb:cc:dd:ee:ff`);
  const out = Buffer.alloc(NA_HEADER_LEN + 8);
  out[0] = ICMPV6_NEIGHBOUR_ADVERT;
  out[4] = NA_FLAG_OVERRIDE;
  out.set(t.bytes, 8);
  out[24] = ND_OPT_TARGET_LINKADDR;
  out[25] = 1; // option length in units of 8 bytes
  out.set(m, 26);
  return out;
}

// For tests and captures: the NA's fields, or null if it is not a well-formed NA.
export function decodeNeighbourAdvert(buf: Buffer): NeighbourAdvert | null {
  if (buf.length < NA_HEADER_LEN || buf[0] !== ICMPV6_NEIGHBOUR_ADVERT || buf[1] !== 0) return null;
  const flags = buf[4] ?? 0;
  const na: NeighbourAdvert = {
    target: formatIp(buf.subarray(8, 24)),
    override: (flags & NA_FLAG_OVERRIDE) !== 0,
    solicited: (flags & NA_FLAG_SOLICITED) !== 0,
    router: (flags & NA_FLAG_ROUTER) !== 0,
  };
  // RFC 4861 4.6: options are type, length in 8-byte units; length 0 is invalid.
  for (let at = NA_HEADER_LEN; at < buf.length; ) {
    if (at + 2 > buf.length) return null;
    const len = (buf[at + 1] ?? 0) * 8;
    if (len === 0 || at + len > buf.length) return null;
    if (buf[at] === ND_OPT_TARGET_LINKADDR && len >= 8 && na.mac === undefined) na.mac = formatMac(buf.subarray(at + 2, at + 8));
    at += len;
  }
  return na;
}
