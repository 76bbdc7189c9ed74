// `tandem provision`'s generator: every mode and address family, the pair two
// calls make, and a message naming the flag and what is allowed for every
// bad value. Each configuration made is checked with the daemon's validator.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { applyHaSet } from '../../lib/config/ha-set.js';
import { parseConfigText } from '../../lib/config/load.js';
import { checkFlags, provision, type ProvisionFlags, type ProvisionHost, type Provisioned } from '../../lib/config/provision.js';
import { parseRoute } from '../../lib/config/provision-routes.js';
import { daemonUnit, unitWord } from '../../lib/config/provision-units.js';
import type { BlockVolumeConfig, TandemConfig } from '../../lib/config/types.js';

const TEMPLATE = readFileSync('systemd/tandem.service', 'utf8');
const HOST: ProvisionHost = { localAddresses: ['127.0.0.1'], daemonUnit: TEMPLATE, daemon: ['/usr/bin/node', '/opt/tandem/bin/tandem'] };
const A: ProvisionFlags = {
  name: 'esc-ha-0', haMode: 'drbd', haNodeList: '192.0.2.11 192.0.2.12', kadVip: '192.0.2.100/24', kadVif: 'eth0',
  peerName: 'esc-ha-1', ipaddr: '192.0.2.11', configDir: '/etc/tandem',
};

// The generator's errors, or what it made.
function run(flags: ProvisionFlags, host: Partial<ProvisionHost> = {}): { out: Provisioned; config: TandemConfig } | string[] {
  const c = checkFlags(flags);
  if (Array.isArray(c)) return c;
  const r = provision(c, { ...HOST, ...host });
  if (!r.ok) return r.errors;
  // The daemon's own parser: what `tandem daemon --config` would run with.
  const v = parseConfigText(r.out.config);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return { out: r.out, config: v.config };
}

function made(flags: ProvisionFlags, host: Partial<ProvisionHost> = {}): { out: Provisioned; config: TandemConfig } {
  const r = run(flags, host);
  if (Array.isArray(r)) throw new Error(r.join('\n'));
  return r;
}

function refused(flags: ProvisionFlags, host: Partial<ProvisionHost> = {}): string {
  const r = run(flags, host);
  if (!Array.isArray(r)) throw new Error(`accepted:\n${r.out.config}`);
  return r.join('\n');
}

const volume = (c: TandemConfig): BlockVolumeConfig => c.replication.volumes[0] as BlockVolumeConfig;

