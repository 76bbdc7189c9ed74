import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { formatIssues, formatWarnings, loadConfigFile, parseConfigText } from '../../lib/config/load.js';
import { NODE_KEYS } from '../../lib/config/node-section.js';
import { HEALTH_KEYS } from '../../lib/config/services-health.js';
import { ONESHOT_KEYS, RESTART_KEYS, SERVICE_KEYS } from '../../lib/config/services-service.js';
import { STARTUP_KEYS } from '../../lib/config/startup-section.js';
import { AUTH_KEYS } from '../../lib/config/vrrp-auth.js';
import { VIP_KEYS } from '../../lib/config/vrrp-addresses.js';
import { INSTANCE_KEYS } from '../../lib/config/vrrp-instance.js';
import { VRRP_KEYS } from '../../lib/config/vrrp-section.js';
import { SYNC_GROUP_KEYS } from '../../lib/config/vrrp-sync-groups.js';
import { SCRIPT_KEYS, TRACK_KEYS } from '../../lib/config/vrrp-trackers.js';
import type { TandemConfig } from '../../lib/config/types.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

async function load(path: string): Promise<{ config: TandemConfig; warnings: string }> {
  const r = await loadConfigFile(root(path), { hostname: 'testhost' });
  if (!r.ok) return expect.fail(formatIssues(r.issues, path));
  return { config: r.config, warnings: formatWarnings(r.warnings ?? [], path) };
}

describe('config/examples: the documented files stay valid', () => {
  it('every docs/examples/*.yaml validates without errors or warnings', async () => {
    const files = (await readdir(root('docs/examples'))).filter((f) => f.endsWith('.yaml'));
    expect(files).to.include.members(['node-a.yaml', 'node-b.yaml', 'ipv6.yaml']);
    for (const f of files) expect((await load(`docs/examples/${f}`)).warnings, f).to.equal('');
  });
  it('node-a and node-b describe the two sides of one pair', async () => {
    const a = (await load('docs/examples/node-a.yaml')).config;
    const b = (await load('docs/examples/node-b.yaml')).config;
    expect(a.node.name).not.to.equal(b.node.name);
    expect(a.vrrp.instances).to.have.length(b.vrrp.instances.length);
    a.vrrp.instances.forEach((ia, i) => {
      const ib = b.vrrp.instances[i];
      if (ib === undefined) return expect.fail(`node-b lacks ${ia.name}`);
      // Same virtual router, same addresses, same timing: only the node's own side differs.
      for (const key of ['name', 'interface', 'virtualRouterId', 'advertIntCs', 'version', 'virtualIpaddress'] as const) {
        expect(ib[key], `${ia.name}.${key}`).to.deep.equal(ia[key]);
      }
      expect(ia.priority, ia.name).to.be.greaterThan(ib.priority);
      expect(ia.unicastPeer).to.deep.equal([ib.unicastSrcIp]);
      expect(ib.unicastPeer).to.deep.equal([ia.unicastSrcIp]);
    });
    expect(a.vrrp.syncGroups).to.deep.equal(b.vrrp.syncGroups);
  });
  it('the IPv6 example is a VRRPv3 IPv6 instance led by its link-local address', async () => {
    const inst = (await load('docs/examples/ipv6.yaml')).config.vrrp.instances[0];
    expect(inst?.family).to.equal(6);
    expect(inst?.version).to.equal(3);
    expect(inst?.advertIntCs).to.equal(10);
    expect(inst?.virtualIpaddress.map((v) => `${v.address}/${v.prefix}`)).to.deep.equal(['fe80::61/128', '2001:db8:100::100/64', '2001:db8:100::101/64']);
  });
  it("the issue's own example (plus the VI_2 its sync group names) validates", async () => {
    const { config, warnings } = await load('test/fixtures/config/issue-example.yaml');
    expect(config.node).to.deep.equal({ name: 'node-a', stateDir: '/var/lib/tandem', controlSocket: '/run/tandem/control.sock' });
    const [vi1, vi2] = config.vrrp.instances;
    expect(vi1).to.deep.include({ name: 'VI_1', priority: 150, advertIntCs: 100, version: 3, unicastSrcIp: '192.0.2.11', unicastPeer: ['192.0.2.12'] });
    expect(vi1?.virtualIpaddress).to.deep.equal([{ address: '192.0.2.100', prefix: 24, family: 4, dev: 'eth0' }]);
    expect(vi1?.trackInterface).to.deep.equal([{ name: 'eth1', weight: 0 }]);
    expect(vi2?.authentication).to.deep.equal({ authType: 'PASS', authPass: 's3cret' });
    expect(config.vrrp.scripts['chk_svc']).to.deep.include({ intervalMs: 2000, timeoutMs: 1000, weight: -20, rise: 2, fall: 2 });
    expect(config.vrrp.syncGroups).to.deep.equal([{ name: 'G1', members: ['VI_1', 'VI_2'] }]);
    // VI_1 is VRRPv3 and also carries authentication: ignored, and said so.
    expect(warnings).to.include('vrrp.instances[0].authentication').and.to.include('only in VRRPv2');
  });
  it('docs/configuration.md documents every key the validator accepts, and its YAML snippets validate', async () => {
    const doc = await readFile(root('docs/configuration.md'), 'utf8');
    const keys = [...NODE_KEYS, ...VRRP_KEYS, ...INSTANCE_KEYS, ...VIP_KEYS, ...AUTH_KEYS, ...TRACK_KEYS, ...SCRIPT_KEYS, ...SYNC_GROUP_KEYS,
      ...SERVICE_KEYS, ...ONESHOT_KEYS, ...HEALTH_KEYS, ...RESTART_KEYS, ...STARTUP_KEYS];
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    for (const key of keys) expect(rows.some((r) => r.split('|')[1]?.includes(`\`${key}\``)), key).to.equal(true);
    const snippets = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(snippets.length).to.be.greaterThan(0);
    for (const text of snippets) {
      const r = parseConfigText(text, { hostname: 'testhost' });
      expect(r.ok ? '' : formatIssues(r.issues, 'snippet'), text).to.equal('');
    }
  });
});
