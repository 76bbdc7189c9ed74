import { expect } from 'chai';
import { expectOnly, validOf } from './helpers.js';

type Obj = Record<string, unknown>;
const instance = (over: Obj = {}): Obj => ({
  name: 'VI_1', interface: 'eth0', virtual_router_id: 51, virtual_ipaddress: ['192.0.2.100/24'], ...over,
});
const withScripts = (scripts: unknown, over: Obj = {}): Obj => ({
  node: { name: 'node-a' },
  vrrp: { instances: [instance({ track_script: ['chk'], ...over })], scripts },
});
const chk = (over: Obj = {}): Obj => ({ chk: { script: '/bin/true', ...over } });

const valid = (raw: unknown) => validOf(raw);
const P = 'vrrp.instances[0]';

describe('config/trackers: scripts, track_interface, track_script', () => {
  it('fills script defaults: interval 1 s, timeout = interval, weight 0, rise 1, fall 1', () => {
    expect(valid(withScripts(chk())).config.vrrp.scripts['chk']).to.deep.equal({
      name: 'chk', script: '/bin/true', intervalMs: 1000, timeoutMs: 1000, weight: 0, rise: 1, fall: 1,
    });
    const s = valid(withScripts(chk({ interval: 2.5 }))).config.vrrp.scripts['chk'];
    expect([s?.intervalMs, s?.timeoutMs]).to.deep.equal([2500, 2500]);
  });
  it('reads every script key in its unit', () => {
    const s = valid(withScripts(chk({ interval: 2, timeout: 0.5, weight: -20, rise: 3, fall: 4 }))).config.vrrp.scripts['chk'];
    expect(s).to.deep.include({ intervalMs: 2000, timeoutMs: 500, weight: -20, rise: 3, fall: 4 });
  });
  it('script is a required non-empty string; multi-line shell is fine', () => {
    expectOnly(withScripts({ chk: { interval: 1 } }), 'vrrp.scripts.chk.script', 'required');
    expectOnly(withScripts(chk({ script: '  ' })), 'vrrp.scripts.chk.script', 'a non-empty shell command');
    expectOnly(withScripts(chk({ script: ['curl', 'x'] })), 'vrrp.scripts.chk.script', 'a non-empty shell command');
    valid(withScripts(chk({ script: 'test -f /a\ntest -f /b\n' })));
  });
  it('interval and timeout are seconds > 0', () => {
    for (const key of ['interval', 'timeout']) {
      for (const bad of [0, -1, 0.0001, '2']) expectOnly(withScripts(chk({ [key]: bad })), `vrrp.scripts.chk.${key}`, '> 0');
    }
  });
  it('weight is an integer -253..253', () => {
    for (const bad of [-254, 254, 1.5]) expectOnly(withScripts(chk({ weight: bad })), 'vrrp.scripts.chk.weight', 'an integer -253..253');
    expect(valid(withScripts(chk({ weight: -253 }))).config.vrrp.scripts['chk']?.weight).to.equal(-253);
  });
  it('rise and fall are integers >= 1', () => {
    for (const key of ['rise', 'fall']) {
      for (const bad of [0, 1.5, -2]) expectOnly(withScripts(chk({ [key]: bad })), `vrrp.scripts.chk.${key}`, 'an integer >= 1');
    }
  });
  it('unknown script keys get a suggestion; bad script names are quoted in the path', () => {
    expectOnly(withScripts(chk({ intervall: 2 })), 'vrrp.scripts.chk.intervall', 'did you mean "interval"?');
    const bad = { node: { name: 'n' }, vrrp: { scripts: { 'chk svc': { script: '/bin/true' } } } };
    expectOnly(bad, 'vrrp.scripts["chk svc"]', 'a script name must be 1..64 characters');
    expectOnly(withScripts(['chk']), 'vrrp.scripts', 'must be a mapping');
  });
  it('warns about a script that no instance tracks', () => {
    const { warnings } = valid({ node: { name: 'n' }, vrrp: { instances: [instance()], scripts: chk() } });
    expect(warnings.map((w) => w.path)).to.deep.equal(['vrrp.scripts.chk']);
  });

  it('track_script entries name a script of vrrp.scripts, with a suggestion', () => {
    expectOnly(withScripts(chk(), { track_script: ['chk_'] }), `${P}.track_script[0]`, 'did you mean "chk"?');
    expectOnly({ node: { name: 'n' }, vrrp: { instances: [instance({ track_script: ['x'] })] } }, `${P}.track_script[0]`, 'vrrp.scripts defines none');
  });
  it('track_script entries are a name or { name, weight }', () => {
    const { config } = valid(withScripts(chk(), { track_script: [{ name: 'chk', weight: 10 }] }));
    expect(config.vrrp.instances[0]?.trackScript).to.deep.equal([{ name: 'chk', weight: 10 }]);
    expect(valid(withScripts(chk())).config.vrrp.instances[0]?.trackScript).to.deep.equal([{ name: 'chk' }]);
    expectOnly(withScripts(chk(), { track_script: [{ name: 'chk', weight: 254 }] }), `${P}.track_script[0].weight`, '-253..253');
    expectOnly(withScripts(chk(), { track_script: [{ name: 'chk', wieght: 1 }] }), `${P}.track_script[0].wieght`, 'did you mean "weight"?');
    expectOnly(withScripts(chk(), { track_script: [5] }), `${P}.track_script[0]`, 'or { name, weight }');
    expectOnly(withScripts(chk(), { track_script: ['chk', 'chk'] }), `${P}.track_script[1]`, 'listed twice');
    expectOnly(withScripts(chk(), { track_script: 'chk' }), `${P}.track_script`, 'must be a list');
  });
  it('track_interface entries are an interface name or { name, weight }, weight default 0', () => {
    const { config } = valid(withScripts(chk(), { track_interface: ['eth1', { name: 'eth2', weight: -30 }] }));
    expect(config.vrrp.instances[0]?.trackInterface).to.deep.equal([{ name: 'eth1', weight: 0 }, { name: 'eth2', weight: -30 }]);
    expectOnly(withScripts(chk(), { track_interface: ['eth/1'] }), `${P}.track_interface[0]`, 'a Linux interface name');
    expectOnly(withScripts(chk(), { track_interface: ['eth1\0'] }), `${P}.track_interface[0]`, 'whitespace or NUL');
    expectOnly(withScripts(chk(), { track_interface: [{ name: 'eth1\0', weight: 5 }] }), `${P}.track_interface[0].name`, 'whitespace or NUL');
    expectOnly(withScripts(chk(), { track_interface: [{ name: 'eth1', weight: 300 }] }), `${P}.track_interface[0].weight`, '-253..253');
    expectOnly(withScripts(chk(), { track_interface: [{ weight: 3 }] }), `${P}.track_interface[0].name`, 'required');
    expectOnly(withScripts(chk(), { track_interface: ['eth1', { name: 'eth1' }] }), `${P}.track_interface[1]`, 'listed twice');
  });
});
