// A VIP may not be an address a node owns: the one not MASTER removes its
// VIPs, and every node clears them at start, so a node would lose its own
// address (vrrp-section.ts crossCheck, own-addresses.ts).
import { expect } from 'chai';
import { blockVolume, expectOnly, replicationDoc, validOf } from './helpers.js';

const doc = (vip: string, instance: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...replicationDoc([blockVolume()]),
  vrrp: { instances: [{
    name: 'VI_1', interface: 'eth0', virtual_router_id: 51, virtual_ipaddress: ['192.0.2.100/24', vip],
    unicast_src_ip: '192.0.2.11', unicast_peer: ['192.0.2.12'], ...instance,
  }] },
});
const at = 'vrrp.instances[0].virtual_ipaddress[1]';
const rule = 'a VIP moves between the nodes and is removed from each one that is not MASTER, and at start, so it must be an address of its own';

describe('config: a VIP is not a node\'s own address', () => {
  it('not unicast_src_ip nor a unicast_peer', () => {
    expectOnly(doc('192.0.2.11/24'), at, "192.0.2.11 is also this node's address in VI_1 (vrrp.instances[0].unicast_src_ip)", rule, 'priority 255');
    expectOnly(doc('192.0.2.12/32'), at, '192.0.2.12 is also a peer of VI_1 (vrrp.instances[0].unicast_peer[0])', rule);
  });

  it('not a replication address, of this node or of a peer, whatever the spelling', () => {
    expectOnly(doc('198.51.100.11/24'), at, "198.51.100.11 is also this node's replication address for db (replication.volumes[0].listen)", rule);
    expectOnly(doc('198.51.100.12/24'), at, 'is also the address of peer node-b (replication.volumes[0].peers[0].address)');
    const v6 = { ...doc('2001:DB8:1:0::11/64', { unicast_src_ip: '2001:db8:1::11', unicast_peer: ['2001:db8:1::12'], virtual_ipaddress: ['2001:DB8:1:0::11/64'] }) };
    expectOnly(v6, 'vrrp.instances[0].virtual_ipaddress[0]', "2001:db8:1::11 is also this node's address in VI_1");
  });

  it('an address of its own is fine', () => {
    expect(validOf(doc('192.0.2.101/24')).config.vrrp.instances[0]?.virtualIpaddress.map((v) => v.address)).to.deep.equal(['192.0.2.100', '192.0.2.101']);
  });
});
