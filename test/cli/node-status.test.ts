// What `tandem status` and `tandem health` make of the daemon's phase: a
// daemon still starting (volumes opening, no resource group yet) says so,
// and health fails naming it instead of judging an empty group.
import { expect } from 'chai';
import { formatStatus } from '../../lib/cli/format-status.js';
import { healthReport } from '../../lib/cli/format-health.js';
import { healthInputOf } from '../../lib/cli/node-commands.js';
import type { DaemonPhase, NodeStatus } from '../../lib/node/status.js';

function status(daemon: DaemonPhase): NodeStatus {
  return {
    node: 'node-a', pid: 4242, uptime_s: 3, daemon, vrrp: [], vrrp_socket_drops: {}, ha: null,
    volumes: [{ name: 'db', type: 'block', role: 'Secondary', disk: 'UpToDate', peers: [] }],
  };
}

describe('cli status and health during start and stop', () => {
  it('the status header names a phase other than running', () => {
    expect(formatStatus(status('starting')).split('\n')[0]).to.equal('node node-a (pid 4242, up 0m 3s, starting)');
    expect(formatStatus(status('stopping')).split('\n')[0]).to.equal('node node-a (pid 4242, up 0m 3s, stopping)');
    expect(formatStatus(status('running')).split('\n')[0]).to.equal('node node-a (pid 4242, up 0m 3s)');
  });

  it('health of a starting or stopping daemon fails and says why; a running one is judged by its role', () => {
    for (const [phase, role] of [['starting', 'STARTING'], ['stopping', 'STOPPING']] as const) {
      const r = healthReport(healthInputOf(status(phase)));
      expect(r.passed).to.equal(false);
      expect(r.lines[0]).to.include(`(${role})`);
      expect(r.lines).to.include(`problem: the node is ${role}`);
    }
    // Running with volumes and no instance: each volume is judged by its own role.
    const byCommand = healthReport(healthInputOf(status('running')));
    expect(byCommand.lines[0]).to.include('(roles set by command)');
    expect(byCommand.lines).to.not.include('problem: the node is INIT');
    // Running with nothing configured at all: INIT, and health fails.
    const empty = status('running');
    empty.volumes = [];
    const init = healthReport(healthInputOf(empty));
    expect(init.passed).to.equal(false);
    expect(init.lines).to.include('problem: the node is INIT');
  });

  it('health takes the resync progress from the peer this node syncs from, and connected from any peer', () => {
    const peer = (name: string, connection: string, replication: string, sync_percent: number | null, resync_suspended: string | null = null) =>
      ({ name, connection, replication, role: 'Unknown', disk: 'DUnknown', sync_percent, resync_suspended });
    const s = status('running');
    s.volumes = [{ name: 'db', type: 'block', role: 'Secondary', disk: 'Inconsistent', peers: [peer('c', 'Connecting', 'Off', null), peer('b', 'Connected', 'SyncTarget', 12.5)] }];
    expect(healthInputOf(s).volumes).to.deep.equal([{ name: 'db', role: 'Secondary', disk: 'Inconsistent', connected: true, connection: null, resync: 12.5, suspended: null }]);
    // Syncing a peer from here is that peer's progress, not ours.
    s.volumes = [{ name: 'db', type: 'block', role: 'Primary', disk: 'UpToDate', peers: [peer('b', 'Connected', 'SyncSource', 12.5)] }];
    expect(healthInputOf(s).volumes[0]?.resync).to.equal(null);
    s.volumes[0]!.peers = [peer('b', 'Connecting', 'Off', null)];
    expect(healthInputOf(s).volumes[0]).to.deep.include({ connected: false, connection: 'Connecting' });
    // The words replica status uses.
    expect(healthReport(healthInputOf(s)).lines).to.include('db is primary, disk UpToDate, peer disconnected (Connecting)');
    s.volumes[0]!.peers = [];
    expect(healthInputOf(s).volumes[0]).to.deep.include({ connected: false, connection: null, suspended: null });
  });

  it('health calls a volume suspended only when every connected peer\'s link waits for another source', () => {
    const peer = (name: string, connection: string, replication: string, resync_suspended: string | null = null) =>
      ({ name, connection, replication, role: 'Secondary', disk: 'UpToDate', sync_percent: null, resync_suspended });
    const s = status('running');
    const why = 'node-b is Established with Primary node-a';
    // A partial mesh: node-a (the Primary) out of reach, the link to node-b waits.
    s.volumes = [{ name: 'db', type: 'block', role: 'Secondary', disk: 'UpToDate', peers: [peer('node-a', 'Connecting', 'Off'), peer('node-b', 'Connected', 'PausedSyncT', why)] }];
    expect(healthInputOf(s).volumes[0]).to.deep.include({ connected: true, suspended: why });
    // Three nodes in full mesh: one link waits, the other feeds this node.
    s.volumes[0]!.peers = [peer('node-a', 'Connected', 'SyncTarget'), peer('node-b', 'Connected', 'PausedSyncT', why)];
    expect(healthInputOf(s).volumes[0]).to.deep.include({ connected: true, suspended: null });
    s.volumes[0]!.peers = [peer('node-a', 'Connected', 'Established'), peer('node-b', 'Connected', 'PausedSyncS', why)];
    expect(healthInputOf(s).volumes[0]).to.deep.include({ suspended: null });
    // No link at all is "disconnected", not suspended.
    s.volumes[0]!.peers = [peer('node-a', 'Connecting', 'Off')];
    expect(healthInputOf(s).volumes[0]).to.deep.include({ connected: false, suspended: null });
  });
});
