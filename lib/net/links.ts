// Link facts read through ip(8): index, MAC, whether it carries traffic, and
// its addresses (to pick the VRRP source address and to find leftover VIPs).
import { runIpJson, type IpRunOptions } from './ip-command.js';
import { canonicalIp, type IpFamily } from './ip-address.js';

export interface LinkAddress {
  family: IpFamily;
  address: string;
  prefix: number;
  scope: string;
  label?: string;
  secondary: boolean;
}

export interface LinkInfo {
  name: string;
  index: number;
  mac: string;
  up: boolean; // administratively UP and with carrier (keepalived's notion)
  addresses: LinkAddress[];
}

interface IpAddrJson {
  ifindex: number;
  ifname: string;
  flags?: string[];
  address?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string; label?: string; secondary?: boolean }[];
}

export function parseLinkJson(entry: IpAddrJson): LinkInfo {
  const flags = entry.flags ?? [];
  const addresses: LinkAddress[] = [];
  for (const a of entry.addr_info ?? []) {
    const address = canonicalIp(a.local);
    if (address === null) continue;
    addresses.push({
      family: a.family === 'inet6' ? 6 : 4,
      address,
      prefix: a.prefixlen,
      scope: a.scope,
      ...(a.label === undefined ? {} : { label: a.label }),
      secondary: a.secondary === true,
    });
  }
  return {
    name: entry.ifname,
    index: entry.ifindex,
    mac: entry.address ?? '00:00:00:00:00:00',
    up: flags.includes('UP') && flags.includes('LOWER_UP'),
    addresses,
  };
}

export async function getLink(dev: string, options: IpRunOptions = {}): Promise<LinkInfo> {
  const rows = await runIpJson<IpAddrJson[]>(['addr', 'show', 'dev', dev], options);
  const row = rows[0];
  if (row === undefined) throw new Error(`ip addr show dev ${dev} returned nothing`);
  return parseLinkJson(row);
}

// Whether `address` is the link's only global address of its family: then
// it is the node's own address, whatever the configuration calls it, and
// removing it as a leftover VIP would cut the node off.
export function isOnlyGlobalAddress(link: LinkInfo, address: string): boolean {
  const own = link.addresses.find((a) => a.address === address);
  return own !== undefined && link.addresses.filter((a) => a.family === own.family && a.scope === 'global').length === 1;
}

// The address VRRP adverts come from (RFC 5798 5.1.1.1 / 5.1.2.1): IPv4 the
// interface's primary address that is not one of our VIPs; IPv6 its
// link-local address.
export function pickSourceAddress(link: LinkInfo, family: IpFamily, vips: ReadonlySet<string>): string | null {
  const candidates = link.addresses.filter((a) => a.family === family && !vips.has(a.address));
  if (family === 6) return candidates.find((a) => a.scope === 'link')?.address ?? null;
  return (candidates.find((a) => !a.secondary && a.scope === 'global') ?? candidates.find((a) => a.scope === 'global'))?.address ?? null;
}
