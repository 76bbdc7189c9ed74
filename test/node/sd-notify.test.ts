// The notify protocol against a real AF_UNIX datagram socket (a python3
// listener standing in for systemd) and the real systemd-notify.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SdNotify } from '../../lib/node/sd-notify.js';
import { waitFor } from '../helpers/env.js';

const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`;

describe('node/sd-notify', function () {
  this.timeout(20_000);
  let dir: string;
  let py: ChildProcess;
  let got: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-notify-'));
    got = [];
    py = spawn('python3', ['-c', LISTENER, join(dir, 'notify.sock')], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: py.stdout as NodeJS.ReadableStream }).on('line', (l) => got.push(l));
    await waitFor('the listener', async () => got.includes('listening'), 5000);
  });

  afterEach(() => {
    py.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('is off without NOTIFY_SOCKET', () => {
    expect(SdNotify.fromEnv({}, { warn: () => undefined })).to.equal(null);
  });

  it('READY=1 with our MAINPID and a status, then watchdog pings from the event loop, then STOPPING=1 with the time the stop may take', async () => {
    const warnings: string[] = [];
    const n = SdNotify.fromEnv({ NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: '400000' }, { warn: (m) => warnings.push(m) }) as SdNotify;
    expect(n.watchdogIntervalMs()).to.equal(200);
    await n.ready('config loaded, control socket listening');
    await waitFor('READY', async () => got.some((l) => l === `MAINPID=${process.pid}|READY=1|STATUS=config loaded, control socket listening`), 5000);
    n.startWatchdog();
    await waitFor('two pings', async () => got.filter((l) => l.includes('WATCHDOG=1')).length >= 2, 10_000);
    await n.stopping(135_000);
    await waitFor('STOPPING', async () => got.some((l) => l.endsWith('STOPPING=1|EXTEND_TIMEOUT_USEC=135000000')), 5000);
    const pings = got.filter((l) => l.includes('WATCHDOG=1')).length;
    await new Promise((r) => setTimeout(r, 600));
    expect(got.filter((l) => l.includes('WATCHDOG=1')).length, 'no ping after STOPPING').to.equal(pings);
    expect(warnings).to.deep.equal([]);
  });

  it('a watchdog meant for another pid is not ours; a socket nobody listens on is a warning, not a crash', async () => {
    const other = SdNotify.fromEnv({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: String(process.pid + 1) }, { warn: () => undefined }) as SdNotify;
    expect(other.watchdogIntervalMs()).to.equal(null);
    const warnings: string[] = [];
    const n = SdNotify.fromEnv({ NOTIFY_SOCKET: join(dir, 'nobody.sock') }, { warn: (m) => warnings.push(m) }) as SdNotify;
    await n.ready('x');
    expect(n.failed).to.equal(1);
    expect(warnings[0]).to.match(/^sd_notify READY=1 failed: systemd-notify exit \d+/);
  });
});
