// A resource group with a service and no replicated volume, real daemons in
// network namespaces. With a volume, the new MASTER's promotion waits for
// the old Primary's demote, and so its services wait for the old ones to
// stop; without one nothing orders the two nodes but the hand-over itself.
// The service writes each start and stop to one journal file both nodes
// share (files are not namespaced), and takes a second to stop.
import { expect } from 'chai';
import { chmodSync, readFileSync } from 'node:fs';
import { cli, nodeStatus, until } from '../../scripts/lab/ha-lab.js';
import { Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { tandemConfig } from '../../scripts/lab/tandem-config.js';
import { labLifecycle } from './lab-hooks.js';

const VIP = '192.0.2.100';

// Appends "start NODE" at once and "stop NODE" a second after SIGTERM.
const SERVICE = `#!/bin/sh
echo "start $1" >> "$2"
trap 'sleep 1; echo "stop $1" >> "$2"; exit 0' TERM
while :; do sleep 0.1; done
`;

function config(lab: Lab, h: LabHost, journal: string): string {
  const script = lab.write(h, 'service.sh', SERVICE);
  chmodSync(script, 0o755);
  const vrrp = tandemConfig(h, [{
    priority: lab.hosts.indexOf(h) === 0 ? 150 : 50,
    advertInt: 0.3,
    nopreempt: true,
    garpMasterDelay: 1,
    unicastPeers: lab.hosts.filter((x) => x !== h).map((x) => x.ipv4),
    vips: [`${VIP}/24`],
  }]);
  return [
    vrrp.trimEnd(),
    'services:',
    '  - name: app',
    `    command: ${JSON.stringify([script, h.name, journal])}`,
    '    stop_timeout: 5',
    '',
  ].join('\n');
}

const journalLines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('a resource group without volumes in namespaces (issue 5)', function () {
  this.timeout(120_000);
  const life = labLifecycle(['ping']);

  // a MASTER and serving, b BACKUP, the journal shared; a's process returned.
  async function pair(lab: Lab): Promise<{ a: LabHost; b: LabHost; journal: string; pa: LabProcess }> {
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const journal = lab.write(a, 'journal', '');
    const pa = lab.startTandem(a, config(lab, a, journal));
    await until('a MASTER and serving', async () => (await nodeStatus(a).catch(() => null))?.ha?.serving === true, 30_000);
    lab.startTandem(b, config(lab, b, journal));
    await until('b BACKUP', async () => (await nodeStatus(b).catch(() => null))?.ha?.role === 'BACKUP', 30_000);
    expect(journalLines(journal)).to.deep.equal([`start ${a.name}`]);
    return { a, b, journal, pa };
  }

  it('maintenance on --force and a daemon stop on the MASTER let go in the same order: b starts only after a stopped', async () => {
    for (const how of ['maintenance', 'sigterm'] as const) {
      const lab = life.adopt(await Lab.create(2));
      const { a, b, journal, pa } = await pair(lab);
      if (how === 'maintenance') {
        const r = await cli(lab, a, ['maintenance', 'on', '--force'], 60_000);
        expect(r.exitCode, r.stderr).to.equal(0);
      } else {
        process.kill(pa.child.pid as number, 'SIGTERM'); // as systemctl stop tandem
      }
      await until('b\'s service started', async () => journalLines(journal).length === 3, 20_000);
      expect(journalLines(journal), `${how}: a stopped its service before b started one`).to.deep.equal([`start ${a.name}`, `stop ${a.name}`, `start ${b.name}`]);
      await lab.destroy();
    }
  });

  it('switchover: the old MASTER\'s service has stopped before the new MASTER starts its own', async () => {
    const lab = life.adopt(await Lab.create(2));
    const { a, b, journal } = await pair(lab);

    // No volume links the two, so the peer's readiness cannot be checked: --force, as the refusal says.
    const r = await cli(lab, a, ['switchover', '--force'], 60_000);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`^switchover of VI_1 done in [\\d.]+ s: ${b.ipv4} is MASTER`));
    await until('b\'s service started', async () => journalLines(journal).length === 3, 15_000);
    expect(journalLines(journal), 'a stopped its service before b started one').to.deep.equal([`start ${a.name}`, `stop ${a.name}`, `start ${b.name}`]);
    const st = await nodeStatus(a);
    expect(st.ha?.role).to.equal('BACKUP');
    expect(st.ha?.services.map((s) => s.state)).to.deep.equal(['stopped']);
  });
});
