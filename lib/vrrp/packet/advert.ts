// VRRP advertisement codec: the VRRP message only (the IP header is ipv4.ts's
// or the kernel's). v2 is RFC 3768 5.1, v3 is RFC 5798 5.1 / RFC 9568 5.1.
// Pure and synchronous; decode never throws, encode throws RangeError only
// for input a programmer got wrong.
import { formatIp, parseIp } from '../../net/ip-address.js';
import { internetChecksum, onesSum, pseudoHeaderFor } from './checksum.js';
import type { DropReason } from './reasons.js';

export type Family = 4 | 6;

export const VRRP_MCAST_V4 = '224.0.0.18';
export const VRRP_MCAST_V6 = 'ff02::12';
export const IPPROTO_VRRP = 112;
export const VRRP_TYPE_ADVERT = 1;
export const VRRP_HEADER_LEN = 8;
export const VRRP_AUTH_LEN = 8; // v2 only
export const V2_AUTH_NONE = 0;
export const V2_AUTH_PASS = 1;
export const V2_AUTH_AH = 2;
export const V3_MAX_ADVER_INT_CS = 0x0fff;

export interface Advert {
  version: 2 | 3;
  type: number;
  vrid: number;
  priority: number;
  addresses: string[]; // canonical text (RFC 5952 for IPv6)
  advertIntCs: number; // v2: seconds byte * 100; v3: 12-bit Max Adver Int
  authType: number; // v2 auth type byte; 0 for v3
  authData: Buffer; // v2: the 8 auth bytes; v3: empty
  checksum: number; // as on the wire
}

// v2 and v3_checksum_as_v2 sum the message alone; VRRPv3 by default adds a
// pseudo-header (RFC 5798 5.2.8; keepalived does this for IPv4 too).
export type ChecksumMode = 'message' | 'pseudo-header';

export interface EncodeInput {
  version: 2 | 3;
  vrid: number;
  priority: number;
  addresses: string[];
  advertIntCs: number;
  authType?: number;
  authData?: Buffer;
  type?: number;
}

export type DecodeResult = { ok: true; advert: Advert } | { ok: false; reason: DropReason; detail: string };

export function addressLength(family: Family): number {
  return family === 4 ? 4 : 16;
}

// Exact VRRP message length implied by a header (RFC 5798 7.1 "MUST verify
// that the received packet contains the complete VRRPv3 packet").
export function expectedLength(version: number, count: number, family: Family): number {
  return VRRP_HEADER_LEN + count * addressLength(family) + (version === 2 ? VRRP_AUTH_LEN : 0);
}

// IPv6 has no v3_checksum_as_v2: RFC 5798 and RFC 9568 both use the pseudo-header there.
export function checksumModeFor(version: 2 | 3, v3ChecksumAsV2: boolean, family: Family = 4): ChecksumMode {
  if (version === 2) return 'message';
  if (family === 6) return 'pseudo-header';
  return v3ChecksumAsV2 ? 'message' : 'pseudo-header';
}

export function peekVrid(payload: Buffer): number | undefined {
  return payload.length >= 2 ? payload[1] : undefined;
}

// v2 simple-text auth data: the password's first 8 bytes, zero padded
// (RFC 2338 5.3.6.1; keepalived truncates longer passwords the same way).
export function passAuthData(password: string): Buffer {
  const out = Buffer.alloc(VRRP_AUTH_LEN);
  Buffer.from(password, 'utf8').copy(out, 0, 0, VRRP_AUTH_LEN);
  return out;
}

function withZeroChecksum(payload: Buffer): Buffer {
  const copy = Buffer.from(payload);
  if (copy.length >= VRRP_HEADER_LEN) copy.writeUInt16BE(0, 6);
  return copy;
}

// RFC 1071 checksum of the message with its checksum field taken as zero.
// Throws RangeError when the pseudo-header form lacks usable src/dst.
export function vrrpChecksum(payload: Buffer, family: Family, mode: ChecksumMode, src?: string, dst?: string): number {
  const body = withZeroChecksum(payload);
  if (mode === 'message') return internetChecksum([body]);
  const ph = pseudoHeaderFor(family, src, dst, IPPROTO_VRRP, payload.length);
  if (ph === null) throw new RangeError(`pseudo-header checksum needs IPv${family} src and dst, got ${String(src)} -> ${String(dst)}`);
  return internetChecksum([ph, body]);
}

// True when the checksum on the wire is right for this form; never throws.
// Summing with the field in place accepts both zero encodings (0x0000/0xffff).
export function checksumOk(payload: Buffer, family: Family, mode: ChecksumMode, src?: string, dst?: string): boolean {
  if (mode === 'message') return onesSum([payload]) === 0xffff;
  const ph = pseudoHeaderFor(family, src, dst, IPPROTO_VRRP, payload.length);
  return ph !== null && onesSum([ph, payload]) === 0xffff;
}

function intIn(x: unknown, lo: number, hi: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;
}

