// The addresses of one instance: VIPs, unicast source and peers. They must
// share one family, because one VRRP instance speaks either VRRP over IPv4 or
// over IPv6 (RFC 5798 5.2.9: the address list holds addresses of one family).
import { isLinkLocalV6 } from '../net/ip-address.js';
import { Fields, list } from './checks.js';
import type { Issues } from './issues.js';
import { renderPath } from './path.js';
import { hostAddress, labelProblem, virtualAddress, type Address, type VipDraft } from './vrrp-addresses.js';
import type { Family } from './types.js';

export interface InstanceAddresses {
  family: Family;
  vips: VipDraft[];
  unicastSrcIp?: string;
  unicastPeer: string[];
}

// `iface` is the instance's interface (undefined when it was invalid).
export function readAddresses(f: Fields, iface: string | undefined, issues: Issues): InstanceAddresses {
  const vips = f.required('virtual_ipaddress', list(virtualAddress, 1)) ?? [];
  const src = f.optional('unicast_src_ip', hostAddress);
  const peers = readPeers(f, src, issues);
  const first = vips[0];
  const family: Family = first?.family ?? src?.family ?? peers[0]?.address.family ?? 4;
  const origin = first !== undefined ? `its VIP ${first.address}` : 'its unicast addresses';
  const sameFamily = (a: Address, at: readonly (string | number)[], written: unknown): boolean => {
    if (a.family === family) return true;
    issues.error(at, written, `${a.address} is IPv${a.family} but the instance is IPv${family} (from ${origin}): the VIPs, unicast_src_ip and unicast_peer of one instance must all be one family`);
    return false;
  };

  const kept: VipDraft[] = [];
  for (const vip of vips) {
    if (!sameFamily(vip, vip.at, vip.written)) continue;
    const twin = kept.find((k) => k.address === vip.address);
    if (twin !== undefined) {
      issues.error(vip.at, vip.written, `${vip.address} is already listed at ${renderPath(twin.at)}: each VIP appears once per instance`);
      continue;
    }
    const dev = vip.dev ?? iface;
    const problem = vip.label !== undefined && dev !== undefined ? labelProblem(vip.label, dev) : undefined;
    if (problem !== undefined) issues.error([...vip.at, 'label'], vip.label, problem);
    kept.push(vip);
  }
  // RFC 5798 5.2.5: the count is one byte; and an advert must fit one packet
  // without fragmentation: 1280 bytes (the IPv6 minimum MTU) for IPv6, 1500 for IPv4.
  const max = maxVips(family);
  if (kept.length > max) {
    issues.error((first?.at ?? ['virtual_ipaddress']).slice(0, -1), `${kept.length} addresses`, `at most ${max} IPv${family} VIPs fit in one advert; put the rest in another instance (a sync group moves them together)`);
  }
  if (family === 6 && first !== undefined && !isLinkLocalV6(first.address)) {
    // RFC 5798 5.2.9: for IPv6 the first address is the virtual router's link-local one.
    f.issues.warn(first.at, first.address, 'the first VIP of an IPv6 instance should be a link-local address (fe80::/10), as RFC 5798 5.2.9 asks; some peers complain otherwise');
  }
  const out: InstanceAddresses = { family, vips: kept, unicastPeer: [] };
  if (src !== undefined && sameFamily(src, f.path('unicast_src_ip'), f.raw('unicast_src_ip'))) out.unicastSrcIp = src.address;
  for (const p of peers) {
    if (sameFamily(p.address, f.path('unicast_peer', p.index), p.written)) out.unicastPeer.push(p.address.address);
  }
  return out;
}

interface Peer {
  address: Address;
  index: number;
  written: unknown;
}

function readPeers(f: Fields, src: Address | undefined, issues: Issues): Peer[] {
  if (!f.has('unicast_peer')) return [];
  const raw = f.raw('unicast_peer');
  if (!Array.isArray(raw) || raw.length === 0) {
    issues.error(f.path('unicast_peer'), raw, `must be a non-empty list of ${hostAddress.allowed} (leave the key out for multicast)`);
    return [];
  }
  const out: Peer[] = [];
  raw.forEach((written: unknown, index) => {
    const at = f.path('unicast_peer', index);
    const address = hostAddress.read(written, at, issues);
    if (address === undefined) return;
    if (out.some((p) => p.address.address === address.address)) {
      issues.error(at, written, `${address.address} is listed twice: each peer once`);
    } else if (src !== undefined && src.address === address.address) {
      issues.error(at, written, `${address.address} is this node's unicast_src_ip: a node is not its own peer`);
    } else out.push({ address, index, written });
  });
  return out;
}

// IPv4: 20 (IP) + 8 (VRRP) + 8 (v2 auth) + 4n <= 1500 allows more than the count byte's 255.
// IPv6: 40 (IP) + 8 (VRRP) + 16n <= 1280 gives 77.
export function maxVips(family: Family): number {
  return family === 4 ? 255 : Math.floor((1280 - 40 - 8) / 16);
}
