// Receive validation of one advert for one instance, in keepalived's order
// (shared/reference/vrrp.md "What a receiver checks"), so a packet with two
// faults is reported and counted under the same name keepalived would use.
// Pure: the socket driver supplies what the kernel told it. Never throws.
import { timingSafeEqual } from 'node:crypto';
import { canonicalIp, parseIp } from '../../net/ip-address.js';
import {
  type Advert,
  type Family,
  V2_AUTH_AH,
  V2_AUTH_NONE,
  V2_AUTH_PASS,
  VRRP_AUTH_LEN,
  VRRP_HEADER_LEN,
  VRRP_MCAST_V4,
  VRRP_MCAST_V6,
  VRRP_TYPE_ADVERT,
  checksumModeFor,
  checksumOk,
  decodeAdvert,
  expectedLength,
  passAuthData,
} from './advert.js';
import type { DropReason, Warning } from './reasons.js';

export type InstanceState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export interface Received {
  family: Family;
  payload: Buffer; // the VRRP message (after the IPv4 header)
  src: string;
  dst?: string; // IPv4 header, or IPv6 IPV6_PKTINFO (absent only if the kernel gave none)
  ttl?: number; // IPv4 TTL or IPv6 hop limit (IPV6_HOPLIMIT)
  ipTotalLength?: number; // IPv4 header total length field
  receivedLength?: number; // bytes received including the IPv4 header
}

export interface CheckContext {
  vrid: number;
  version: 2 | 3;
  family: Family;
  state: InstanceState;
  unicast: boolean;
  unicastPeers: string[];
  checkUnicastSrc: boolean;
  authPass?: string; // v2 PASS authentication when configured
  advertIntCs: number;
  vips: string[];
  v3ChecksumAsV2: boolean;
  checksumVerifiedByKernel: boolean; // IPv6: IPV6_CHECKSUM
  ownAddress?: string; // this instance's source address
}

export type Verdict = { ok: true; advert: Advert; warnings: Warning[] } | { ok: false; reason: DropReason; detail: string };

const VRRP_TTL = 255;

function drop(reason: DropReason, detail: string): Verdict {
  return { ok: false, reason, detail };
}

function isMulticast(addr: string): boolean {
  const p = parseIp(addr);
  if (p === null) return false;
  const b0 = p.bytes[0] ?? 0;
  return p.family === 4 ? (b0 & 0xf0) === 0xe0 : b0 === 0xff;
}

