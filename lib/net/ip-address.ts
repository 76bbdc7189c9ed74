// IP address text <-> bytes, without touching the network. Shared by the
// packet codec (addresses on the wire), the config validator (canonical
// forms) and the state machine (the RFC 5798 6.4.3 tie-break compares
// primary addresses as unsigned integers).
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  bytes: Buffer; // 4 or 16 bytes, network order
}

// Accepts dotted IPv4 and any RFC 4291 IPv6 text (including an embedded IPv4
// tail); a zone ("%eth0") is not part of an address here and is refused.
export function parseIp(text: string): ParsedIp | null {
  if (isIPv4(text)) {
    return { family: 4, bytes: Buffer.from(text.split('.').map((p) => Number(p))) };
  }
  if (!isIPv6(text) || text.includes('%')) return null;
  return { family: 6, bytes: ipv6Bytes(text) };
}

function ipv6Bytes(text: string): Buffer {
  let head = text;
  const tailBytes: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    tailBytes.push(...tail.split('.').map((p) => Number(p)));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const groups = (s: string | undefined): number[] =>
    s === undefined || s === '' ? [] : s.split(':').map((g) => parseInt(g, 16));
  const l = groups(left);
  const r = groups(right);
  const words = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  if (tailBytes.length === 4) Buffer.from(tailBytes).copy(out, 12);
  return out;
}

// RFC 5952 canonical text: lower case, longest zero run (of 2+ groups) as "::".
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

// The canonical form of an address text, or null when it is not an address.
export function canonicalIp(text: string): string | null {
  const p = parseIp(text);
  return p === null ? null : formatIp(p.bytes);
}

// Unsigned compare of two addresses of the same family: <0, 0, >0.
export function compareIp(a: string, b: string): number {
  const pa = parseIp(a);
  const pb = parseIp(b);
  if (pa === null || pb === null || pa.family !== pb.family) {
    throw new RangeError(`cannot compare ${a} with ${b}: both must be addresses of one family`);
  }
  return Buffer.compare(pa.bytes, pb.bytes);
}

export function isLinkLocalV6(text: string): boolean {
  const p = parseIp(text);
  return p !== null && p.family === 6 && p.bytes[0] === 0xfe && ((p.bytes[1] ?? 0) & 0xc0) === 0x80;
}
