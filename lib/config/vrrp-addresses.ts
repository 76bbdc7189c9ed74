// Virtual addresses ("192.0.2.100/24" or { address, dev, label }) and the
// unicast source / peer addresses of an instance.
import { formatIp, parseIp, type ParsedIp } from '../net/ip-address.js';
import { Fields, isMapping, text, type Check } from './checks.js';
import type { Issues } from './issues.js';
import { interfaceName } from './names.js';
import type { KeyPath } from './path.js';
import { checkKeys } from './suggest.js';
import type { Family } from './types.js';

export const VIP_KEYS = ['address', 'dev', 'label'] as const;

export interface Address {
  address: string; // canonical text (RFC 5952 for IPv6)
  family: Family;
}

export interface VipDraft extends Address {
  prefix: number;
  dev?: string;
  label?: string;
  at: KeyPath; // where and how it was written, for later cross-checks
  written: unknown;
}

// Addresses that can never be a VIP or a VRRP peer.
function unusable(p: ParsedIp): string | undefined {
  const b = p.bytes;
  const zero = b.every((x) => x === 0);
  if (p.family === 4) {
    if (zero) return 'the unspecified address';
    if (b[0] === 127) return 'a loopback address';
    if ((b[0] ?? 0) >= 224 && (b[0] ?? 0) <= 239) return 'a multicast address';
    if (b.every((x) => x === 255)) return 'the broadcast address';
    return undefined;
  }
  if (zero) return 'the unspecified address';
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return 'the loopback address';
  if (b[0] === 0xff) return 'a multicast address';
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return 'an IPv4-mapped IPv6 address (write the IPv4 address itself)';
  }
  return undefined;
}

// One address without prefix: unicast_src_ip and each unicast_peer entry.
const HOST_ALLOWED = 'an IPv4 or IPv6 address without /prefix';
export const hostAddress: Check<Address> = {
  allowed: HOST_ALLOWED,
  read(value, at, issues) {
    if (typeof value === 'string') return parseAddress(value, value, at, issues, HOST_ALLOWED);
    issues.error(at, value, `must be ${HOST_ALLOWED}`);
    return undefined;
  },
};

function parseAddress(text: string, written: unknown, at: KeyPath, issues: Issues, allowed: string): Address | undefined {
  const p = parseIp(text);
  if (p === null) {
    const zone = text.includes('%') ? ' (no %zone suffix: the interface comes from dev / interface)' : '';
    issues.error(at, written, `must be ${allowed}${zone}`);
    return undefined;
  }
  const bad = unusable(p);
  if (bad !== undefined) {
    issues.error(at, written, `${text} is ${bad}: must be a unicast address`);
    return undefined;
  }
  return { address: formatIp(p.bytes), family: p.family };
}

const anyString = (allowed: string): Check<string> => text(allowed, () => true);

const VIP_ALLOWED = 'an IPv4 or IPv6 address with an optional /prefix (e.g. "192.0.2.100/24"), or { address, dev, label }';

// "addr[/prefix]"; the prefix defaults to the host prefix, as in keepalived.
function parseCidr(text: string, at: KeyPath, issues: Issues): Omit<VipDraft, 'at' | 'written'> | undefined {
  if (/\s/.test(text)) {
    issues.error(at, text, `must be ${VIP_ALLOWED}; keepalived's one-line "ADDR dev X label Y" form is written here as { address: ADDR, dev: X, label: Y }`);
    return undefined;
  }
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text);
  if (m === null) {
    issues.error(at, text, `must be ${VIP_ALLOWED}`);
    return undefined;
  }
  const addr = parseAddress(m[1] ?? '', text, at, issues, VIP_ALLOWED);
  if (addr === undefined) return undefined;
  const max = addr.family === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) {
    issues.error(at, text, `prefix /${prefix} is out of range: must be 0..${max} for an IPv${addr.family} address`);
    return undefined;
  }
  return { ...addr, prefix };
}

export const virtualAddress: Check<VipDraft> = {
  allowed: VIP_ALLOWED,
  read(value, at, issues) {
    if (typeof value === 'string') {
      const cidr = parseCidr(value, at, issues);
      return cidr === undefined ? undefined : { ...cidr, at, written: value };
    }
    if (!isMapping(value)) {
      issues.error(at, value, `must be ${VIP_ALLOWED}`);
      return undefined;
    }
    checkKeys(value, VIP_KEYS, at, issues);
    const f = new Fields(value, at, issues);
    const addressText = f.required('address', anyString('an IPv4 or IPv6 address with an optional /prefix'));
    const dev = f.optional('dev', interfaceName);
    // The label's shape depends on dev; the instance checks it once dev is known.
    const label = f.optional('label', anyString('an address label such as "eth0:vip"'));
    if (addressText === undefined) return undefined;
    const cidr = parseCidr(addressText, f.path('address'), issues);
    if (cidr === undefined) return undefined;
    const out: VipDraft = { ...cidr, at, written: value };
    if (dev !== undefined) out.dev = dev;
    if (label !== undefined) out.label = label;
    return out;
  },
};

// iproute2: a label is the device name itself or "dev:anything", and like
// any interface name at most 15 bytes (IFNAMSIZ - 1).
export function labelProblem(label: string, dev: string): string | undefined {
  if (label !== dev && !label.startsWith(`${dev}:`)) return `must be "${dev}" or start with "${dev}:" (ip(8) requires the label to start with the device name)`;
  if (Buffer.byteLength(label) > 15 || /[\s/]/.test(label)) return 'must be at most 15 bytes with no whitespace or "/" (IFNAMSIZ)';
  return undefined;
}
