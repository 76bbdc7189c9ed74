import { expect } from 'chai';
import type { ConfigIssue, InstanceConfig } from '../../lib/config/types.js';
import { expectOnly, validOf } from './helpers.js';

type Obj = Record<string, unknown>;
const instance = (over: Obj = {}): Obj => ({
  name: 'VI_1', interface: 'eth0', virtual_router_id: 51, virtual_ipaddress: ['192.0.2.100/24'], ...over,
});
const without = (o: Obj, key: string): Obj => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));
const config = (...instances: unknown[]): Obj => ({ node: { name: 'node-a' }, vrrp: { instances } });

function valid(raw: unknown): { inst: InstanceConfig; warnings: ConfigIssue[] } {
  const { config, warnings } = validOf(raw);
  return { inst: config.vrrp.instances[0] ?? expect.fail('no instance'), warnings };
}
const P = 'vrrp.instances[0]';

describe('config/instance: one rule per test', () => {
  it('fills every default of an instance', () => {
    const { inst } = valid(config(instance()));
    expect(inst).to.deep.include({
      priority: 100, advertIntCs: 100, version: 3, family: 4, initialState: 'BACKUP', nopreempt: false,
      preemptDelayMs: 0, unicastPeer: [], checkUnicastSrc: false, v3ChecksumAsV2: false, trackInterface: [],
      trackScript: [], garpMasterDelayMs: 5000, garpMasterRepeat: 5, garpMasterRefreshMs: 0,
    });
    expect(inst.unicastSrcIp).to.equal(undefined);
    expect(inst.authentication).to.equal(undefined);
    expect(inst.notify).to.equal(undefined);
  });

  it('name is required', () => expectOnly(config(without(instance(), 'name')), `${P}.name`, 'required key is missing'));
  it('name uses A-Za-z0-9_.- only', () => expectOnly(config(instance({ name: 'VI 1' })), `${P}.name`, '1..64 characters'));
  it('name is at most 64 characters', () => {
    expect(valid(config(instance({ name: 'a'.repeat(64) }))).inst.name).to.have.length(64);
    expectOnly(config(instance({ name: 'a'.repeat(65) })), `${P}.name`, '1..64 characters');
  });
  it('name is not empty', () => expectOnly(config(instance({ name: '' })), `${P}.name`, '1..64 characters'));
  it('names are unique across instances', () => {
    const second = instance({ virtual_router_id: 52, virtual_ipaddress: ['192.0.2.101'] });
    expectOnly(config(instance(), second), 'vrrp.instances[1].name', 'instance names must be unique');
  });

  it('interface follows Linux ifname rules', () => {
    expect(valid(config(instance({ interface: 'a'.repeat(15) }))).inst.interface).to.have.length(15);
    for (const bad of ['', 'a'.repeat(16), 'eth/0', 'eth 0', 'eth\t0', '.', '..', 'eth0:1', 'eth0\0x', 7]) {
      expectOnly(config(instance({ interface: bad })), `${P}.interface`, 'a Linux interface name');
    }
  });
  it('interface is required', () => expectOnly(config(without(instance(), 'interface')), `${P}.interface`, 'required'));

  it('virtual_router_id is an integer 1..255', () => {
    for (const bad of [0, 256, 1.5, -1, null]) expectOnly(config(instance({ virtual_router_id: bad })), `${P}.virtual_router_id`, 'an integer 1..255');
    expect(valid(config(instance({ virtual_router_id: 255 }))).inst.virtualRouterId).to.equal(255);
  });
  it('priority is an integer 1..255 and is not coerced from a string', () => {
    for (const bad of [0, 256, 99.5]) expectOnly(config(instance({ priority: bad })), `${P}.priority`, 'must be an integer 1..255');
    const quoted = expectOnly(config(instance({ priority: '150' })), `${P}.priority`, 'write the number without quotes');
    expect(quoted.value).to.equal('150');
    expect(valid(config(instance({ priority: 255 }))).inst.priority).to.equal(255);
  });

  it('version is 2 or 3', () => {
    expectOnly(config(instance({ version: 4 })), `${P}.version`, '2 or 3');
    expect(valid(config(instance({ version: 2 }))).inst.version).to.equal(2);
  });
  it('an IPv6 instance cannot be version 2, and says why', () => {
    const six = instance({ version: 2, virtual_ipaddress: ['fe80::1', '2001:db8::1/64'] });
    expectOnly(config(six), `${P}.version`, 'IPv6 instances are always VRRPv3');
  });

  it('advert_int for VRRPv2 is whole seconds 1..255', () => {
    for (const bad of [0.5, 0, 256, 1.5]) expectOnly(config(instance({ version: 2, advert_int: bad })), `${P}.advert_int`, 'whole number of seconds 1..255');
    expect(valid(config(instance({ version: 2, advert_int: 255 }))).inst.advertIntCs).to.equal(25500);
  });
  it('advert_int for VRRPv3 is 0.01..40.95 s in steps of 0.01, kept in centiseconds', () => {
    for (const bad of [0, 0.001, 0.015, 41, 40.96, -1, '1']) expectOnly(config(instance({ advert_int: bad })), `${P}.advert_int`, 'steps of 0.01');
    expect(valid(config(instance({ advert_int: 0.01 }))).inst.advertIntCs).to.equal(1);
    expect(valid(config(instance({ advert_int: 0.1 }))).inst.advertIntCs).to.equal(10);
    expect(valid(config(instance({ advert_int: 0.29 }))).inst.advertIntCs).to.equal(29);
    expect(valid(config(instance({ advert_int: 40.95 }))).inst.advertIntCs).to.equal(4095);
  });

  it('state is BACKUP or MASTER, with a suggestion for the wrong case', () => {
    expectOnly(config(instance({ state: 'master' })), `${P}.state`, 'did you mean "MASTER"');
    expectOnly(config(instance({ state: 'FAULT' })), `${P}.state`, 'one of "BACKUP" or "MASTER"');
    expect(valid(config(instance({ state: 'MASTER' }))).inst.initialState).to.equal('MASTER');
  });

  it('nopreempt is a boolean, and yes/no are refused with a YAML 1.2 hint', () => {
    expectOnly(config(instance({ nopreempt: 'yes' })), `${P}.nopreempt`, 'YAML 1.2 reads this as a string');
    expectOnly(config(instance({ nopreempt: 1 })), `${P}.nopreempt`, 'true or false');
    expect(valid(config(instance({ nopreempt: true }))).inst.nopreempt).to.equal(true);
  });
  it('state MASTER with nopreempt is accepted with a warning', () => {
    const { inst, warnings } = valid(config(instance({ state: 'MASTER', nopreempt: true })));
    expect(inst.nopreempt).to.equal(true);
    expect(warnings.map((w) => w.path)).to.deep.equal([`${P}.nopreempt`]);
    expect(warnings[0]?.message).to.include('state: BACKUP');
  });
  it('preempt_delay with nopreempt, and nopreempt at priority 255, are warned about', () => {
    const { warnings } = valid(config(instance({ nopreempt: true, preempt_delay: 5, priority: 255 })));
    expect(warnings.map((w) => w.path).sort()).to.deep.equal([`${P}.nopreempt`, `${P}.preempt_delay`]);
  });

  it('preempt_delay is 0..1000 seconds, kept in milliseconds', () => {
    for (const bad of [-1, 1000.5, 1001, '5']) expectOnly(config(instance({ preempt_delay: bad })), `${P}.preempt_delay`, '<= 1000');
    expect(valid(config(instance({ preempt_delay: 2.5 }))).inst.preemptDelayMs).to.equal(2500);
    expect(valid(config(instance({ preempt_delay: 1000 }))).inst.preemptDelayMs).to.equal(1_000_000);
  });

  it('garp_master_delay and garp_master_refresh are seconds >= 0, kept in milliseconds', () => {
    expectOnly(config(instance({ garp_master_delay: -1 })), `${P}.garp_master_delay`, '>= 0');
    expectOnly(config(instance({ garp_master_refresh: -0.5 })), `${P}.garp_master_refresh`, '>= 0');
    expectOnly(config(instance({ garp_master_refresh: '60' })), `${P}.garp_master_refresh`, 'without quotes');
    const { inst } = valid(config(instance({ garp_master_delay: 0.5, garp_master_refresh: 60 })));
    expect([inst.garpMasterDelayMs, inst.garpMasterRefreshMs]).to.deep.equal([500, 60000]);
  });
  it('garp_master_repeat is an integer 1..255', () => {
    for (const bad of [0, 256, 2.5]) expectOnly(config(instance({ garp_master_repeat: bad })), `${P}.garp_master_repeat`, 'an integer 1..255');
    expect(valid(config(instance({ garp_master_repeat: 1 }))).inst.garpMasterRepeat).to.equal(1);
  });

  it('authentication is VRRPv2 PASS with a password of 1..8 bytes', () => {
    const { inst } = valid(config(instance({ version: 2, authentication: { auth_type: 'PASS', auth_pass: '12345678' } })));
    expect(inst.authentication).to.deep.equal({ authType: 'PASS', authPass: '12345678' });
  });
  it('authentication on a VRRPv3 instance is ignored with a warning, as keepalived does', () => {
    const { inst, warnings } = valid(config(instance({ authentication: { auth_type: 'PASS', auth_pass: 'secret' } })));
    expect(inst.authentication).to.equal(undefined);
    expect(warnings[0]?.path).to.equal(`${P}.authentication`);
    expect(warnings[0]?.message).to.include('only in VRRPv2');
    expect(JSON.stringify(warnings)).not.to.include('secret');
  });
  it('auth_type AH is refused as unsupported', () => {
    const auth = { auth_type: 'AH', auth_pass: 'x' };
    expectOnly(config(instance({ version: 2, authentication: auth })), `${P}.authentication.auth_type`, 'AH (IPsec authentication header) is not supported');
    expectOnly(config(instance({ version: 2, authentication: { auth_type: 'NONE', auth_pass: 'x' } })), `${P}.authentication.auth_type`, '"PASS"');
  });
  it('auth_pass longer than 8 bytes is refused, says why, and is never shown', () => {
    for (const pass of ['123456789', 'ééééé', '']) {
      const issue = expectOnly(config(instance({ version: 2, authentication: { auth_type: 'PASS', auth_pass: pass } })), `${P}.authentication.auth_pass`, 'must be 1..8 bytes');
      if (pass !== '') expect(issue.message).to.include('silently truncates');
      if (pass !== '') expect(JSON.stringify(issue)).not.to.include(pass);
    }
    expectOnly(config(instance({ version: 2, authentication: { auth_type: 'PASS', auth_pass: 1234 } })), `${P}.authentication.auth_pass`, 'quote the password');
  });
  it('auth_type and auth_pass are both required', () => {
    expectOnly(config(instance({ version: 2, authentication: { auth_pass: 'x' } })), `${P}.authentication.auth_type`, 'required');
    expectOnly(config(instance({ version: 2, authentication: 'PASS' })), `${P}.authentication`, 'must be a mapping');
  });

  it('(interface, virtual_router_id, family) is unique', () => {
    const clash = instance({ name: 'VI_2', virtual_ipaddress: ['192.0.2.101'] });
    expectOnly(config(instance(), clash), 'vrrp.instances[1].virtual_router_id', 'VI_1 already uses virtual_router_id 51 for IPv4 on eth0');
    valid(config(instance(), { ...clash, interface: 'eth1' }));
    valid(config(instance(), { ...clash, virtual_ipaddress: ['fe80::51'] }));
  });

  it('notify hooks are non-empty one-line commands, mapped to camelCase', () => {
    for (const key of ['notify', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop']) {
      for (const bad of ['', '   ', 'a\nb', 5]) expectOnly(config(instance({ [key]: bad })), `${P}.${key}`, 'a non-empty command on one line');
    }
    const { inst } = valid(config(instance({ notify: '/bin/n', notify_master: '/bin/m arg', notify_backup: '/bin/b', notify_fault: '/bin/f', notify_stop: '/bin/s' })));
    expect(inst).to.deep.include({ notify: '/bin/n', notifyMaster: '/bin/m arg', notifyBackup: '/bin/b', notifyFault: '/bin/f', notifyStop: '/bin/s' });
  });

  it('check_unicast_src needs unicast_peer', () => {
    expectOnly(config(instance({ check_unicast_src: true })), `${P}.check_unicast_src`, 'add unicast_peer');
    expect(valid(config(instance({ check_unicast_src: true, unicast_peer: ['192.0.2.12'] }))).inst.checkUnicastSrc).to.equal(true);
    valid(config(instance({ check_unicast_src: false })));
  });

  it('v3_checksum_as_v2 is a boolean, with a warning where it has no effect', () => {
    expectOnly(config(instance({ v3_checksum_as_v2: 'true' })), `${P}.v3_checksum_as_v2`, 'true or false');
    expect(valid(config(instance({ v3_checksum_as_v2: true }))).warnings).to.deep.equal([]);
    expect(valid(config(instance({ version: 2, v3_checksum_as_v2: true }))).warnings[0]?.message).to.include('has no effect');
  });

  it('an unknown key is refused with the allowed keys and a suggestion', () => {
    const issue = expectOnly(config(instance({ virtual_router_ip: 51, virtual_router_id: 51 })), `${P}.virtual_router_ip`, 'did you mean "virtual_router_id"?');
    expect(issue.message).to.include('allowed keys here: name, interface, state, virtual_router_id');
    expect(issue.value).to.equal(51);
    expectOnly(config(instance({ advertInt: 1 })), `${P}.advertInt`, 'did you mean "advert_int"?');
    expectOnly(config(instance({ priorty: 1 })), `${P}.priorty`, 'did you mean "priority"?');
    expectOnly(config(instance({ colour: 'red' })), `${P}.colour`, 'allowed keys here');
  });
  it('keepalived keywords tandem does not support get a specific hint', () => {
    expectOnly(config(instance({ use_vmac: true })), `${P}.use_vmac`, "keepalived's use_vmac is not supported");
    expectOnly(config(instance({ mcast_src_ip: '192.0.2.11' })), `${P}.mcast_src_ip`, 'written unicast_src_ip here');
  });

  it('an instance must be a mapping and instances a list', () => {
    expectOnly(config('VI_1'), P, 'must be a mapping');
    expectOnly({ vrrp: { instances: { VI_1: instance() } } }, 'vrrp.instances', 'must be a list of instances');
  });
});
