// A sync group that is MASTER when the daemon stops (SIGTERM): its GROUP
// notify goes MASTER -> STOP. keepalived runs the group's stop notification
// at shutdown; the group is never BACKUP on the way (docs/configuration.md
// `vrrp.sync_groups.NAME`: `notify` gets `GROUP name state priority` on the
// group's transitions; shared/reference/vrrp.md: the members "go MASTER
// together and leave together"). A spurious BACKUP runs notify_backup /
// `notify ... BACKUP` for a group that was shutting down, not losing an election.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { Lab, type LabHost } from '../../scripts/lab/lab.js';
import { tandemConfig } from '../../scripts/lab/tandem-config.js';
import { labLifecycle } from './lab-hooks.js';
import { waitHolder, waitState } from './vrrp-lab.js';

describe('sync group notify at shutdown', function () {
  this.timeout(60_000);
  const labs = labLifecycle();

  it('a MASTER group stopped with SIGTERM notifies STOP, never BACKUP', async () => {
    const lab = labs.adopt(await Lab.create(1));
    const [a] = lab.hosts as [LabHost];
    const out = `${a.dir}/group.out`;
    const script = lab.write(a, 'group.sh', `#!/bin/sh\necho "$@" >> ${out}\n`);
    await execa('chmod', ['+x', script]);
    const insts = [
      { name: 'VI_1', vrid: 51, priority: 150, advertInt: 0.3 },
      { name: 'VI_2', vrid: 52, priority: 150, advertInt: 0.3, vips: ['192.0.2.101/24'] },
    ];
    const pa = lab.startTandem(a, tandemConfig(a, insts, { G1: { group: ['VI_1', 'VI_2'], notify: script } }));
    await waitHolder(lab, '192.0.2.100', a, 10_000);
    await waitHolder(lab, '192.0.2.101', a, 5000);
    await waitState(a, 'MASTER', 5000, 'VI_2');
    await lab.stop(pa);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const afterMaster = lines.slice(lines.lastIndexOf('GROUP G1 MASTER 0'));
    expect(afterMaster, `all GROUP notifications: ${JSON.stringify(lines)}`).to.deep.equal(['GROUP G1 MASTER 0', 'GROUP G1 STOP 0']);
  });
});
