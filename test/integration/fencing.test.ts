// Resource-level fencing between tandem daemons in network namespaces, with
// the shipped handler (scripts/fence-peer) reaching the peer's daemon over a
// path the partition does not cut (here its control socket; ssh in
// production): a partitioned Primary outdates its Secondary, and a Secondary
// told to promote while the Primary lives outdates itself instead.
import { expect } from 'chai';
import { Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { addReplicationAddresses, labFencePeer as fencePeer, replicationConfig, type VolumeOptions } from '../../scripts/lab/replication-config.js';
import { NBD_TOOLS, requireTools } from '../fixtures/nbd/tools.js';
import { waitFor } from '../helpers/env.js';
import { daemonUp, inSync, log, qemuIo, replica, sameImages, volume } from './block-lab.js';
import { labLifecycle } from './lab-hooks.js';


// Both daemons up with their own options, the first forced Primary, the second in sync.
async function pair(lab: Lab, first: VolumeOptions, second: VolumeOptions): Promise<[LabProcess, LabProcess]> {
  await addReplicationAddresses(lab);
  const [a, b] = lab.hosts as [LabHost, LabHost];
  const procs: [LabProcess, LabProcess] = [lab.startTandem(a, replicationConfig(lab, a, first)), lab.startTandem(b, replicationConfig(lab, b, second))];
  for (const h of [a, b]) await daemonUp(h);
  await replica(a, 'primary', { force: true });
  await inSync(lab, a);
  return procs;
}

const refusal = (p: Promise<unknown>): Promise<string> => p.then(() => 'promoted', (e: Error) => e.message);

describe('fencing in namespaces (resource-only, scripts/fence-peer)', function () {
  this.timeout(180_000);
  const life = labLifecycle(['qemu-io']);
  before(function () {
    requireTools(this, NBD_TOOLS);
  });

  it('a Primary cut off from its Secondary outdates it (before the Secondary even notices); the Secondary cannot be promoted, and resyncs once the link is back', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    // b notices the partition 6 s after a does: a's handler reaches a b that still thinks it follows a.
    const [pa, pb] = await pair(lab, { fencePeer: fencePeer(lab) }, { pingTimeout: 8 });
    await lab.setSwitchPort(b, false);
    await waitFor('node b outdated by the Primary', async () => (await volume(b)).disk === 'Outdated' && (await volume(a)).peers[0]?.disk === 'Outdated', 20000);
    expect(await log(pa)).to.include(`fence-peer for ${b.name}: exit 4: the peer was outdated`);
    expect(await log(pb), 'b was outdated while it still followed a (replica outdate --by)').to.include(`${a.name} outdated us`);
    expect(await refusal(replica(b, 'primary'))).to.include('the disk is Outdated');
    await qemuIo(lab, a, 'write -P 0x6b 4M 1M', 'flush');
    await lab.setSwitchPort(b, true);
    await inSync(lab, a);
    expect((await volume(b)).disk).to.equal('UpToDate');
    await sameImages(lab);
  });

  it('a Secondary told to promote while cut off from a live Primary outdates itself: one Primary, no split brain', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const [, pb] = await pair(lab, {}, { fencePeer: fencePeer(lab) }); // the Primary does not fence
    await lab.setSwitchPort(b, false);
    await waitFor('b sees the link gone', async () => (await volume(b)).peers[0]?.connected === false, 15000);
    const why = await refusal(replica(b, 'primary'));
    expect(why).to.include(`${a.name} is Primary`).and.include('this disk is now Outdated');
    expect(await log(pb)).to.include(`fence-peer for ${a.name}: exit 6`);
    expect([(await volume(a)).role, (await volume(b)).role, (await volume(b)).disk]).to.deep.equal(['Primary', 'Secondary', 'Outdated']);
    await qemuIo(lab, a, 'write -P 0x6c 8M 64k', 'flush');
    await lab.setSwitchPort(b, true);
    await inSync(lab, a);
    for (const h of [a, b]) expect((await volume(h)).peers[0]?.split_brain, `${h.name}: no split brain`).to.equal(false);
    await sameImages(lab);
  });
});
