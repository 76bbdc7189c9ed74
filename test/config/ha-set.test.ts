import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { applyHaSet, parseKadVip } from '../../lib/config/ha-set.js';
import { parseConfigText } from '../../lib/config/load.js';

const NODE_A = readFileSync('docs/examples/node-a.yaml', 'utf8');
const MINIMAL = 'node: { name: node-a }  # keep me\n';

describe('config/ha-set (escadm ha set)', () => {
  it('--kad_vip forms: IPv4 with and without prefix and interface, IPv6 in brackets; bad ones say what is allowed', () => {
    expect(parseKadVip('192.0.2.100')).to.deep.equal({ address: '192.0.2.100', prefix: 32, family: 4, dev: null });
    expect(parseKadVip('192.0.2.100/24:eth1')).to.deep.equal({ address: '192.0.2.100', prefix: 24, family: 4, dev: 'eth1' });
    expect(parseKadVip('[2001:DB8::64/64]:eth0')).to.deep.equal({ address: '2001:db8::64', prefix: 64, family: 6, dev: 'eth0' });
    expect(parseKadVip('2001:db8::64')).to.deep.equal({ address: '2001:db8::64', prefix: 128, family: 6, dev: null });
    for (const bad of ['192.0.2.300', '192.0.2.1/33', '192.0.2.1/x', '[2001:db8::1/129]:eth0', '192.0.2.1:bad/if']) {
      expect(parseKadVip(bad), bad).to.be.a('string').and.include('--kad_vip');
    }
  });

  it('edits the first instance of a commented file in place: comments and other keys stay, the result validates', () => {
    const r = applyHaSet(NODE_A, { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.200/24', kadVif: 'ens3' }, ['127.0.0.1', '192.0.2.21']);
    if (!r.ok) throw new Error(r.error);
    expect(r.changes).to.deep.equal([
      'vrrp.instances[0].interface: "eth0" -> "ens3"',
      'vrrp.instances[0].virtual_ipaddress: ["192.0.2.100/24",{"address":"192.0.2.101/24","label":"eth0:web"}] -> ["192.0.2.200/24"]',
      'vrrp.instances[0].unicast_src_ip: "192.0.2.11" -> "192.0.2.21"',
      'vrrp.instances[0].unicast_peer: ["192.0.2.12"] -> ["192.0.2.22"]',
    ]);
    for (const comment of ['# node-a: the preferred MASTER', '# node-b has 100: node-a wins', '# Private side: the gateway address']) expect(r.text).to.include(comment);
    const v = parseConfigText(r.text);
    if (!v.ok) throw new Error(JSON.stringify(v.issues));
    const i = v.config.vrrp.instances[0];
    expect([i?.interface, i?.virtualRouterId, i?.priority, i?.unicastSrcIp, i?.unicastPeer], 'the VRID kept').to.deep.equal(['ens3', 51, 150, '192.0.2.21', ['192.0.2.22']]);
    // Lists the edit did not touch keep their [a, b] form.
    expect(r.text).to.include('unicast_peer: [198.51.100.12]');
    const vri = applyHaSet(NODE_A, { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.200/24', kadVif: 'ens3', kadVri: 200 }, ['192.0.2.21']);
    expect(vri.ok && vri.changes).to.include('vrrp.instances[0].virtual_router_id: 51 -> 200');
    expect(v.config.vrrp.instances[1]?.name).to.equal('VI_PRIVATE');
  });

  it('creates VI_1 in a file without VRRP; the VRID defaults to the VIP\'s last byte; a VIP on another interface keeps its dev', () => {
    const r = applyHaSet(MINIMAL, { haNodeList: '10.0.0.1,10.0.0.2', kadVip: '10.0.0.77:eth9', kadVif: 'eth0' }, ['10.0.0.2']);
    if (!r.ok) throw new Error(r.error);
    expect(r.text).to.include('# keep me');
    expect(r.changes).to.deep.equal([
      'vrrp.instances[0]: new instance VI_1', 'vrrp.instances[0].priority: (none) -> 100', 'vrrp.instances[0].interface: (none) -> "eth0"',
      'vrrp.instances[0].virtual_router_id: (none) -> 77', 'vrrp.instances[0].virtual_ipaddress: (none) -> [{"address":"10.0.0.77/32","dev":"eth9"}]',
      'vrrp.instances[0].unicast_src_ip: (none) -> "10.0.0.2"', 'vrrp.instances[0].unicast_peer: (none) -> ["10.0.0.1"]',
    ]);
    const v = parseConfigText(r.text);
    if (!v.ok) throw new Error(JSON.stringify(v.issues));
    const i = v.config.vrrp.instances[0];
    expect([i?.name, i?.virtualRouterId, i?.unicastSrcIp, i?.unicastPeer]).to.deep.equal(['VI_1', 77, '10.0.0.2', ['10.0.0.1']]);
    expect(i?.virtualIpaddress[0]).to.deep.include({ address: '10.0.0.77', prefix: 32, dev: 'eth9' });
  });

  it('setting what is already there changes nothing', () => {
    const flags = { haNodeList: '192.0.2.11 192.0.2.12', kadVip: '192.0.2.100/24', kadVif: 'eth0', kadVri: 51, instance: 'VI_PRIVATE' };
    const once = applyHaSet(NODE_A, flags, ['192.0.2.11']);
    if (!once.ok) throw new Error(once.error);
    const twice = applyHaSet(once.text, flags, ['192.0.2.11']);
    expect(twice.ok && twice.changes).to.deep.equal([]);
  });

  it('changes only the bytes of the values it sets: flow mappings, long lists, spacing and comments elsewhere stay as written', () => {
    const src = [
      'node: { name: n1, state_dir: /var/lib/tandem, control_socket: /run/tandem/control.sock }   # one line',
      'services:',
      '  - name: web',
      '    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", "/srv/www/static"]',
      '    health: { http: "http://127.0.0.1:8080/" }',
      'vrrp:',
      '  instances:',
      '    - name: VI_1',
      '      interface: eth0        # the service net',
      '      virtual_router_id: 51',
      '      priority: 150',
      '      virtual_ipaddress:',
      '        - 192.0.2.100/24   # public',
      '      unicast_src_ip: 192.0.2.11',
      '      unicast_peer: [ 192.0.2.12 ]   # node-b',
      '',
    ].join('\n');
    const r = applyHaSet(src, { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.101/24:eth1', kadVif: 'ens3' }, ['192.0.2.21']);
    if (!r.ok) throw new Error(r.error);
    const want = src
      .replace('interface: eth0  ', 'interface: ens3  ')
      .replace('        - 192.0.2.100/24   # public\n', '        - { address: 192.0.2.101/24, dev: eth1 }\n')
      .replace('unicast_src_ip: 192.0.2.11', 'unicast_src_ip: 192.0.2.21')
      .replace('unicast_peer: [ 192.0.2.12 ]', 'unicast_peer: [192.0.2.22]');
    expect(r.text).to.equal(want);
    // A VIP the list keeps keeps its line, comment and all; the others go.
    const two = src.replace('        - 192.0.2.100/24   # public\n', '        - 192.0.2.99/24 # old one\n        - 192.0.2.100/24   # public\n');
    const kept = applyHaSet(two, { haNodeList: '192.0.2.11 192.0.2.12', kadVip: '192.0.2.100/24', kadVif: 'eth0' }, ['192.0.2.11']);
    if (!kept.ok) throw new Error(kept.error);
    expect(kept.text).to.equal(src);
    // A key the instance lacks is added as a line of its own, at the end of the instance.
    const add = applyHaSet(src.replace('      unicast_src_ip: 192.0.2.11\n', ''), { haNodeList: '192.0.2.21 192.0.2.12', kadVip: '192.0.2.100/24', kadVif: 'eth0' }, ['192.0.2.21']);
    if (!add.ok) throw new Error(add.error);
    expect(add.text).to.equal(src.replace('      unicast_src_ip: 192.0.2.11\n', '').replace('   # node-b\n', '   # node-b\n      unicast_src_ip: 192.0.2.21\n'));
    // An instance written as a flow mapping cannot be edited so: the file is re-printed (and still valid).
    const flow = applyHaSet('vrrp:\n  instances:\n    - { name: VI_1, interface: eth0, virtual_router_id: 51, priority: 100, virtual_ipaddress: [192.0.2.100/24] }\n', { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.100/24', kadVif: 'ens3' }, ['192.0.2.21']);
    expect(flow.ok && flow.text).to.include('interface: ens3');
    // Re-printed whole, a CRLF file stays CRLF (it became LF).
    const flowCrlf = applyHaSet('# site a\r\nvrrp:\r\n  instances:\r\n    - { name: VI_1, interface: eth0, virtual_router_id: 51, priority: 100, virtual_ipaddress: [192.0.2.100/24] }\r\n', { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.100/24', kadVif: 'ens3' }, ['192.0.2.21']);
    if (!flowCrlf.ok) throw new Error(flowCrlf.error);
    expect(flowCrlf.text).to.include('interface: ens3').and.match(/^# site a\r\n/).and.match(/\r\n$/);
    expect(flowCrlf.text.replace(/\r\n/g, ''), 'no bare LF left').to.not.include('\n');
  });

  it('an anchored value is refused (its aliases elsewhere would change too); a CRLF file stays CRLF; a file without a last line end gets one before an added key', () => {
    const shared = NODE_A.replace('unicast_peer: [192.0.2.12]', 'unicast_peer: &peers [192.0.2.12]').replace('unicast_peer: [198.51.100.12]', 'unicast_peer: *peers');
    const r = applyHaSet(shared, { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.200/24', kadVif: 'ens3' }, ['192.0.2.21']);
    expect(r.ok ? 'accepted' : r.error).to.equal('vrrp.instances[0].unicast_peer carries the anchor &peers, which other keys may use through *peers; change it by hand, or drop the anchor first');
    const lf = 'vrrp:\n  instances:\n    - name: VI_1\n      interface: eth0\n      virtual_router_id: 51\n      priority: 100\n      virtual_ipaddress:\n        - 192.0.2.100/24\n      unicast_peer: [192.0.2.12]';
    const flags = { haNodeList: '192.0.2.21 192.0.2.12', kadVip: '192.0.2.101/24', kadVif: 'eth0' };
    const crlf = applyHaSet(`${lf}\n`.replace(/\n/g, '\r\n'), flags, ['192.0.2.21']);
    if (!crlf.ok) throw new Error(crlf.error);
    expect(crlf.text).to.equal(`${lf}\n`.replace('192.0.2.100/24', '192.0.2.101/24').replace(/\n/g, '\r\n') + '      unicast_src_ip: 192.0.2.21\r\n');
    const open = applyHaSet(lf, flags, ['192.0.2.21']);
    if (!open.ok) throw new Error(open.error);
    expect(open.text).to.equal(`${lf.replace('192.0.2.100/24', '192.0.2.101/24')}\n      unicast_src_ip: 192.0.2.21\n`);
  });

  it('refuses, saying what is allowed: no local address, two local addresses, a family mix, one node, a VRID of 0, bad YAML', () => {
    const cases: Array<[string, Parameters<typeof applyHaSet>[1], string[], string]> = [
      [NODE_A, { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.5', kadVif: 'eth0' }, ['192.0.2.99'], 'none of these addresses is on this host (its addresses: 192.0.2.99)'],
      [NODE_A, { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.5', kadVif: 'eth0' }, ['192.0.2.21', '192.0.2.22'], 'more than one of these addresses'],
      [NODE_A, { haNodeList: '192.0.2.21 2001:db8::2', kadVip: '192.0.2.5', kadVif: 'eth0' }, ['192.0.2.21'], '"2001:db8::2" is not an IPv4 address'],
      [NODE_A, { haNodeList: '192.0.2.21', kadVip: '192.0.2.5', kadVif: 'eth0' }, ['192.0.2.21'], 'fewer than two nodes'],
      [MINIMAL, { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.0', kadVif: 'eth0' }, ['192.0.2.21'], 'the VIP\'s last byte is 0'], // a new instance
      ['vrrp: [unclosed', { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.5', kadVif: 'eth0' }, ['192.0.2.21'], 'not valid YAML'],
    ];
    for (const [src, flags, local, want] of cases) {
      const r = applyHaSet(src, flags, local);
      expect(r.ok, want).to.equal(false);
      expect(r.ok ? '' : r.error).to.include(want);
    }
  });

  it('a file of the wrong shape is refused as the file\'s fault (exit 78), saying what is there, never replaced nor a library error', () => {
    const flags = { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.5', kadVif: 'eth0' };
    const cases: Array<[string, string]> = [
      ['node: {name: a}\nvrrp: TODO ask netops\n', 'vrrp is the value "TODO ask netops", not a mapping; fix the file first'],
      ['node: {name: a}\nvrrp: [oops]\n', 'vrrp is a list, not a mapping; fix the file first'],
      ['node: {name: a}\nvrrp: {instances: {VI_1: {}}}\n', 'vrrp.instances is a mapping, not a list'],
      ['node: {name: a}\nvrrp: {instances: 7}\n', 'vrrp.instances is the value 7, not a list'],
      ['node: {name: a}\nvrrp:\n  instances:\n    - VI_1\n', 'vrrp.instances[0] is the value "VI_1", not a mapping (name: VI_1, interface: ...); fix the file first'],
      ['node: {name: a}\nvrrp:\n  instances:\n    -\n', 'vrrp.instances[0] is empty, not a mapping'],
      ['- a\n', 'the file\'s top level is not a mapping (node:, vrrp: ...); fix the file first'],
      ['node: {}\nnode: {}\n', 'the configuration is not valid YAML: Map keys must be unique'],
    ];
    for (const [src, want] of cases) {
      const r = applyHaSet(src, flags, ['192.0.2.21']);
      expect(r, src).to.deep.include({ ok: false, file: true });
      expect(r.ok ? '' : r.error, src).to.include(want);
    }
    // An empty vrrp (or none) is filled in, as before.
    for (const src of ['node: {name: a}\nvrrp:\n', 'node: {name: a}\nvrrp: {instances: }\n', '']) expect(applyHaSet(src, flags, ['192.0.2.21']).ok, src).to.equal(true);
  });

  it('refuses an interface this host does not have, for VRRP or the VIP, and a VIP that is its subnet\'s network or broadcast address', () => {
    const flags = { haNodeList: '192.0.2.21 192.0.2.22', kadVip: '192.0.2.99/24', kadVif: 'eth0' };
    const here = ['lo', 'eth0'];
    const refusal = (f: Partial<typeof flags>, interfaces: string[] | null = here): string => {
      const r = applyHaSet(NODE_A, { ...flags, ...f }, ['192.0.2.21'], interfaces ?? undefined);
      return r.ok ? 'accepted' : r.error;
    };
    expect(refusal({})).to.equal('accepted');
    expect(refusal({ kadVif: 'nosuch0' })).to.equal('--kad_vif: "nosuch0" is no interface of this host (its interfaces: lo, eth0)');
    expect(refusal({ kadVip: '192.0.2.99/24:eth1' })).to.equal('--kad_vip: "eth1" is no interface of this host (its interfaces: lo, eth0)');
    expect(refusal({ kadVif: 'nosuch0' }, null), 'interfaces unknown: not checked').to.equal('accepted');
    expect(refusal({ kadVip: '192.0.2.0/24' })).to.equal('--kad_vip "192.0.2.0/24": 192.0.2.0 is the network address of its /24; a VIP must be a host address (or give the prefix it has, e.g. /32)');
    expect(refusal({ kadVip: '192.0.2.255/24' })).to.include('192.0.2.255 is the broadcast address of its /24');
    expect(refusal({ kadVip: '192.0.2.3/30' })).to.include('broadcast address of its /30');
    expect(refusal({ kadVip: '192.0.2.1/31' }), '/31 has no network or broadcast address (RFC 3021)').to.equal('accepted');
    expect(refusal({ kadVip: '192.0.2.1/30' })).to.equal('accepted');
    expect(parseKadVip('[2001:db8:1::/64]:eth0')).to.match(/subnet-router anycast address \(RFC 4291 2\.6\.1\)/);
    expect(parseKadVip('[2001:db8:1::100/64]:eth0')).to.include({ address: '2001:db8:1::100', prefix: 64 });
  });
});
