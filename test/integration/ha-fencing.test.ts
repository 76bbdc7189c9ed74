// The HA node with fencing (resource-only, scripts/fence-peer) in
// namespaces: a partition (links up, traffic blackholed) cuts VRRP and
// replication between the nodes, so the BACKUP's election makes it MASTER; fencing finds the old MASTER still
// Primary, and the takeover is refused instead of splitting the data.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { VIP } from '../../scripts/lab/ha-config.js';
import { bootstrapPair, missingAcked, nodeStatus, startClient, until, waitAcked, waitServing } from '../../scripts/lab/ha-lab.js';
import { Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { labFencePeer } from '../../scripts/lab/replication-config.js';
import { labLifecycle } from './lab-hooks.js';

describe('the HA node with fencing in namespaces', function () {
  this.timeout(300_000);
  const life = labLifecycle(['ping']);

  it('a partition: the BACKUP\'s takeover is refused while the MASTER is Primary; it is FAULT with its data Outdated, never Primary; healed, it resyncs as BACKUP', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const procs = await bootstrapPair(lab, () => ({ fencePeer: labFencePeer(lab) }));
    const client = startClient(lab);
    await waitAcked(lab, 10, 30_000);
    await lab.setIsolated(b, true);
    await until('b refused to take over: FAULT, its data Outdated', async () => {
      const s = await nodeStatus(b);
      return s.ha?.role === 'FAULT' && s.volumes[0]?.disk === 'Outdated' && s.volumes[0]?.role === 'Secondary';
    }, 60_000);
    const sa = await nodeStatus(a);
    expect([sa.ha?.role, sa.volumes[0]?.role]).to.deep.equal(['MASTER', 'Primary']);
    expect((await lab.addresses(a)).includes(VIP)).to.equal(true);
    await waitAcked(lab, 10, 30_000); // the MASTER kept serving

    await lab.setIsolated(b, false);
    await until('b BACKUP, UpToDate, Established', async () => {
      const s = await nodeStatus(b);
      const v = s.volumes[0];
      return s.ha?.role === 'BACKUP' && v?.disk === 'UpToDate' && v.peers[0]?.replication === 'Established';
    }, 60_000);
    await waitServing(a);
    await waitAcked(lab, 10, 30_000);
    await lab.stop(client);
    const bLog = await readFile((procs.get(b) as LabProcess).logFile, 'utf8');
    expect(bLog).to.match(/fence-peer for a: exit 6|refused: .*Outdated|the disk is Outdated/);
    expect(bLog, 'b never became Primary').to.not.match(/data: Primary/);
    expect(bLog, 'leaving a MASTER that never added its VIP is no error').to.not.include('not removed');
    expect((await missingAcked(lab, a)).missing, 'acknowledged records missing on the MASTER').to.deep.equal([]);
    expect((await missingAcked(lab, b)).missing, 'acknowledged records missing on the resynced BACKUP').to.deep.equal([]);
  });
});
