import { expect } from 'chai';
import type { SyncGroupConfig } from '../../lib/config/types.js';
import { expectOnly, validOf } from './helpers.js';

const instance = (name: string, vrid: number): Record<string, unknown> => ({
  name, interface: 'eth0', virtual_router_id: vrid, virtual_ipaddress: [`192.0.2.${vrid}`],
});
const withGroups = (groups: unknown): Record<string, unknown> => ({
  node: { name: 'node-a' },
  vrrp: { instances: [instance('VI_1', 1), instance('VI_2', 2), instance('VI_3', 3)], sync_groups: groups },
});

const groups = (raw: unknown): SyncGroupConfig[] => validOf(raw).config.vrrp.syncGroups;

describe('config/sync-groups', () => {
  it('reads the list form and the { group, notify... } form', () => {
    const out = groups(withGroups({ G1: ['VI_1', 'VI_2'] }));
    expect(out).to.deep.equal([{ name: 'G1', members: ['VI_1', 'VI_2'] }]);
    const full = groups(withGroups({ G2: { group: ['VI_2', 'VI_3'], notify: '/bin/n', notify_master: '/bin/m', notify_backup: '/bin/b', notify_fault: '/bin/f', notify_stop: '/bin/s' } }));
    expect(full).to.deep.equal([{
      name: 'G2', members: ['VI_2', 'VI_3'], notify: '/bin/n', notifyMaster: '/bin/m', notifyBackup: '/bin/b', notifyFault: '/bin/f', notifyStop: '/bin/s',
    }]);
    expect(groups({ node: { name: 'n' }, vrrp: { instances: [instance('VI_1', 1)] } })).to.deep.equal([]);
  });
  it('members must exist, with a suggestion', () => {
    expectOnly(withGroups({ G1: ['VI_1', 'VI-2'] }), 'vrrp.sync_groups.G1[1]', 'no such instance: did you mean "VI_2"?');
    expectOnly(withGroups({ G1: ['VI_1', 7] }), 'vrrp.sync_groups.G1[1]', 'must be the name of an instance');
  });
  it('a group has at least 2 members (one member is refused, and why)', () => {
    expectOnly(withGroups({ G1: ['VI_1'] }), 'vrrp.sync_groups.G1', 'one-member group is refused');
    expectOnly(withGroups({ G1: { group: ['VI_1'] } }), 'vrrp.sync_groups.G1.group', 'at least 2');
    expectOnly(withGroups({ G1: 'VI_1' }), 'vrrp.sync_groups.G1', 'a list of at least 2');
  });
  it('an instance is in at most one group', () => {
    expectOnly(withGroups({ G1: ['VI_1', 'VI_2'], G2: ['VI_3', 'VI_2'] }), 'vrrp.sync_groups.G2[1]', 'already a member at vrrp.sync_groups.G1[1]');
  });
  it('no member twice in a group', () => {
    expectOnly(withGroups({ G1: ['VI_1', 'VI_2', 'VI_1'] }), 'vrrp.sync_groups.G1[2]', 'listed twice');
  });
  it('group names follow the name rule; the object form needs group and knows its keys', () => {
    expectOnly(withGroups({ 'G 1': ['VI_1', 'VI_2'] }), 'vrrp.sync_groups["G 1"]', 'a sync group name must be');
    expectOnly(withGroups({ G1: { notify: '/x' } }), 'vrrp.sync_groups.G1.group', 'required key is missing');
    expectOnly(withGroups({ G1: { group: ['VI_1', 'VI_2'], notify_mastr: '/x' } }), 'vrrp.sync_groups.G1.notify_mastr', 'did you mean "notify_master"?');
    expectOnly(withGroups({ G1: { group: ['VI_1', 'VI_2'], notify: '' } }), 'vrrp.sync_groups.G1.notify', 'non-empty command');
    expectOnly(withGroups(['VI_1', 'VI_2']), 'vrrp.sync_groups', 'must be a mapping');
  });
});

describe('config: tracker weights in sync groups', () => {
  it('warns that weights of group members are ignored, naming the trackers', async () => {
    const { parseConfigText } = await import('../../lib/config/load.js');
    const r = parseConfigText(
      [
        'node: { name: n1 }',
        'vrrp:',
        '  scripts:',
        '    chk: { script: "true", weight: -20 }',
        '  instances:',
        '    - { name: VI_1, interface: eth0, virtual_router_id: 51, virtual_ipaddress: [192.0.2.100/24], track_script: [chk], track_interface: [{ name: eth1, weight: 10 }] }',
        '    - { name: VI_2, interface: eth0, virtual_router_id: 52, virtual_ipaddress: [192.0.2.101/24] }',
        '  sync_groups:',
        '    G1: [VI_1, VI_2]',
      ].join('\n'),
      { hostname: 'h' },
    );
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    const w = (r.warnings ?? []).find((x) => x.path === 'vrrp.sync_groups.G1');
    expect(w?.message).to.include('VI_1 tracks interface eth1, script chk with a weight').and.include('ignored');
  });
});