export function encodeAdvert(
  input: EncodeInput,
  family: Family,
  sum: { mode: ChecksumMode; src?: string; dst?: string },
): Buffer {
  const { version, vrid, priority, addresses, advertIntCs } = input;
  const type = input.type ?? VRRP_TYPE_ADVERT;
  if (version !== 2 && version !== 3) throw new RangeError(`VRRP version must be 2 or 3, not ${String(version)}`);
  if (version === 2 && family !== 4) throw new RangeError('VRRPv2 is IPv4 only (RFC 3768)');
  if (!intIn(vrid, 1, 255)) throw new RangeError(`VRID must be 1..255, not ${vrid}`);
  if (!intIn(priority, 0, 255)) throw new RangeError(`priority must be 0..255, not ${priority}`);
  if (!intIn(type, 0, 15)) throw new RangeError(`type must be 0..15, not ${type}`);
  if (addresses.length > 255) throw new RangeError(`at most 255 addresses fit the count byte, not ${addresses.length}`);
  const addrBytes = addresses.map((a) => {
    const p = parseIp(a);
    if (p === null || p.family !== family) throw new RangeError(`${a} is not an IPv${family} address`);
    return p.bytes;
  });
  const buf = Buffer.alloc(expectedLength(version, addresses.length, family));
  buf[0] = (version << 4) | type;
  buf[1] = vrid;
  buf[2] = priority;
  buf[3] = addresses.length;
  if (version === 2) {
    // RFC 3768 5.3.7: Adver Int is whole seconds.
    if (!intIn(advertIntCs, 100, 25500) || advertIntCs % 100 !== 0) {
      throw new RangeError(`v2 advert interval must be whole seconds 1..255 (100..25500 cs), not ${advertIntCs} cs`);
    }
    const authType = input.authType ?? V2_AUTH_NONE;
    if (!intIn(authType, 0, 255)) throw new RangeError(`auth type must be 0..255, not ${authType}`);
    const authData = input.authData ?? Buffer.alloc(0);
    if (authData.length > VRRP_AUTH_LEN) throw new RangeError(`auth data is at most 8 bytes, not ${authData.length}`);
    buf[4] = authType;
    buf[5] = advertIntCs / 100;
    authData.copy(buf, buf.length - VRRP_AUTH_LEN);
  } else {
    // RFC 5798 5.2.7: 12-bit Max Adver Int in centiseconds, 4 reserved bits zero.
    if (!intIn(advertIntCs, 1, V3_MAX_ADVER_INT_CS)) throw new RangeError(`v3 advert interval must be 1..4095 cs, not ${advertIntCs}`);
    if ((input.authType ?? 0) !== 0 || (input.authData?.length ?? 0) !== 0) throw new RangeError('VRRPv3 has no authentication');
    buf.writeUInt16BE(advertIntCs, 4);
  }
  addrBytes.forEach((b, i) => buf.set(b, VRRP_HEADER_LEN + i * addressLength(family)));
  // IPv6 without addresses: leave zero, the kernel fills it (IPV6_CHECKSUM offset 6).
  if (sum.mode === 'pseudo-header' && family === 6 && sum.src === undefined && sum.dst === undefined) return buf;
  buf.writeUInt16BE(vrrpChecksum(buf, family, sum.mode, sum.src, sum.dst), 6);
  return buf;
}

// Structure only: sizes, version, fields. Checksum, auth and type are the
// receiver's business (check.ts), so any well-formed message decodes.
export function decodeAdvert(payload: Buffer, family: Family): DecodeResult {
  if (payload.length < VRRP_HEADER_LEN) {
    return { ok: false, reason: 'truncated', detail: `${payload.length} bytes, a VRRP header has ${VRRP_HEADER_LEN}` };
  }
  const b0 = payload[0] ?? 0;
  const version = b0 >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'version', detail: `version ${version}` };
  if (version === 2 && family !== 4) return { ok: false, reason: 'version', detail: 'VRRPv2 over IPv6' };
  const count = payload[3] ?? 0;
  const want = expectedLength(version, count, family);
  if (payload.length !== want) {
    return { ok: false, reason: 'length', detail: `${payload.length} bytes, ${count} IPv${family} addresses need ${want}` };
  }
  const alen = addressLength(family);
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = VRRP_HEADER_LEN + i * alen;
    addresses.push(formatIp(payload.subarray(at, at + alen)));
  }
  const v2 = version === 2;
  return {
    ok: true,
    advert: {
      version,
      type: b0 & 0x0f,
      vrid: payload[1] ?? 0,
      priority: payload[2] ?? 0,
      addresses,
      // RFC 5798 5.2.7: the 4 reserved bits are ignored on receive.
      advertIntCs: v2 ? (payload[5] ?? 0) * 100 : payload.readUInt16BE(4) & V3_MAX_ADVER_INT_CS,
      authType: v2 ? (payload[4] ?? 0) : 0,
      authData: v2 ? Buffer.from(payload.subarray(payload.length - VRRP_AUTH_LEN)) : Buffer.alloc(0),
      checksum: payload.readUInt16BE(6),
    },
  };
}
