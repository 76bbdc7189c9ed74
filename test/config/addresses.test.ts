import { expect } from 'chai';
import type { ConfigIssue, InstanceConfig } from '../../lib/config/types.js';
import { expectOnly, validOf } from './helpers.js';

type Obj = Record<string, unknown>;
const instance = (over: Obj = {}): Obj => ({
  name: 'VI_1', interface: 'eth0', virtual_router_id: 51, virtual_ipaddress: ['192.0.2.100/24'], ...over,
});
const config = (...instances: Obj[]): Obj => ({ node: { name: 'node-a' }, vrrp: { instances } });

function valid(raw: unknown): { inst: InstanceConfig; warnings: ConfigIssue[] } {
  const { config, warnings } = validOf(raw);
  return { inst: config.vrrp.instances[0] ?? expect.fail('no instance'), warnings };
}
const vips = (...list: unknown[]): Obj => config(instance({ virtual_ipaddress: list }));
const P = 'vrrp.instances[0]';

describe('config/addresses: VIPs, unicast addresses, families', () => {
  it('defaults the prefix to /32 and /128, dev to the interface', () => {
    const { inst } = valid(config(instance({ virtual_ipaddress: ['192.0.2.100', '192.0.2.101/24', '192.0.2.102/0'] })));
    expect(inst.virtualIpaddress).to.deep.equal([
      { address: '192.0.2.100', prefix: 32, family: 4, dev: 'eth0' },
      { address: '192.0.2.101', prefix: 24, family: 4, dev: 'eth0' },
      { address: '192.0.2.102', prefix: 0, family: 4, dev: 'eth0' },
    ]);
    const six = valid(vips('FE80::0:1', '2001:DB8:0:0:0:0:0:100/64')).inst;
    expect(six.family).to.equal(6);
    expect(six.version).to.equal(3);
    expect(six.virtualIpaddress.map((v) => `${v.address}/${v.prefix}`)).to.deep.equal(['fe80::1/128', '2001:db8::100/64']);
  });
  it('reads { address, dev, label } entries', () => {
    const { inst } = valid(vips({ address: '192.0.2.5/24', dev: 'eth1', label: 'eth1:vip' }, { address: '192.0.2.6', label: 'eth0' }));
    expect(inst.virtualIpaddress).to.deep.equal([
      { address: '192.0.2.5', prefix: 24, family: 4, dev: 'eth1', label: 'eth1:vip' },
      { address: '192.0.2.6', prefix: 32, family: 4, dev: 'eth0', label: 'eth0' },
    ]);
  });

  it('at least one VIP is required', () => {
    expectOnly(config({ name: 'VI_1', interface: 'eth0', virtual_router_id: 51 }), `${P}.virtual_ipaddress`, 'required key is missing');
    expectOnly(vips(), `${P}.virtual_ipaddress`, 'a list of at least 1');
    expectOnly(config(instance({ virtual_ipaddress: '192.0.2.100' })), `${P}.virtual_ipaddress`, 'a list of at least 1');
  });
  it('a VIP is an address with an optional prefix', () => {
    for (const bad of ['192.0.2.300', 'vip', '192.0.2.1/x', '192.0.2.1/', 42]) {
      expectOnly(vips(bad), `${P}.virtual_ipaddress[0]`, 'an IPv4 or IPv6 address with an optional /prefix');
    }
  });
  it('the prefix is 0..32 for IPv4 and 0..128 for IPv6', () => {
    expectOnly(vips('192.0.2.1/33'), `${P}.virtual_ipaddress[0]`, 'must be 0..32 for an IPv4 address');
    expectOnly(vips('fe80::1/129'), `${P}.virtual_ipaddress[0]`, 'must be 0..128 for an IPv6 address');
    expect(valid(vips('fe80::1/128')).inst.virtualIpaddress[0]?.prefix).to.equal(128);
  });
  it('keepalived one-line VIP syntax points to the object form', () => {
    expectOnly(vips('192.0.2.5/24 dev eth1 label eth1:0'), `${P}.virtual_ipaddress[0]`, '{ address: ADDR, dev: X, label: Y }');
  });
  it('a zone suffix is refused with a hint', () => {
    expectOnly(vips('fe80::1%eth0'), `${P}.virtual_ipaddress[0]`, 'no %zone suffix');
  });
  it('multicast, loopback, unspecified, broadcast and v4-mapped addresses are not VIPs', () => {
    const cases: [string, string][] = [
      ['224.0.0.18', 'multicast'], ['127.0.0.2', 'loopback'], ['0.0.0.0', 'unspecified'], ['255.255.255.255', 'broadcast'],
      ['ff02::12', 'multicast'], ['::1', 'loopback'], ['::', 'unspecified'], ['::ffff:192.0.2.1', 'IPv4-mapped'],
    ];
    for (const [addr, why] of cases) expectOnly(vips(addr), `${P}.virtual_ipaddress[0]`, why);
  });
  it('VIP objects: address required, dev an interface name, unknown keys refused', () => {
    expectOnly(vips({ dev: 'eth0' }), `${P}.virtual_ipaddress[0].address`, 'required');
    expectOnly(vips({ address: '192.0.2.5', dev: 'eth 1' }), `${P}.virtual_ipaddress[0].dev`, 'a Linux interface name');
    expectOnly(vips({ address: '192.0.2.5/40' }), `${P}.virtual_ipaddress[0].address`, '0..32');
    expectOnly(vips({ address: '192.0.2.5', prefix: 24 }), `${P}.virtual_ipaddress[0].prefix`, 'allowed keys here: address, dev, label');
  });
  it('a label is the device name or starts with "dev:", at most 15 bytes', () => {
    expectOnly(vips({ address: '192.0.2.5', label: 'vip' }), `${P}.virtual_ipaddress[0].label`, 'start with "eth0:"');
    expectOnly(vips({ address: '192.0.2.5', dev: 'eth1', label: 'eth0:1' }), `${P}.virtual_ipaddress[0].label`, 'start with "eth1:"');
    expectOnly(vips({ address: '192.0.2.5', label: 'eth0:0123456789a' }), `${P}.virtual_ipaddress[0].label`, 'at most 15 bytes');
  });

  it('all VIPs of an instance are one family', () => {
    expectOnly(vips('192.0.2.100', '2001:db8::1'), `${P}.virtual_ipaddress[1]`, 'must all be one family');
  });
  it('unicast_src_ip and unicast_peer are of the VIPs family', () => {
    expectOnly(config(instance({ unicast_src_ip: '2001:db8::11' })), `${P}.unicast_src_ip`, '2001:db8::11 is IPv6 but the instance is IPv4');
    expectOnly(config(instance({ unicast_peer: ['192.0.2.12', 'fe80::12'] })), `${P}.unicast_peer[1]`, 'must all be one family');
  });
  it('no VIP twice in an instance, whatever its spelling', () => {
    expectOnly(vips('2001:db8::1', '2001:DB8:0::1/64'), `${P}.virtual_ipaddress[1]`, '2001:db8::1 is already listed at vrrp.instances[0].virtual_ipaddress[0]');
  });
  it('no VIP in two instances', () => {
    const second = instance({ name: 'VI_2', virtual_router_id: 52, virtual_ipaddress: ['192.0.2.7', '192.0.2.100/32'] });
    expectOnly(config(instance(), second), 'vrrp.instances[1].virtual_ipaddress[1]', 'a VIP belongs to one instance only');
  });

  it('unicast_src_ip is one address without prefix', () => {
    expectOnly(config(instance({ unicast_src_ip: '192.0.2.11/24' })), `${P}.unicast_src_ip`, 'without /prefix');
    expectOnly(config(instance({ unicast_src_ip: ['192.0.2.11'] })), `${P}.unicast_src_ip`, 'without /prefix');
    expect(valid(config(instance({ unicast_src_ip: '192.0.2.11' }))).inst.unicastSrcIp).to.equal('192.0.2.11');
  });
  it('unicast_peer is a non-empty list of unique addresses, not the source', () => {
    expectOnly(config(instance({ unicast_peer: [] })), `${P}.unicast_peer`, 'leave the key out for multicast');
    expectOnly(config(instance({ unicast_peer: '192.0.2.12' })), `${P}.unicast_peer`, 'a non-empty list');
    expectOnly(config(instance({ unicast_peer: ['192.0.2.12', '192.0.2.12'] })), `${P}.unicast_peer[1]`, 'listed twice');
    expectOnly(config(instance({ unicast_src_ip: '192.0.2.11', unicast_peer: ['192.0.2.11'] })), `${P}.unicast_peer[0]`, 'not its own peer');
    expectOnly(config(instance({ unicast_peer: ['224.0.0.18'] })), `${P}.unicast_peer[0]`, 'multicast');
    expectOnly(config(instance({ unicast_peer: ['192.0.2.12/24'] })), `${P}.unicast_peer[0]`, 'without /prefix');
  });
  it('unicast peers are kept in canonical form and order', () => {
    const six = instance({ virtual_ipaddress: ['fe80::100'], unicast_src_ip: 'FE80::0:11', unicast_peer: ['fe80:0::13', 'FE80::12'] });
    const { inst } = valid(config(six));
    expect([inst.unicastSrcIp, ...inst.unicastPeer]).to.deep.equal(['fe80::11', 'fe80::13', 'fe80::12']);
  });

  it('warns when the first VIP of an IPv6 instance is not link-local (RFC 5798 5.2.9)', () => {
    expect(valid(vips('fe80::1', '2001:db8::1')).warnings).to.deep.equal([]);
    const { warnings } = valid(vips('2001:db8::1', 'fe80::1'));
    expect(warnings).to.have.length(1);
    expect(warnings[0]?.path).to.equal(`${P}.virtual_ipaddress[0]`);
    expect(warnings[0]?.message).to.include('link-local');
  });
});

