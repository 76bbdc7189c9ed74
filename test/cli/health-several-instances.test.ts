// `tandem health` on a node with several VRRP instances and replicated
// volumes. Such a node has no resource group (docs/ha.md: "With several
// instances, services are refused; replicated volumes then keep the roles
// set by `tandem replica`"), so nothing ties a volume's role to the first
// instance's state: each volume is to be judged by its own role, as on a
// replication-only node ("judges each volume by its own role").
import { expect } from 'chai';
import { healthReport } from '../../lib/cli/format-health.js';
import { healthInputOf } from '../../lib/cli/node-commands.js';
import type { NodeStatus } from '../../lib/node/status.js';

describe('cli health: several VRRP instances with volumes (no resource group)', () => {
  const inst = (name: string, state: string) => ({ name, state, fault_reasons: [] });
  const peer = { name: 'b', connection: 'Connected', replication: 'Established', role: 'Secondary', disk: 'UpToDate', sync_percent: null, resync_suspended: null };
  const status = (first: string, role: string) => ({
    node: 'a', pid: 1, uptime_s: 1, daemon: 'running', vrrp_socket_drops: {}, ha: null,
    vrrp: [inst('VI_1', first), inst('VI_2', 'BACKUP')],
    volumes: [{ name: 'db', type: 'block', role, disk: 'UpToDate', peers: [peer] }],
  }) as unknown as NodeStatus;
  const problems = (s: NodeStatus): string[] => healthReport(healthInputOf(s)).lines.filter((l) => l.startsWith('problem:'));

  it('a Primary set by `tandem replica` is not "should be secondary" because the first instance is BACKUP', () => {
    expect(problems(status('BACKUP', 'Primary'))).to.deep.equal([]);
    expect(healthReport(healthInputOf(status('BACKUP', 'Primary'))).passed).to.equal(true);
  });

  it('a Secondary set by `tandem replica` is not "should be primary" because the first instance is MASTER', () => {
    expect(problems(status('MASTER', 'Secondary'))).to.deep.equal([]);
    expect(healthReport(healthInputOf(status('MASTER', 'Secondary'))).passed).to.equal(true);
  });
});
