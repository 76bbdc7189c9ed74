// The unit files pass systemd's own verifier and run the daemon the way the
// README says.
import { expect } from 'chai';
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lab/lab.js';
import { requireTool } from '../helpers/env.js';

const dir = join(REPO_ROOT, 'systemd');

describe('systemd units', () => {
  const units = readdirSync(dir).filter((f) => f.endsWith('.service'));

  it('exist', () => {
    expect(units).to.include('tandem.service');
  });

  for (const u of units) {
    it(`${u} passes systemd-analyze verify`, async function () {
      requireTool(this, 'systemd-analyze', 'scripts/setup.sh installs systemd');
      const r = await execa('systemd-analyze', ['verify', join(dir, u)], { reject: false });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stderr.split('\n').filter((l) => l.includes(u)), r.stderr).to.deep.equal([]);
    });
  }

  it('tandem.service runs the daemon in the foreground and does not restart on a refused config', () => {
    const text = readFileSync(join(dir, 'tandem.service'), 'utf8');
    expect(text).to.match(/^ExecStart=.*\/bin\/tandem daemon --config \/etc\/tandem\/tandem\.yaml$/m);
    expect(text).to.match(/^RestartPreventExitStatus=78$/m);
    expect(text).to.match(/^KillSignal=SIGTERM$/m);
    expect(text).to.match(/^KillMode=mixed$/m);
  });

  it('tandem.service delegates its cgroup subtree: the daemon makes a cgroup for each run of a command service', () => {
    expect(readFileSync(join(dir, 'tandem.service'), 'utf8')).to.match(/^Delegate=yes$/m);
  });

  it('tandem.service is Type=notify with a watchdog, and reload waits for the daemon\'s answer', () => {
    const text = readFileSync(join(dir, 'tandem.service'), 'utf8');
    expect(text).to.match(/^Type=notify$/m);
    // The daemon's messages come from systemd-notify, its child.
    expect(text).to.match(/^NotifyAccess=all$/m);
    expect(text).to.match(/^WatchdogSec=\d+$/m);
    expect(text).to.match(/^ExecReload=.*\/bin\/tandem reload --config \/etc\/tandem\/tandem\.yaml$/m);
    expect(text).to.match(/^Restart=on-failure$/m);
  });
});
