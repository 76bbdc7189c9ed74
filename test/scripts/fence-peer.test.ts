// scripts/fence-peer against the real tandem CLI and a stand-in daemon: each
// answer of `replica outdate` becomes the exit code DRBD's fence-peer
// contract names, and the request carries --by (the node asking).
import { expect } from 'chai';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../lib/node/control-server.js';
import { EventBus } from '../../lib/node/events.js';
import { createLogger } from '../../lib/node/log.js';
import { REPO_ROOT, TANDEM_BIN } from '../../scripts/lab/lab.js';

const SCRIPT = join(REPO_ROOT, 'scripts/fence-peer');

describe('scripts/fence-peer (the shipped fence_peer handler)', function () {
  this.timeout(30_000);
  let dir: string;
  let sock: string;
  let server: ControlServer;
  let answer: () => unknown;
  let requests: Record<string, unknown>[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-fence-'));
    sock = join(dir, 'control.sock');
    requests = [];
    server = new ControlServer(sock, new EventBus(), createLogger('test', () => {}));
    server.handle('replica.outdate', (r) => {
      requests.push(r);
      return answer();
    });
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (socket = sock) => execa('sh', [SCRIPT, `env TANDEM_SOCKET=${socket} ${process.execPath} ${TANDEM_BIN}`], {
    reject: false, timeout: 20_000,
    env: { TANDEM_VOLUME: 'db', TANDEM_NODE: 'node-a', TANDEM_PEER: 'node-b', TANDEM_PEER_ADDRESS: '198.51.100.12:7789' },
  });
  // The volume's own disk, with a peer's disk in the same JSON: the script must read the volume's.
  const status = (disk: string) => ({ name: 'db', type: 'block', role: 'Secondary', disk, peers: [{ name: 'node-c', disk: 'UpToDate', role: 'Secondary' }] });

  it('the peer outdated: exit 4, asked with --by the node running the handler', async () => {
    answer = () => status('Outdated');
    const r = await run();
    expect(r.exitCode, r.stderr).to.equal(4);
    expect(requests).to.deep.equal([{ command: 'replica.outdate', volume: 'db', by: 'node-a' }]);
  });

  it('the peer Inconsistent, or without data: exit 3', async () => {
    answer = () => status('Inconsistent');
    expect((await run()).exitCode).to.equal(3);
    answer = () => { throw new Error('db: the disk is Diskless: there is no local data to outdate'); };
    expect((await run()).exitCode).to.equal(3);
  });

  it('the peer Primary, or following another Primary: exit 6', async () => {
    answer = () => { throw new Error('db: the volume is Primary here: its data is the newest; only a Secondary can be outdated'); };
    const r = await run();
    expect(r.exitCode).to.equal(6);
    expect(r.stderr).to.include('is Primary here');
    answer = () => { throw new Error('db: connected to the Primary node-c, which keeps this disk up to date; disconnect first'); };
    expect((await run()).exitCode).to.equal(6);
  });

  it('no daemon to ask: exit 5 (unreachable)', async () => {
    const r = await run(join(dir, 'none.sock'));
    expect(r.exitCode).to.equal(5);
    expect(r.stderr).to.include('not reached').and.include('cannot reach the daemon');
  });

  // A stand-in for ssh: prints `message` and exits `code`, as ssh does when it cannot log in or connect.
  const runner = (code: number, message: string) => {
    const stub = join(dir, 'ssh-stub');
    writeFileSync(stub, `#!/bin/sh\necho ${JSON.stringify(message)} >&2\nexit ${code}\n`, { mode: 0o755 });
    return execa('sh', [SCRIPT, stub], { reject: false, timeout: 20_000, env: { TANDEM_VOLUME: 'db', TANDEM_NODE: 'node-a', TANDEM_PEER: 'node-b' } });
  };

  it('the peer host unreachable (ssh exit 255 on connect): exit 5', async () => {
    for (const m of ['ssh: connect to host node-b port 22: Connection refused', 'ssh: connect to host node-b port 22: No route to host', 'ssh: Could not resolve hostname node-b']) {
      const r = await runner(255, m);
      expect(r.exitCode, m).to.equal(5);
      expect(r.stderr).to.include('node-b not reached');
    }
  });

  it('a broken handler fences nothing (exit 1), so it never lets an UpToDate node take a live peer for dead', async () => {
    for (const [code, m] of [[255, 'root@node-b: Permission denied (publickey).'], [255, 'Host key verification failed.'], [127, 'sh: 1: tandem: not found'], [64, "error: unknown command 'outdate'"], [1, 'anything else']] as const) {
      const r = await runner(code, m);
      expect(r.exitCode, m).to.equal(1);
      expect(r.stderr).to.include(`the handler failed (exit ${code}), nothing fenced`);
    }
    // The runner itself missing: the shell's 127.
    const r = await execa('sh', [SCRIPT, join(dir, 'no-such-runner')], { reject: false, env: { TANDEM_VOLUME: 'db', TANDEM_NODE: 'node-a', TANDEM_PEER: 'node-b' } });
    expect(r.exitCode).to.equal(1);
  });

  it('an answer it cannot read: exit 1 (nothing fenced)', async () => {
    answer = () => status('UpToDate');
    const r = await run();
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.include('unexpected answer');
  });
});
