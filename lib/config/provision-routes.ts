// bootvm.py's --route PREFIX:GATEWAY:IFACE, read into what `ip route replace`
// takes. IPv6 prefixes and gateways hold colons, so they go in brackets, as
// --kad_vip's IPv6 form does; the interface never has one (dev_valid_name).
import { formatIp, parseIp, type IpFamily } from '../net/ip-address.js';
import { isInterfaceName } from './names.js';

export interface Route {
  prefix: string; // canonical network/len
  family: IpFamily;
  via: string | null; // gateway, canonical
  dev: string | null;
}

const ALLOWED = 'PREFIX[/LEN]:GATEWAY:IFACE, PREFIX[/LEN]:IFACE or PREFIX[/LEN]:GATEWAY; IPv6 in brackets: [PREFIX/LEN]:[GATEWAY]:IFACE';
const BRACKETED = /^\[([^\]]*)\](?::(.*))?$/;

export function parseRoute(text: string): Route | string {
  const bad = (why: string): string => `--route ${JSON.stringify(text)}: ${why}; allowed: ${ALLOWED}`;
  const head = BRACKETED.exec(text);
  const colon = text.indexOf(':');
  if (head === null && colon < 0) return bad('a gateway or an interface must follow the prefix');
  const prefixText = head !== null ? (head[1] ?? '') : text.slice(0, colon);
  const rest = head !== null ? (head[2] ?? '') : text.slice(colon + 1);
  const prefix = readPrefix(prefixText);
  const ipv6Bare = head === null && text.split(':').length > 3;
  if (typeof prefix === 'string') return bad(`${prefix}${ipv6Bare ? ' (an IPv6 prefix goes in brackets)' : ''}`);
  const hop = readHop(rest);
  if (hop.via === null && hop.dev === null) return bad('a gateway or an interface must follow the prefix');
  if (hop.dev !== null && !isInterfaceName(hop.dev)) return bad(`${JSON.stringify(hop.dev)} is not an interface name (1..15 bytes, no "/", ":", whitespace or NUL)`);
  let via: string | null = null;
  if (hop.via !== null) {
    const gw = parseIp(hop.via);
    if (gw === null) return bad(`${JSON.stringify(hop.via)} is not a gateway address${hop.via.includes(':') ? ' (an IPv6 gateway goes in brackets)' : ''}`);
    if (gw.family !== prefix.family) return bad(`the gateway ${hop.via} is IPv${gw.family} but the prefix is IPv${prefix.family}`);
    const notHost = nonUnicast(gw.bytes);
    if (notHost !== null) return bad(`the gateway ${hop.via} is ${notHost}, which no router holds; a gateway is a unicast address`);
    via = formatIp(gw.bytes);
  }
  return { prefix: prefix.text, family: prefix.family, via, dev: hop.dev };
}

// "GW:IFACE", "[GW]:IFACE", "GW", "[GW]" or "IFACE".
function readHop(rest: string): { via: string | null; dev: string | null } {
  const b = BRACKETED.exec(rest);
  if (b !== null) return { via: b[1] ?? '', dev: b[2] ?? null };
  if (rest === '') return { via: null, dev: null };
  if (parseIp(rest) !== null) return { via: rest, dev: null };
  const at = rest.lastIndexOf(':');
  return at < 0 ? { via: null, dev: rest } : { via: rest.slice(0, at), dev: rest.slice(at + 1) };
}

// ip(8) refuses a prefix with host bits set ("Invalid prefix for given prefix length"): say which network was meant.
function readPrefix(text: string): { text: string; family: IpFamily } | string {
  const [addr, len] = text.split('/') as [string, string | undefined];
  const ip = parseIp(addr);
  if (ip === null) return `${JSON.stringify(addr)} is not a network address`;
  const max = ip.family === 4 ? 32 : 128;
  const bits = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(bits >= 0 && bits <= max)) return `the prefix length must be 0..${max}`;
  const net = Buffer.from(ip.bytes.map((b, i) => b & (0xff << Math.max(0, Math.min(8, 8 * (i + 1) - bits)) & 0xff)));
  const shown = `${formatIp(net)}/${bits}`;
  if (!net.equals(ip.bytes)) return `${text} has host bits set: the network is ${shown}`;
  return { text: shown, family: ip.family };
}

// What a next hop can never be (ip(8) answers "Nexthop has invalid gateway" only at boot, in the unit):
// the unspecified address, multicast (RFC 5771 / RFC 4291 2.7), IPv4's reserved 240/4 and the broadcast address.
function nonUnicast(bytes: Uint8Array): string | null {
  if (bytes.every((b) => b === 0)) return 'the unspecified address';
  const first = bytes[0] as number;
  if (bytes.length === 4) {
    if (first >= 224 && first <= 239) return 'a multicast address';
    if (bytes.every((b) => b === 255)) return 'the broadcast address';
    if (first >= 240) return 'a reserved address (240.0.0.0/4)';
    return null;
  }
  return first === 0xff ? 'a multicast address' : null;
}
