// The daemon under systemd's notify protocol (Type=notify, WatchdogSec), with
// a datagram socket standing in for systemd's NOTIFY_SOCKET: READY=1 once the
// control socket answers, WATCHDOG=1 from the event loop at half the
// interval systemd asked for, STOPPING=1 at SIGTERM, each for the daemon's pid.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../../lib/cli/client.js';
import { until } from '../../scripts/lab/ha-lab.js';
import { Lab, TANDEM_BIN, type LabHost } from '../../scripts/lab/lab.js';
import { controlSocket, tandemConfig } from '../../scripts/lab/tandem-config.js';
import { labLifecycle } from './lab-hooks.js';

// Each datagram as one line, newlines inside written as '|'.
const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    d = s.recv(4096).decode().replace("\\n", "|")
    with open(sys.argv[2], "a") as f:
        f.write(d + "\\n")
`;

describe('the daemon speaks systemd\'s notify protocol', function () {
  this.timeout(60_000);
  const life = labLifecycle(['python3', 'systemd-notify']);

  it('READY=1 after the control socket answers, WATCHDOG=1 every half interval, STOPPING=1 with the stop budget at SIGTERM', async () => {
    const lab = life.adopt(await Lab.create(1));
    const h = lab.hosts[0] as LabHost;
    const sock = join(h.dir, 'notify.sock');
    const out = join(h.dir, 'notify.txt');
    lab.spawn(h, ['python3', '-c', LISTENER, sock, out], 'listener.log');
    await until('the listener', async () => existsSync(sock), 10_000);
    const cfg = lab.write(h, 'tandem.yaml', tandemConfig(h, [{ priority: 100 }]));
    const p = lab.spawn(h, ['env', `NOTIFY_SOCKET=${sock}`, 'WATCHDOG_USEC=400000', process.execPath, TANDEM_BIN, 'daemon', '--config', cfg], 'tandem.log');
    const lines = (): string[] => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : []);
    await until('READY=1', async () => lines().some((l) => l.includes('READY=1')), 15_000);
    // READY means the control socket answers.
    expect((await request(controlSocket(h), { command: 'status' })).ok).to.equal(true);
    const ready = lines().find((l) => l.includes('READY=1')) ?? '';
    expect(ready).to.match(new RegExp(`^MAINPID=${p.child.pid}\\|READY=1\\|STATUS=1 VRRP instance\\(s\\), 0 volume\\(s\\), 0 service\\(s\\)$`));
    const before = lines().filter((l) => l.includes('WATCHDOG=1')).length;
    await new Promise((r) => setTimeout(r, 1500));
    const pings = lines().filter((l) => l.includes('WATCHDOG=1')).length - before;
    // Every 200 ms: about 7 in 1.5 s; a loaded machine may lose a few.
    expect(pings).to.be.within(3, 9);
    await lab.stop(p);
    // No service and no volume: the slack alone (lib/node/stop-budget.ts), past the unit's TimeoutStopSec if more.
    expect(lines().some((l) => l.endsWith('STOPPING=1|EXTEND_TIMEOUT_USEC=15000000')), lines().join('\n')).to.equal(true);
  });
});
