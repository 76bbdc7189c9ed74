// The pure parts of the net adapters: parsing ip(8) output and building its
// arguments.
import { expect } from 'chai';
import { parseAddressLine, parseMonitorLine } from '../../lib/net/link-monitor.js';
import { isOnlyGlobalAddress, parseLinkJson, pickSourceAddress } from '../../lib/net/links.js';
import { addArgs, isAbsentAddressError } from '../../lib/net/vip.js';

describe('net/link-monitor parseMonitorLine', () => {
  const cases: [string, { index: number; dev: string; up: boolean } | null][] = [
    ['2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP', { index: 2, dev: 'eth0', up: true }],
    ['3: eth0@if4: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 state DOWN', { index: 3, dev: 'eth0', up: false }],
    ['2: eth1: <BROADCAST,MULTICAST> mtu 1500 state DOWN', { index: 2, dev: 'eth1', up: false }],
    ['Deleted 5: vlan7@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500', { index: 5, dev: 'vlan7', up: false }],
    ['    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff', null],
    ['', null],
  ];
  for (const [line, want] of cases) it(`"${line.slice(0, 40)}"`, () => expect(parseMonitorLine(line)).to.deep.equal(want));
  it('address lines give the ifindex (the name may be stale after a rename)', () => {
    expect(parseAddressLine('2: later0    inet 192.0.2.11/24 scope global eth0\\       valid_lft forever')).to.deep.equal({ index: 2, dev: 'later0' });
    expect(parseAddressLine('Deleted 3: v0    inet6 2001:db8:1::5/64 scope global')).to.deep.equal({ index: 3, dev: 'v0' });
    expect(parseAddressLine('2: eth0: <BROADCAST> mtu 1500')).to.equal(null);
  });
});

describe('net/links', () => {
  const link = parseLinkJson({
    ifindex: 7,
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    address: '02:00:00:00:00:0a',
    addr_info: [
      { family: 'inet', local: '192.0.2.100', prefixlen: 24, scope: 'global', label: 'eth0' },
      { family: 'inet', local: '192.0.2.11', prefixlen: 24, scope: 'global', secondary: true },
      { family: 'inet6', local: '2001:DB8:1::B', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
    ],
  });

  it('parses index, MAC, up and canonical addresses', () => {
    expect(link).to.include({ name: 'eth0', index: 7, mac: '02:00:00:00:00:0a', up: true });
    expect(link.addresses.map((a) => a.address)).to.deep.equal(['192.0.2.100', '192.0.2.11', '2001:db8:1::b', 'fe80::1']);
  });

  it('picks a source address that is not one of our VIPs (IPv4) and the link-local (IPv6)', () => {
    expect(pickSourceAddress(link, 4, new Set(['192.0.2.100']))).to.equal('192.0.2.11');
    expect(pickSourceAddress(link, 4, new Set())).to.equal('192.0.2.100');
    expect(pickSourceAddress(link, 6, new Set())).to.equal('fe80::1');
    expect(pickSourceAddress({ ...link, addresses: [] }, 4, new Set())).to.equal(null);
  });

  it('an address is the only global one of its family, or not (a leftover VIP beside the node\'s own address)', () => {
    expect(isOnlyGlobalAddress(link, '192.0.2.100')).to.equal(false);
    expect(isOnlyGlobalAddress(link, '2001:db8:1::b')).to.equal(true);
    expect(isOnlyGlobalAddress(link, '192.0.2.99')).to.equal(false);
    const alone = { ...link, addresses: link.addresses.filter((a) => a.address !== '192.0.2.11') };
    expect(isOnlyGlobalAddress(alone, '192.0.2.100')).to.equal(true);
  });

  it('a link without carrier is down', () => {
    expect(parseLinkJson({ ifindex: 1, ifname: 'x', flags: ['UP', 'NO-CARRIER'] }).up).to.equal(false);
  });
});

describe('net/vip addArgs', () => {
  it('IPv4 with label', () => {
    expect(addArgs({ address: '192.0.2.100', prefix: 24, family: 4, dev: 'eth0', label: 'eth0:vip' })).to.deep.equal([
      '-4', 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0', 'label', 'eth0:vip',
    ]);
  });
  it('IPv6 without DAD (RFC 5798 8.2)', () => {
    expect(addArgs({ address: '2001:db8:1::100', prefix: 64, family: 6, dev: 'eth0' })).to.deep.equal([
      '-6', 'addr', 'add', '2001:db8:1::100/64', 'dev', 'eth0', 'nodad',
    ]);
  });
});

describe('net/vip isAbsentAddressError', () => {
  it('an address already gone is success, in the words of old and new iproute2 (a VIP never added is removed without error)', () => {
    for (const m of ['RTNETLINK answers: Cannot assign requested address', 'Error: ipv4: Address not found.', 'Error: ipv6: address not found.', 'Cannot find device "eth9"', 'Error: No such device']) {
      expect(isAbsentAddressError(m), m).to.equal(true);
    }
    expect(isAbsentAddressError('RTNETLINK answers: Operation not permitted')).to.equal(false);
  });
});
