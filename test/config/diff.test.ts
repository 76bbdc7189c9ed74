// What `tandem reload` may apply live: VIPs, services and startup; every
// other change is named by path and refused.
import { expect } from 'chai';
import { describeChanges, diffConfig, fileKey } from '../../lib/config/diff.js';
import { blockVolume, replicationDoc, validOf } from './helpers.js';

const VI = { name: 'VI_1', interface: 'eth0', virtual_router_id: 51, priority: 100, virtual_ipaddress: ['192.0.2.100/24'] };
const app = { name: 'app', command: ['/usr/bin/app'] };
const web = { name: 'web', command: ['/usr/bin/web'] };
const doc = (over: { vi?: Record<string, unknown>; services?: unknown[]; startup?: unknown; volume?: Record<string, unknown>; node?: string } = {}) => validOf({
  ...replicationDoc([blockVolume(over.volume ?? {})]),
  ...(over.node ? { node: { name: over.node } } : {}),
  vrrp: { instances: [{ ...VI, ...over.vi }] },
  services: over.services ?? [app],
  ...(over.startup ? { startup: over.startup } : {}),
}).config;

describe('config/diff (tandem reload)', () => {
  it('the same file: no changes', () => {
    const c = diffConfig(doc(), doc());
    expect(c).to.deep.equal({ vips: [], services: { added: [], removed: [], changed: [] }, startup: false, restartOnly: [] });
    expect(describeChanges(c)).to.equal('no changes');
  });

  it('VIPs added and removed; an unchanged one is in neither list', () => {
    const c = diffConfig(doc({ vi: { virtual_ipaddress: ['192.0.2.100/24', '192.0.2.101/24'] } }), doc({ vi: { virtual_ipaddress: ['192.0.2.100/24', '192.0.2.102/24'] } }));
    expect(c.restartOnly).to.deep.equal([]);
    expect(c.vips.map((v) => [v.instance, v.added.map((x) => x.address), v.removed.map((x) => x.address)])).to.deep.equal([['VI_1', ['192.0.2.102'], ['192.0.2.101']]]);
    expect(describeChanges(c)).to.equal('VI_1: VIP added 192.0.2.102/24; VI_1: VIP removed 192.0.2.101/24');
  });

  it('a new prefix is a removal and an addition', () => {
    const c = diffConfig(doc(), doc({ vi: { virtual_ipaddress: ['192.0.2.100/25'] } }));
    expect(c.vips[0]?.added.map((x) => x.prefix)).to.deep.equal([25]);
    expect(c.vips[0]?.removed.map((x) => x.prefix)).to.deep.equal([24]);
  });

  it('services added, removed and changed, by name', () => {
    const c = diffConfig(doc({ services: [app, web] }), doc({ services: [{ ...app, env: { A: '1' } }, { name: 'new', command: ['/usr/bin/new'] }] }));
    expect(c.services).to.deep.equal({ added: ['new'], removed: ['web'], changed: ['app'] });
    expect(c.restartOnly).to.deep.equal([]);
  });

  it('startup changes are applied live', () => {
    expect(diffConfig(doc(), doc({ startup: { fault_hold: 10 } })).startup).to.equal(true);
  });

  it('everything else needs a restart, and is named', () => {
    expect(diffConfig(doc(), doc({ vi: { priority: 200 } })).restartOnly).to.deep.equal(['vrrp.instances[0].priority (VI_1)']);
    // Paths as the file spells them.
    expect(diffConfig(doc(), doc({ vi: { virtual_router_id: 52, advert_int: 2, preempt_delay: 3 } })).restartOnly)
      .to.deep.equal(['vrrp.instances[0].virtual_router_id (VI_1)', 'vrrp.instances[0].advert_int (VI_1)', 'vrrp.instances[0].preempt_delay (VI_1)']);
    for (const [k, f] of [['initialState', 'state'], ['garpMasterRefreshMs', 'garp_master_refresh'], ['unicastSrcIp', 'unicast_src_ip'], ['notifyMaster', 'notify_master'], ['v3ChecksumAsV2', 'v3_checksum_as_v2'], ['syncGroups', 'sync_groups']]) {
      expect(fileKey(k as string), k).to.equal(f);
    }
    expect(diffConfig(doc(), doc({ vi: { name: 'VI_2' } })).restartOnly).to.deep.equal(['vrrp.instances (names or order)']);
    expect(diffConfig(doc(), doc({ volume: { protocol: 'A' } })).restartOnly).to.deep.equal(['replication']);
    expect(diffConfig(doc(), doc({ node: 'other' })).restartOnly).to.include('node');
    expect(diffConfig(doc({ services: [app, web] }), doc({ services: [web, app] })).restartOnly).to.deep.equal(['services (order)']);
  });
});
