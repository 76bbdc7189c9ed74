// The after-sb policies that weigh changes, with three nodes in namespaces (found by an exploratory session):
// a Secondary that lost its Primary marks the Primary's last extents towards its other peers; those marks are
// where the Primary's last writes may lie, not changes of that Secondary's, and do not count as its changes.
import { expect } from 'chai';
import { Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { replicationAddress } from '../../scripts/lab/replication-config.js';
import { NBD_TOOLS, requireTools } from '../fixtures/nbd/tools.js';
import { waitFor } from '../helpers/env.js';
import { cluster, log, qemuIo, replica, sameImages, sha, volume } from './block-lab.js';
import { labLifecycle } from './lab-hooks.js';

// Every link up and Established, no split brain flagged anywhere, every disk UpToDate. (Two Secondaries may
// stay Established with bits either way after a lost Primary: docs/replication.md, "No resync, but N bits".)
async function settled(lab: Lab): Promise<void> {
  let last = '';
  await waitFor('every link Established, no split brain', async () => {
    const views = await Promise.all(lab.hosts.map(async (h) => ({ h, v: await volume(h) })));
    last = views.map(({ h, v }) => `${h.name} ${v.disk}: ${v.peers.map((p) => `${p.name} ${p.connection}/${p.replication}${p.split_brain ? ' split-brain' : ''}`).join(', ')}`).join('; ');
    return views.every(({ v }) => v.disk === 'UpToDate' && v.peers.every((p) => !p.split_brain && p.replication === 'Established'));
  }, 40_000).catch((e: Error) => { throw new Error(`${e.message}: ${last}`); });
}

// x and y cannot reach each other while this is on (a neighbour entry pointing nowhere, both ways).
async function cut(lab: Lab, x: LabHost, y: LabHost, on: boolean): Promise<void> {
  for (const [from, to] of [[x, y], [y, x]] as const) {
    const args = on ? ['replace', replicationAddress(lab, to), 'lladdr', '02:00:00:00:00:00', 'nud', 'permanent', 'dev', from.dev] : ['del', replicationAddress(lab, to), 'dev', from.dev];
    await lab.exec(from, ['ip', 'neigh', ...args]);
  }
}

// a writes, so its last extents are in c's activity log when c's link goes; then c, cut off, is promoted on its own side.
async function promoteCutOff(lab: Lab, a: LabHost, c: LabHost): Promise<void> {
  await qemuIo(lab, a, 'write -P 0x01 0 4M', 'flush');
  await lab.setSwitchPort(c, false);
  await waitFor('c sees every peer gone', async () => (await volume(c)).peers.every((p) => !p.connected), 15000);
  await replica(c, 'primary');
}

const logs = async (procs: Map<LabHost, LabProcess>): Promise<string> => (await Promise.all([...procs.values()].map((p) => log(p)))).join('\n');

describe('after-sb policies weighing changes, three nodes in namespaces', function () {
  this.timeout(180_000);
  const life = labLifecycle(['qemu-io']);
  before(function () {
    requireTools(this, NBD_TOOLS);
  });

  it('discard-zero-changes: the node promoted during a partition that wrote nothing discards on every link', async () => {
    const lab = life.adopt(await Lab.create(3));
    const procs = await cluster(lab, { afterSb: { after_sb_0pri: 'discard-zero-changes' } });
    const [a, b, c] = lab.hosts as [LabHost, LabHost, LabHost];
    await promoteCutOff(lab, a, c); // a new generation on c, which marks a's last extents towards b ...
    await replica(c, 'secondary'); // ... and not one block written
    await qemuIo(lab, a, 'write -P 0xaa 1M 64k', 'flush');
    await replica(a, 'secondary');
    await cut(lab, a, c, true);
    await lab.setSwitchPort(c, true); // c comes back and meets b first
    // Before, c's marks for a's last extents counted as its changes: "both sides changed blocks", b-c StandAlone.
    await waitFor('b and c decided', async () => /discard-zero-changes: (c discards its changes|both sides changed blocks)/.test(await logs(procs)), 30_000);
    expect(await logs(procs)).to.match(/resolved by discard-zero-changes: c discards its changes \(it changed no blocks\)/);
    await cut(lab, a, c, false);
    await settled(lab);
    expect(await logs(procs)).to.not.include('discard-zero-changes: both sides changed blocks');
    expect((await volume(b)).peers.every((p) => !p.split_brain)).to.equal(true);
    await sameImages(lab);
  });

  it('discard-least-changes: b meets c before a does and keeps a\'s writes (c changed fewer blocks than a)', async () => {
    const lab = life.adopt(await Lab.create(3));
    const procs = await cluster(lab, { afterSb: { after_sb_0pri: 'discard-least-changes' } });
    const [a, b, c] = lab.hosts as [LabHost, LabHost, LabHost];
    await promoteCutOff(lab, a, c);
    await qemuIo(lab, a, 'write -P 0xaa 1M 1M', 'flush'); // 256 blocks on a (and b)
    await qemuIo(lab, c, 'write -P 0xcc 8M 128k', 'flush'); // 32 blocks on c, plus its marks for a's last extents
    await replica(c, 'secondary');
    await replica(a, 'secondary');
    const shaA = await sha(a);
    await cut(lab, a, c, true);
    await lab.setSwitchPort(c, true); // c comes back and meets b first
    await waitFor('b and c decided', async () => /resolved by discard-least-changes: \S+ discards its changes/.test(await logs(procs)), 30_000);
    await waitFor('b in sync with whichever won', async () => (await volume(b)).peers.find((p) => p.name === 'c')?.replication === 'Established', 30_000);
    // Before, b took c's 32 blocks over a's 256: c's 4 MiB of marks counted as its changes.
    expect(await sha(b), 'b still holds a\'s data').to.equal(shaA);
    expect(await logs(procs)).to.match(/resolved by discard-least-changes: c discards its changes \(it changed fewer blocks\)/);
    await cut(lab, a, c, false);
    await settled(lab);
    expect(await logs(procs)).to.not.match(/b discards its changes/);
    expect(await sha(b)).to.equal(shaA);
    await sameImages(lab);
  });
});