// Configured addresses may carry a prefix ("192.0.2.100/24") or odd case.
function canonicalSet(addrs: readonly string[]): Set<string> {
  return new Set(addrs.map((a) => canonicalIp(a.split('/')[0] ?? a) ?? a));
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

export function checkAdvert(rx: Received, ctx: CheckContext): Verdict {
  const p = rx.payload;
  // RFC 5798 7.1: the packet must hold at least the fixed VRRP header.
  if (p.length < VRRP_HEADER_LEN) return drop('truncated', `${p.length} bytes, a VRRP header has ${VRRP_HEADER_LEN}`);
  // RFC 5798 7.1: MUST verify the VRID is configured on the interface.
  const vrid = p[1] ?? 0;
  if (vrid !== ctx.vrid) return drop('unknown-vrid', `VRID ${vrid}, instance has ${ctx.vrid}`);
  // RFC 5798 6.4.1: adverts mean nothing before the instance runs; keepalived ignores them in FAULT too.
  if (ctx.state === 'INIT' || ctx.state === 'FAULT' || ctx.state === 'STOP') return drop('not-ready', `instance in ${ctx.state}`);
  if (rx.dst !== undefined) {
    const mc = isMulticast(rx.dst);
    if (mc && ctx.unicast) return drop('multicast-on-unicast', `sent to ${rx.dst}, instance uses unicast peers`);
    if (!mc && !ctx.unicast) return drop('unicast-on-multicast', `sent to ${rx.dst}, instance uses multicast`);
  }
  // RFC 5798 7.1 / RFC 3768 7.1: the whole message, no more, no less.
  const b0 = p[0] ?? 0;
  const count = p[3] ?? 0;
  const want = expectedLength(b0 >> 4, count, ctx.family);
  if (p.length !== want) return drop('length', `${p.length} bytes, ${count} IPv${ctx.family} addresses need ${want}`);
  // RFC 5798 7.1: TTL/hop limit 255, else it crossed a router (not checked for unicast, as keepalived).
  if (!ctx.unicast && rx.ttl !== undefined && rx.ttl !== VRRP_TTL) return drop('ttl', `TTL ${rx.ttl}, expected 255`);
  // RFC 5798 7.1: MUST verify the version field.
  if (b0 >> 4 !== ctx.version) return drop('version', `version ${b0 >> 4}, instance runs ${ctx.version}`);
  if (ctx.version === 2) {
    const v2 = checkV2(p, ctx);
    if (v2 !== null) return v2;
  }
  // RFC 5798 7.1: type must be ADVERTISEMENT.
  if ((b0 & 0x0f) !== VRRP_TYPE_ADVERT) return drop('type', `type ${b0 & 0x0f}`);
  if (ctx.family === 4 && rx.ipTotalLength !== undefined && rx.receivedLength !== undefined && rx.ipTotalLength !== rx.receivedLength) {
    return drop('ip-length', `IPv4 total length ${rx.ipTotalLength}, received ${rx.receivedLength}`);
  }
  const warnings: Warning[] = [];
  // RFC 5798 6.4.2: a v3 backup adopts the master's interval, so a mismatch is only worth a log line.
  if (ctx.version === 3 && (p.readUInt16BE(4) & 0x0fff) !== ctx.advertIntCs) warnings.push('advert-interval-mismatch');
  const sum = checkChecksum(rx, ctx);
  if (sum !== null) return sum;
  const decoded = decodeAdvert(p, ctx.family);
  if (!decoded.ok) return decoded;
  // RFC 5798 7.1: MAY verify the addresses; keepalived logs and counts, and still accepts.
  if (!sameSet(canonicalSet(decoded.advert.addresses), canonicalSet(ctx.vips)) || decoded.advert.addresses.length !== ctx.vips.length) {
    warnings.push('address-list-mismatch');
  }
  if (ctx.unicast && ctx.checkUnicastSrc) {
    const src = canonicalIp(rx.src) ?? rx.src;
    if (!canonicalSet(ctx.unicastPeers).has(src)) return drop('unicast-src', `source ${rx.src} is not a unicast peer`);
  }
  // Our own adverts never come back (multicast loop is off), so this is another host with our address.
  if (ctx.ownAddress !== undefined && (canonicalIp(rx.src) ?? rx.src) === (canonicalIp(ctx.ownAddress) ?? ctx.ownAddress)) {
    return drop('own-address', `source ${rx.src} is this node's own address: another host uses it (a cloned VM, a duplicate address) or spoofs it`);
  }
  return { ok: true, advert: decoded.advert, warnings };
}

// RFC 3768 7.1: auth type, password, then the advert interval (MUST match).
function checkV2(p: Buffer, ctx: CheckContext): Verdict | null {
  const authType = p[4] ?? 0;
  if (authType !== V2_AUTH_NONE && authType !== V2_AUTH_PASS && authType !== V2_AUTH_AH) return drop('auth-type', `unknown auth type ${authType}`);
  const ours = ctx.authPass !== undefined ? V2_AUTH_PASS : V2_AUTH_NONE;
  if (authType !== ours) return drop('auth-type', `auth type ${authType}, instance uses ${ours}`);
  if (ctx.authPass !== undefined) {
    const theirs = p.subarray(p.length - VRRP_AUTH_LEN);
    // Constant time, so timing does not leak how much of the password matched.
    if (!timingSafeEqual(theirs, passAuthData(ctx.authPass))) return drop('auth-failure', 'simple-text password mismatch');
  }
  const intCs = (p[5] ?? 0) * 100;
  if (intCs !== ctx.advertIntCs) return drop('advert-interval', `advert interval ${intCs} cs, instance uses ${ctx.advertIntCs} cs`);
  return null;
}

// Only the configured form is accepted, as keepalived does; the detail says
// when the other form would have matched, the usual cross-vendor mix-up.
function checkChecksum(rx: Received, ctx: CheckContext): Verdict | null {
  if (ctx.family === 6 && ctx.checksumVerifiedByKernel) return null;
  const p = rx.payload;
  const mode = checksumModeFor(ctx.version, ctx.v3ChecksumAsV2, ctx.family);
  // The multicast group is the destination unless the driver says otherwise.
  const dst = rx.dst ?? (ctx.unicast ? undefined : ctx.family === 4 ? VRRP_MCAST_V4 : VRRP_MCAST_V6);
  if (mode === 'pseudo-header' && (dst === undefined || parseIp(rx.src)?.family !== ctx.family)) {
    return drop('checksum', `cannot verify the pseudo-header checksum: source ${rx.src}, destination ${dst ?? 'unknown'}`);
  }
  if (checksumOk(p, ctx.family, mode, rx.src, dst)) return null;
  const wire = p.readUInt16BE(6).toString(16).padStart(4, '0');
  if (ctx.version === 3 && ctx.family === 4) {
    const other = mode === 'message' ? 'pseudo-header' : 'message';
    if (checksumOk(p, 4, other, rx.src, dst)) {
      return drop('checksum', `checksum 0x${wire} is the ${other} form; this instance expects ${mode} (v3_checksum_as_v2 differs between peers?)`);
    }
  }
  return drop('checksum', `checksum 0x${wire} wrong (${mode})`);
}
