// The addresses of this pair that the configuration names, canonical, each
// with what it is: the VIPs, this node's own addresses (unicast_src_ip, the
// replication listen) and the peers' (unicast_peer, replication peers). The
// witness check and the VIP check read them.
import { canonicalIp } from '../net/ip-address.js';
import { renderPath, type KeyPath } from './path.js';
import type { TandemConfig } from './types.js';

export type OwnedKind = 'vip' | 'self' | 'peer';

export interface Owned {
  address: string;
  kind: OwnedKind;
  what: string; // "this node's address in VI_1 (vrrp.instances[0].unicast_src_ip)"
  at: KeyPath;
}

export function ownAddresses(config: Partial<TandemConfig>): Owned[] {
  const out: Owned[] = [];
  const add = (address: string, kind: OwnedKind, at: KeyPath, what: string): void => {
    out.push({ address: canonicalIp(address) ?? address, kind, what: `${what} (${renderPath(at)})`, at });
  };
  config.vrrp?.instances.forEach((inst, i) => {
    const at = ['vrrp', 'instances', i];
    inst.virtualIpaddress.forEach((v, j) => add(v.address, 'vip', [...at, 'virtual_ipaddress', j], `a virtual address of ${inst.name}`));
    if (inst.unicastSrcIp !== undefined) add(inst.unicastSrcIp, 'self', [...at, 'unicast_src_ip'], `this node's address in ${inst.name}`);
    inst.unicastPeer.forEach((p, j) => add(p, 'peer', [...at, 'unicast_peer', j], `a peer of ${inst.name}`));
  });
  config.replication?.volumes.forEach((v, i) => {
    const at = ['replication', 'volumes', i];
    add(v.listen.host, 'self', [...at, 'listen'], `this node's replication address for ${v.name}`);
    v.peers.forEach((p, j) => add(p.address.host, 'peer', [...at, 'peers', j, 'address'], `the address of peer ${p.name}`));
  });
  return out;
}