describe('config: VIP count per advert', () => {
  it('refuses more IPv6 VIPs than fit in one 1280-byte packet, naming the limit', async () => {
    const { parseConfigText } = await import('../../lib/config/load.js');
    const vips = Array.from({ length: 78 }, (_, i) => `2001:db8:1::${(i + 1).toString(16)}`);
    const r = parseConfigText(
      ['node: { name: n1 }', 'vrrp:', '  instances:', '    - name: VI_6', '      interface: eth0', '      virtual_router_id: 52', `      virtual_ipaddress: [fe80::52, ${vips.join(', ')}]`].join('\n'),
      { hostname: 'h' },
    );
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    const issue = r.issues.find((i) => i.path === 'vrrp.instances[0].virtual_ipaddress');
    expect(issue?.message).to.include('at most 77 IPv6 VIPs');
  });
  it('accepts exactly the limit', async () => {
    const { parseConfigText } = await import('../../lib/config/load.js');
    const vips = Array.from({ length: 76 }, (_, i) => `2001:db8:1::${(i + 1).toString(16)}`);
    const r = parseConfigText(
      ['node: { name: n1 }', 'vrrp:', '  instances:', '    - name: VI_6', '      interface: eth0', '      virtual_router_id: 52', `      virtual_ipaddress: [fe80::52, ${vips.join(', ')}]`].join('\n'),
      { hostname: 'h' },
    );
    expect(r.ok, JSON.stringify(r)).to.equal(true);
  });
});