describe('config/provision (bootvm-style flags -> config and units)', () => {
  it('drbd: a BACKUP / nopreempt instance as ha set writes it, a db volume on an image file, no warnings', () => {
    const { out, config } = made({ ...A, gatewayIp: '192.0.2.1' });
    expect(out.warnings).to.deep.equal([]);
    expect(config.node.name).to.equal('esc-ha-0');
    const i = config.vrrp.instances[0];
    expect([i?.name, i?.interface, i?.virtualRouterId, i?.priority, i?.initialState, i?.nopreempt, i?.checkUnicastSrc]).to.deep.equal(['VI_1', 'eth0', 100, 110, 'BACKUP', true, true]);
    expect([i?.unicastSrcIp, i?.unicastPeer]).to.deep.equal(['192.0.2.11', ['192.0.2.12']]);
    expect(i?.virtualIpaddress).to.deep.equal([{ address: '192.0.2.100', prefix: 24, family: 4, dev: 'eth0' }]);
    const v = volume(config);
    expect([v.name, v.device, v.size, v.listen, v.peers]).to.deep.equal([
      'db', '/var/lib/tandem/db.img', 10 * 2 ** 30, { host: '192.0.2.11', port: 7789 }, [{ name: 'esc-ha-1', address: { host: '192.0.2.12', port: 7789 } }],
    ]);
    expect(config.replication.secretFile).to.equal('/etc/tandem/secret');
    expect(config.startup).to.deep.equal({ witness: '192.0.2.1' });
    expect(out.secretFile).to.equal('/etc/tandem/secret');
    expect(out.configFile).to.equal('/etc/tandem/tandem.yaml');
    expect(out.config).to.include('# Node esc-ha-0 of an HA pair');
    // `tandem ha set` with the same flags afterwards finds nothing to change.
    const again = applyHaSet(out.config, { haNodeList: A.haNodeList ?? '', kadVip: A.kadVip ?? '', kadVif: A.kadVif ?? '' }, ['192.0.2.11']);
    expect(again.ok && again.changes).to.deep.equal([]);
  });

  it('drbd: --db_volume_id names the image, --db_size its size; an existing file or device keeps its own size', () => {
    const img = made({ ...A, dbVolumeId: '/srv/db.img', dbSize: '2GiB', secretFile: '/root/s' }).config;
    expect([volume(img).device, volume(img).size, img.replication.secretFile]).to.deep.equal(['/srv/db.img', 2 ** 31, '/root/s']);
    const existing = made({ ...A, dbVolumeId: '/srv/db.img' }, { device: { kind: 'file', bytes: 3 * 2 ** 30 } }).config;
    expect(volume(existing).size).to.equal(3 * 2 ** 30);
    const dev = made({ ...A, dbVolumeId: '/dev/vdb' }, { device: { kind: 'block-device', bytes: 2 ** 32 } }).config;
    expect([volume(dev).device, volume(dev).size]).to.deep.equal(['/dev/vdb', 2 ** 32]);
    expect(refused({ ...A, dbVolumeId: '/srv/db.img', dbSize: '1GiB' }, { device: { kind: 'file', bytes: 3 * 2 ** 30 } }))
      .to.include('--db_size "1GiB": /srv/db.img holds 3221225472 bytes, and the volume\'s size must be exactly that');
    expect(refused({ ...A, dbVolumeId: '/srv/x' }, { device: { kind: 'other' } })).to.include('neither a regular file nor a block device');
  });

  it('drbd_on_cinder: the attached device (a path or a cinder id), its own size; missing, it needs --db_size', () => {
    const cinder = { ...A, haMode: 'drbd_on_cinder', dbVolumeId: '/dev/vdb' };
    const { config, out } = made(cinder, { device: { kind: 'block-device', bytes: 3 * 2 ** 30 } });
    expect([volume(config).device, volume(config).size]).to.deep.equal(['/dev/vdb', 3 * 2 ** 30]);
    expect(out.config).to.include('the volume db replicated to esc-ha-1 (--ha_mode drbd_on_cinder)');
    const byId = made({ ...cinder, dbVolumeId: '6A1B2C3D-0000-4000-8000-00000000000F', dbSize: '3GiB' }).config;
    expect(volume(byId).device).to.equal('/dev/disk/by-id/virtio-6a1b2c3d-0000-4000-8');
    expect(refused(cinder)).to.include('/dev/vdb does not exist (is the volume attached?); attach it first, or give --db_size');
    expect(refused(cinder, { device: { kind: 'file', bytes: 4096 } })).to.include('is a regular file; drbd_on_cinder replicates an attached block device');
    expect(refused({ ...A, haMode: 'drbd_on_cinder' })).to.include('--db_volume_id is required with --ha_mode drbd_on_cinder');
    expect(refused({ ...cinder, dbVolumeId: '/srv/db.img' })).to.include('drbd_on_cinder replicates an attached device (a path under /dev/');
  });

  it('no_ha: VIP failover only, nothing replicated, no secret; more than two nodes are fine', () => {
    const flags: ProvisionFlags = { name: 'web-1', haMode: 'no_ha', haNodeList: '192.0.2.11 192.0.2.12 192.0.2.13', kadVip: '192.0.2.100', kadVif: 'eth0', ipaddr: '192.0.2.12', configDir: '/etc/tandem' };
    const { config, out } = made(flags);
    expect(config.replication.volumes).to.deep.equal([]);
    expect(out.secretFile).to.equal(null);
    expect(config.vrrp.instances[0]?.unicastPeer).to.deep.equal(['192.0.2.11', '192.0.2.13']);
    expect(out.config).to.include('VIP failover only (--ha_mode no_ha: nothing replicated)');
    expect(out.config).to.not.include('startup'); // no volume, no boot gate: nothing to say about a witness
    expect(refused({ ...flags, peerName: 'b', dbSize: '1GiB' })).to.include('--peer_name, --db_size: only with --ha_mode drbd or drbd_on_cinder');
    expect(refused({ ...A, haNodeList: '192.0.2.11 192.0.2.12 192.0.2.13' })).to.include('lists 3 addresses: --ha_mode drbd replicates to one peer (--peer_name), so list exactly two');
  });

  it('IPv6: [VIP/prefix]:iface, the VRID from its last byte, bracketed replication addresses; only the link-local warning', () => {
    const { config, out } = made({ ...A, haNodeList: '2001:db8::11 2001:DB8::12', kadVip: '[2001:db8::64/64]:eth1', ipaddr: '2001:db8::11', gatewayIp: '2001:db8::1' });
    const i = config.vrrp.instances[0];
    expect([i?.family, i?.virtualRouterId, i?.unicastSrcIp, i?.unicastPeer]).to.deep.equal([6, 100, '2001:db8::11', ['2001:db8::12']]);
    expect(i?.virtualIpaddress[0]).to.deep.include({ address: '2001:db8::64', prefix: 64, dev: 'eth1' });
    expect([volume(config).listen, volume(config).peers[0]?.address]).to.deep.equal([{ host: '2001:db8::11', port: 7789 }, { host: '2001:db8::12', port: 7789 }]);
    expect(out.config).to.include('listen: "[2001:db8::11]:7789"');
    expect(out.warnings.map((w) => w.message)).to.have.length(1).and.to.match(/^the first VIP of an IPv6 instance should be a link-local/);
  });

  it('--kad_vri overrides the VIP\'s last byte; a VIP ending in 0 needs it', () => {
    expect(made({ ...A, kadVri: '7' }).config.vrrp.instances[0]?.virtualRouterId).to.equal(7);
    // 192.0.3.0 is a host of its /23 (whose network is 192.0.2.0), yet ends in 0.
    expect(refused({ ...A, kadVip: '192.0.3.0/23' })).to.include('the VIP\'s last byte is 0, not a virtual router id; give --kad_vri');
    expect(made({ ...A, kadVip: '192.0.3.0/23', kadVri: '9' }).config.vrrp.instances[0]?.virtualRouterId).to.equal(9);
    // The /24's own network address is no VIP at all.
    expect(refused({ ...A, kadVip: '192.0.2.0/24', kadVri: '9' })).to.include('192.0.2.0 is the network address of its /24');
  });

  it('--kad_unicast_src_ip / --kad_unicast_peer move the adverts to other addresses; the volume stays on the node list', () => {
    const { config } = made({ ...A, kadVip: '198.51.100.100/24', kadUnicastSrcIp: '198.51.100.11', kadUnicastPeer: '198.51.100.12' });
    const i = config.vrrp.instances[0];
    expect([i?.unicastSrcIp, i?.unicastPeer]).to.deep.equal(['198.51.100.11', ['198.51.100.12']]);
    expect([volume(config).listen.host, volume(config).peers[0]?.address.host]).to.deep.equal(['192.0.2.11', '192.0.2.12']);
  });

  it('this node\'s entry: among --ipaddr (ESC passes several), or among the host\'s addresses without it', () => {
    expect(made({ ...A, ipaddr: '2001:db8::5 192.0.2.12 10.0.0.5' }).config.vrrp.instances[0]?.unicastSrcIp).to.equal('192.0.2.12');
    const { ipaddr: _, ...noIp } = A;
    expect(made(noIp, { localAddresses: ['127.0.0.1', '192.0.2.12'] }).config.vrrp.instances[0]?.unicastSrcIp).to.equal('192.0.2.12');
    expect(refused(noIp, { localAddresses: ['127.0.0.1'] })).to.include('none of this host\'s addresses (127.0.0.1) is in it; give --ipaddr');
    expect(refused({ ...A, ipaddr: '10.0.0.5' })).to.include('--ha_node_list "192.0.2.11 192.0.2.12": none of --ipaddr "10.0.0.5" is in it; exactly one must be in it');
    expect(refused({ ...A, ipaddr: '192.0.2.11 192.0.2.12' })).to.include('more than one of --ipaddr');
  });

  it('two calls, one per node, with swapped --ipaddr (or a swapped list) make a pair that names each other', () => {
    const pair = (a: ProvisionFlags, b: ProvisionFlags): void => {
      const x = made(a).config;
      const y = made(b).config;
      const [ix, iy] = [x.vrrp.instances[0], y.vrrp.instances[0]];
      expect(ix?.virtualRouterId).to.equal(iy?.virtualRouterId);
      expect(ix?.virtualIpaddress).to.deep.equal(iy?.virtualIpaddress);
      expect([ix?.nopreempt, ix?.initialState]).to.deep.equal([iy?.nopreempt, iy?.initialState]);
      // Never a tie at boot: the lower address has the higher priority, on both nodes' files.
      const low = (ix?.unicastSrcIp ?? '') < (iy?.unicastSrcIp ?? '') ? [ix, iy] : [iy, ix];
      expect([low[0]?.priority, low[1]?.priority]).to.deep.equal([110, 100]);
      expect(ix?.unicastPeer).to.deep.equal([iy?.unicastSrcIp]);
      expect(iy?.unicastPeer).to.deep.equal([ix?.unicastSrcIp]);
      const [vx, vy] = [volume(x), volume(y)];
      expect(vx.peers).to.deep.equal([{ name: y.node.name, address: vy.listen }]);
      expect(vy.peers).to.deep.equal([{ name: x.node.name, address: vx.listen }]);
      expect([vx.name, vx.size, x.replication.secretFile]).to.deep.equal([vy.name, vy.size, y.replication.secretFile]);
    };
    const B: ProvisionFlags = { ...A, name: 'esc-ha-1', peerName: 'esc-ha-0', ipaddr: '192.0.2.12' };
    pair(A, B);
    pair(A, { ...B, haNodeList: '192.0.2.12 192.0.2.11' });
    pair({ ...A, haNodeList: '2001:db8::11 2001:db8::12', ipaddr: '2001:db8::11', kadVip: '[fe80::64/64]:eth0', kadVri: '64' },
      { ...B, haNodeList: '2001:db8::11 2001:db8::12', ipaddr: '2001:db8::12', kadVip: '[fe80::64/64]:eth0', kadVri: '64' });
  });

  it('every bad flag value is refused with the flag, what was wrong and what is allowed; all of them at once', () => {
    const cases: Array<[Partial<ProvisionFlags>, string]> = [
      [{ name: 'esc ha' }, 'NAME "esc ha": must be 1..63 characters from A-Z a-z 0-9 _ . -'],
      [{ haMode: 'ha' }, '--ha_mode "ha": must be one of "no_ha", "drbd" or "drbd_on_cinder"'],
      [{ haMode: 'cinder' }, '--ha_mode cinder: ESC\'s cinder mode (one shared volume moved to the MASTER) is not supported'],
      [{ haNodeList: '192.0.2.11 host-b' }, '--ha_node_list "192.0.2.11 host-b": "host-b" is not an IPv4 address; allowed: two or more IPv4 addresses'],
      [{ haNodeList: '192.0.2.11' }, 'lists fewer than two nodes'],
      [{ haNodeList: '192.0.2.11 192.0.2.11' }, 'lists an address twice'],
      [{ kadVip: '192.0.2.300' }, '--kad_vip "192.0.2.300": "192.0.2.300" is not an IP address; allowed: ADDRESS[/PREFIX][:IFACE]'],
      [{ kadVif: 'eth/0' }, '--kad_vif "eth/0": must be a Linux interface name'],
      [{ kadVri: '300' }, '--kad_vri 300: must be an integer 1..255'],
      [{ kadVri: 'x' }, '--kad_vri "x": must be an integer 1..255'],
      // A flag has no quotes to drop: no YAML hint.
      [{ kadVri: '0x10' }, '--kad_vri "0x10": must be an integer 1..255 (written in decimal)'],
      [{ kadUnicastSrcIp: '198.51.100.11' }, '--kad_unicast_src_ip needs --kad_unicast_peer: give both'],
      [{ kadUnicastSrcIp: '198.51.100.11', kadUnicastPeer: '2001:db8::2' }, '--kad_unicast_peer "2001:db8::2": an IPv6 address, but the VIP is IPv4'],
      [{ kadUnicastSrcIp: '198.51.100.11', kadUnicastPeer: '198.51.100.11' }, 'which is --kad_unicast_src_ip: a node is not its own peer'],
      [{ kadUnicastSrcIp: 'x', kadUnicastPeer: '198.51.100.12' }, '--kad_unicast_src_ip "x": must be an IPv4 or IPv6 address without /prefix'],
      [{ peerName: undefined }, '--peer_name is required with --ha_mode drbd: the peer\'s NAME'],
      [{ haMode: undefined }, '--ha_mode is required: one of no_ha, drbd, drbd_on_cinder'],
      [{ kadVip: undefined }, '--kad_vip is required: the VIP, e.g. 192.0.2.100/24'],
      [{ peerName: 'esc-ha-0' }, '--peer_name "esc-ha-0" is NAME: give the other node\'s name'],
      [{ peerName: 'a b' }, '--peer_name "a b": must be 1..63 characters'],
      [{ dbVolumeId: 'db.img' }, '--db_volume_id "db.img": must be an absolute path (an image file, or a device such as /dev/vdb; no newline or other control character) or a cinder volume id'],
      [{ dbSize: '10GB' }, '--db_size "10GB": must be a whole number of bytes, or a string such as "10GiB"'],
      [{ dbSize: '1000' }, '--db_size "1000": 1000 bytes is not a multiple of 4096'],
      [{ ipaddr: 'node-a' }, '--ipaddr "node-a": must be an IPv4 or IPv6 address without /prefix'],
      [{ gatewayIp: '192.0.2.1/24' }, '--gateway_ip "192.0.2.1/24": a prefix is not part of the witness'],
      [{ gatewayIp: '127.0.0.1' }, '127.0.0.1 is a loopback address, which always answers'],
      [{ gatewayIp: '192.0.2.12' }, 'startup.witness: "192.0.2.12" is not allowed: 192.0.2.12 is a peer of VI_1'],
      [{ route: ['10.0.0.0/8'] }, '--route "10.0.0.0/8": a gateway or an interface must follow the prefix; allowed: PREFIX[/LEN]:GATEWAY:IFACE'],
      [{ route: ['192.0.2.254/24:192.168.0.1:eth1'] }, '--route "192.0.2.254/24:192.168.0.1:eth1": 192.0.2.254/24 has host bits set: the network is 192.0.2.0/24'],
      [{ route: ['10.0.0.0/8:10.0.0.1:eth1', '10.0.0.0/8:eth2'] }, '--route: 10.0.0.0/8 is given twice'],
      [{ secretFile: 'secret' }, '--secret_file "secret": must be an absolute path'],
      [{ configDir: 'etc' }, '--config-dir "etc": must be an absolute path'],
    ];
    for (const [over, want] of cases) expect(refused({ ...A, ...over }), want).to.include(want);
    expect(refused({ ...A, gatewayIp: '192.0.2.12' })).to.include('(from --gateway_ip)');
    const all = refused({ ...A, name: '', kadVri: '0', route: ['x'] }).split('\n');
    expect(all).to.have.length(3);
    // A bad node list beside a bad VIP: both.
    const both = refused({ ...A, kadVip: '1.2.3', haNodeList: 'x y' });
    expect(both).to.include('--kad_vip "1.2.3"').and.include('--ha_node_list "x y": "x" is not an IPv4 address');
    // Every missing required flag at once, not one per run.
    const none = refused({ name: 'esc-ha-0', configDir: '/etc/tandem' }).split('\n');
    expect(none.filter((l) => l.includes(' is required: '))).to.have.length(4);
  });

  it('--route forms: IPv4 via and dev, dev or via alone, IPv6 in brackets; bad ones say what is allowed', () => {
    expect(parseRoute('172.16.0.0/16:192.168.0.1:eth1')).to.deep.equal({ prefix: '172.16.0.0/16', family: 4, via: '192.168.0.1', dev: 'eth1' });
    expect(parseRoute('172.16.0.0:eth1')).to.deep.equal({ prefix: '172.16.0.0/32', family: 4, via: null, dev: 'eth1' });
    expect(parseRoute('0.0.0.0/0:192.0.2.1')).to.deep.equal({ prefix: '0.0.0.0/0', family: 4, via: '192.0.2.1', dev: null });
    expect(parseRoute('[2001:DB8:1::/48]:[2001:db8::1]:eth0')).to.deep.equal({ prefix: '2001:db8:1::/48', family: 6, via: '2001:db8::1', dev: 'eth0' });
    expect(parseRoute('[2001:db8:1::/48]:2001:db8::1:eth0')).to.deep.include({ via: '2001:db8::1', dev: 'eth0' });
    expect(parseRoute('[2001:db8:1::/48]:eth0')).to.deep.include({ via: null, dev: 'eth0' });
    const bad: Array<[string, string]> = [
      ['2001:db8:1::/48:eth0', 'is not a network address (an IPv6 prefix goes in brackets)'],
      ['10.0.0.0/33:eth0', 'the prefix length must be 0..32'],
      ['10.0.0.0/8:[2001:db8::1]:eth0', 'the gateway 2001:db8::1 is IPv6 but the prefix is IPv4'],
      ['10.0.0.0/8:10.0.0.1:eth/0', '"eth/0" is not an interface name'],
      ['10.0.0.0/8:10.0.0:eth0', '"10.0.0" is not a gateway address'],
      ['[2001:db8:1::1/48]:eth0', 'has host bits set: the network is 2001:db8:1::/48'],
      ['10.0.0.0/8:224.0.0.1:eth0', 'the gateway 224.0.0.1 is a multicast address, which no router holds; a gateway is a unicast address'],
      ['10.0.0.0/8:0.0.0.0:eth0', 'the gateway 0.0.0.0 is the unspecified address'],
      ['10.0.0.0/8:255.255.255.255', 'the gateway 255.255.255.255 is the broadcast address'],
      ['10.0.0.0/8:240.0.0.1', 'is a reserved address (240.0.0.0/4)'],
      ['[2001:db8:1::/48]:[ff02::1]:eth0', 'the gateway ff02::1 is a multicast address'],
      ['[2001:db8:1::/48]:[::]:eth0', 'the gateway :: is the unspecified address'],
    ];
    for (const [text, want] of bad) expect(parseRoute(text), text).to.be.a('string').and.include(want).and.include(`--route ${JSON.stringify(text)}`);
  });

  it('units: the shipped tandem.service run on this config; with --route a oneshot routes unit before it', () => {
    const plain = made(A).out.units;
    expect(plain.map((u) => u.name)).to.deep.equal(['tandem.service']);
    const text = plain[0]?.text ?? '';
    expect(text).to.match(/^ExecStart=\/usr\/bin\/node \/opt\/tandem\/bin\/tandem daemon --config \/etc\/tandem\/tandem\.yaml$/m);
    expect(text).to.not.include('tandem-routes');
    // Everything else is the shipped unit's, line for line.
    expect(text).to.match(/^ExecReload=\/usr\/bin\/node \/opt\/tandem\/bin\/tandem reload --config \/etc\/tandem\/tandem\.yaml$/m);
    const rewritten = (l: string): boolean => l.startsWith('ExecStart=') || l.startsWith('ExecReload=');
    expect(text.split('\n').filter((l) => !rewritten(l) && !l.startsWith('# Written by'))).to.deep.equal(TEMPLATE.split('\n').filter((l) => !rewritten(l)));
    const routed = made({ ...A, route: ['172.16.0.0/16:192.0.2.1:eth1 [2001:db8:1::/48]:[2001:db8::1]:eth0'] }).out.units;
    expect(routed.map((u) => u.name)).to.deep.equal(['tandem.service', 'tandem-routes.service']);
    expect(routed[0]?.text).to.match(/^\[Unit\]\n(?:.*\n)*Wants=tandem-routes\.service\nAfter=tandem-routes\.service\n\n\[Service\]/m);
    const routes = routed[1]?.text.split('\n') ?? [];
    expect(routes).to.include.members([
      'Before=tandem.service', 'Type=oneshot', 'RemainAfterExit=yes',
      'ExecStart=ip route replace 172.16.0.0/16 via 192.0.2.1 dev eth1', 'ExecStart=ip route replace 2001:db8:1::/48 via 2001:db8::1 dev eth0',
      'ExecStop=-ip route del 172.16.0.0/16 via 192.0.2.1 dev eth1', 'WantedBy=multi-user.target',
    ]);
  });

  it('unit words: spaces quoted, % and $ escaped, so a path is taken as written', () => {
    expect(unitWord('/opt/tandem/bin/tandem')).to.equal('/opt/tandem/bin/tandem');
    expect(unitWord('/opt/my tandem/x')).to.equal('"/opt/my tandem/x"');
    expect(unitWord('/srv/100%/$HOME')).to.equal('"/srv/100%%/$$HOME"');
    const u = daemonUnit(TEMPLATE, ['/usr/bin/node', '/opt/a b/bin/tandem'], '/etc/t/tandem.yaml', 'n', false);
    expect(u.text).to.include('ExecStart=/usr/bin/node "/opt/a b/bin/tandem" daemon --config /etc/t/tandem.yaml\n');
    expect(u.text).to.include('ExecReload=/usr/bin/node "/opt/a b/bin/tandem" reload --config /etc/t/tandem.yaml\n');
    expect(() => daemonUnit('[Service]\n', ['/x'], '/c', 'n', false)).to.throw('no [Unit] section or no ExecStart= line');
  });
});
