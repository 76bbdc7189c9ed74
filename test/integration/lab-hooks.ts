// The lifecycle every namespace suite shares: skip by hand / fail in CI when
// the lab cannot run, tear the test's lab down after each test (printing
// every log when it failed), and prove at the end that nothing was left
// behind: no namespace, no process, no temporary directory, no service cgroup.
import { expect } from 'chai';
import { leftoverNamespaces, type Lab } from '../../scripts/lab/lab.js';
import { leftoverServiceCgroups } from '../../scripts/lab/service-cgroups.js';
import { requireLab } from '../helpers/env.js';
import { dumpAllLogs, leftoverProcesses, leftoverTempDirs } from './keepalived-interop-lab.js';

export interface LabLifecycle {
  // Hands a lab to the hooks, which destroy it after the current test.
  adopt(lab: Lab): Lab;
}

export function labLifecycle(requires: string[] = []): LabLifecycle {
  let current: Lab | null = null;
  before(function () {
    requireLab(this, requires);
  });
  afterEach(async function () {
    if (current === null) return;
    const lab = current;
    current = null;
    if (this.currentTest?.state === 'failed') await dumpAllLogs(lab);
    await lab.destroy();
  });
  after(() => {
    expect(leftoverNamespaces(), 'namespaces left behind').to.deep.equal([]);
    expect(leftoverProcesses(), 'processes left behind').to.deep.equal([]);
    expect(leftoverTempDirs(), 'temporary directories left behind').to.deep.equal([]);
    expect(leftoverServiceCgroups(), 'service cgroups of a gone daemon left behind').to.deep.equal([]);
  });
  return {
    adopt(lab) {
      current = lab;
      return lab;
    },
  };
}
