import { expect } from 'chai';
import { parseDocument } from 'yaml';
import { applyHaSet } from '../../lib/config/ha-set.js';

const flags = { haNodeList: '10.0.0.1 10.0.0.2', kadVip: '10.0.0.100/24', kadVif: 'eth1' };
const merged = (t: string): Array<Record<string, unknown>> => (parseDocument(t, { merge: true }).toJS() as { vrrp: { instances: Array<Record<string, unknown>> } }).vrrp.instances;

describe('config/ha-set with anchors and merge keys (docs/configuration.md: `- { <<: *common, name: VI_2 }`)', () => {
  it('an anchor on the edited instance itself (merged into VI_2) is refused, not changed under VI_2', () => {
    const src = 'vrrp:\n  instances:\n    - &common\n      name: VI_1\n      interface: eth0\n      virtual_router_id: 100\n      priority: 100\n      virtual_ipaddress: [10.0.0.100/24]\n      unicast_src_ip: 10.0.0.1\n      unicast_peer: [10.0.0.3]\n    - <<: *common\n      name: VI_2\n      virtual_router_id: 52\n      virtual_ipaddress: [10.0.1.100/24]\n';
    const r = applyHaSet(src, flags, ['10.0.0.1'], ['eth0', 'eth1']);
    expect(r.ok ? 'accepted' : r.error).to.equal('vrrp.instances[0] carries the anchor &common, which other entries may use through *common; change it by hand, or drop the anchor first');
  });
  it('a virtual_router_id that comes through a merge key stays (the VRID is kept unless --kad_vri)', () => {
    const src = 'vrrp:\n  instances:\n    - <<: { virtual_router_id: 7 }\n      name: VI_1\n      interface: eth1\n      priority: 100\n      virtual_ipaddress: [10.0.0.100/24]\n      unicast_src_ip: 10.0.0.1\n      unicast_peer: [10.0.0.2]\n';
    const r = applyHaSet(src, flags, ['10.0.0.1'], ['eth0', 'eth1']);
    expect(r.ok).to.equal(true);
    if (r.ok) expect(merged(r.text)[0]?.virtual_router_id, r.changes.join('; ')).to.equal(7);
    if (r.ok) expect(r.changes.some((c) => c.includes('virtual_router_id')), 'no change listed for it').to.equal(false);
  });
});
