// The real executable: exit codes and messages for bad configuration, bad
// arguments and an absent daemon.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ControlServer } from '../../lib/node/control-server.js';
import { EventBus } from '../../lib/node/events.js';
import { createLogger } from '../../lib/node/log.js';
import { TANDEM_BIN } from '../../scripts/lab/lab.js';

const tandem = (args: string[]) => execa(process.execPath, [TANDEM_BIN, ...args], { reject: false, timeout: 20_000 });

describe('cli', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a bad configuration before starting, listing every problem, exit 78', async () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(
      cfg,
      [
        `node: { name: n1, state_dir: ${dir}/state, control_socket: ${dir}/c.sock }`,
        'vrrp:',
        '  instances:',
        '    - name: VI_1',
        '      interface: eth0',
        '      virtual_router_id: 300',
        '      priority: 0',
        '      virtual_ipaddress: [192.0.2.100/24]',
        '      virtual_router_ip: 5',
      ].join('\n'),
    );
    const r = await tandem(['daemon', '--config', cfg]);
    expect(r.exitCode).to.equal(78);
    expect(r.stderr).to.include('vrrp.instances[0].virtual_router_id').and.include('300').and.include('1..255');
    expect(r.stderr).to.include('vrrp.instances[0].priority');
    expect(r.stderr).to.include('virtual_router_ip');
    expect(r.stderr).to.match(/nothing was started/);
  });

  it('daemon -t (keepalived -t) checks a file and starts nothing: 0 and a summary when valid, 78 and the problems when not', async () => {
    const ok = await tandem(['daemon', '-t', '--config', 'docs/examples/node-a.yaml']);
    expect(ok.exitCode, ok.stderr).to.equal(0);
    expect(ok.stdout).to.equal('docs/examples/node-a.yaml: valid for node node-a: 2 VRRP instances, 0 replicated volumes, 0 services');
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, `node: { name: n1, state_dir: ${dir}/state, control_socket: ${dir}/c.sock }\nvrrp: { instances: [{ name: VI_1, interface: eth0, virtual_router_id: 300, priority: 100 }] }\n`);
    const bad = await tandem(['daemon', '--config-test', '--config', cfg]);
    expect(bad.exitCode).to.equal(78);
    expect(bad.stderr).to.include('vrrp.instances[0].virtual_router_id').and.include('configuration refused (2 problems)');
    expect(existsSync(join(dir, 'state')), 'nothing started: no state directory').to.equal(false);
  });

  // A valid file whose start would fail: before, -t said valid and the start refused (the image, the secret).
  it('daemon -t also checks what a start would fail on: a secret file missing, an image of another size; a missing image is fine', async () => {
    const secret = join(dir, 'secret');
    const image = join(dir, 'db.img');
    const cfg = join(dir, 'repl.yaml');
    writeFileSync(cfg, [
      `node: { name: node-a, state_dir: ${dir}/state, control_socket: ${dir}/c.sock }`,
      'replication:',
      `  secret_file: ${secret}`,
      '  volumes:',
      `    - { name: db, type: block, device: ${image}, size: 8MiB, listen: "127.0.0.1:17789", peers: [{ name: node-b, address: "127.0.0.2:17789" }] }`,
      '',
    ].join('\n'));
    const before = await tandem(['daemon', '-t', '--config', cfg]);
    expect(before.exitCode).to.equal(78);
    expect(before.stderr).to.include(`${cfg}: replication.secret_file ${secret}: ENOENT`).and.include('a start would fail (1 problem)');
    writeFileSync(secret, 'a secret of more than sixteen bytes\n', { mode: 0o600 });
    const ok = await tandem(['daemon', '-t', '--config', cfg]);
    expect(ok.exitCode, ok.stderr).to.equal(0); // the image is created at start
    writeFileSync(image, Buffer.alloc(4 << 20));
    const small = await tandem(['daemon', '-t', '--config', cfg]);
    expect(small.exitCode).to.equal(78);
    expect(small.stderr).to.include(`${cfg}: replication.volumes db: ${image} holds 4194304 bytes, the volume is configured at 8388608 bytes`);
    writeFileSync(image, Buffer.alloc(16 << 20));
    const large = await tandem(['daemon', '-t', '--config', cfg]);
    expect(large.stderr).to.include(`${image} holds 16777216 bytes, more than the configured 8388608; a volume never shrinks`);
    expect(existsSync(join(dir, 'state')), 'nothing started: no state directory').to.equal(false);
  });

  it('a missing configuration file is a configuration error naming the path', async () => {
    const r = await tandem(['daemon', '--config', join(dir, 'absent.yaml')]);
    expect(r.exitCode).to.equal(78);
    expect(r.stderr).to.include('absent.yaml').and.include('ENOENT');
  });

  it('status without a daemon says so and exits 69 (EX_UNAVAILABLE)', async () => {
    const r = await tandem(['status', '--socket', join(dir, 'none.sock')]);
    expect(r.exitCode).to.equal(69);
    expect(r.stderr).to.include('no tandem daemon is running');
  });

  it('a daemon that takes the request and never answers: after 10 s, exit 69 as with no daemon (monitoring must not read it as a refusal)', async function () {
    this.timeout(30_000);
    const path = join(dir, 'mute.sock');
    const held: import('node:net').Socket[] = [];
    const server = createServer((c) => held.push(c));
    await new Promise<void>((res) => server.listen(path, res));
    try {
      const r = await tandem(['status', '--socket', path]);
      expect(r.exitCode, r.stderr).to.equal(69);
      expect(r.stderr).to.equal(`tandem: the daemon at ${path} did not answer within 10000 ms`);
    } finally {
      for (const c of held) c.destroy();
      await new Promise((res) => server.close(res));
    }
  });

  it('events without a daemon says so and exits 69, as status does', async () => {
    const r = await tandem(['events', '--socket', join(dir, 'none.sock')]);
    expect(r.exitCode).to.equal(69);
    expect(r.stderr).to.equal(`tandem: cannot reach the daemon at ${join(dir, 'none.sock')}: no tandem daemon is running there (start it with \`tandem daemon --config FILE\`)`);
  });

  it('a --socket that is no socket path (empty, too long) is a usage error, exit 64; a --config that is no file, exit 78', async () => {
    for (const bad of ['', `/tmp/${'x'.repeat(110)}`]) {
      const r = await tandem(['status', '--socket', bad]);
      expect(r.exitCode, r.stderr).to.equal(64);
      expect(r.stderr).to.equal(`tandem: --socket ${JSON.stringify(bad)}: want the path of the daemon's control socket, 1..107 bytes without NUL (its node.control_socket; default /run/tandem/control.sock)`);
    }
    const dev = await tandem(['status', '--config', '/dev/null']);
    expect(dev.exitCode).to.equal(78);
    expect(dev.stderr).to.include('it is a character device, not a regular file').and.include('pass --socket PATH');
  });

  it('--config reads only node.control_socket: a typo elsewhere, not yet applied, does not hide the daemon', async () => {
    const cfg = join(dir, 'edited.yaml');
    writeFileSync(cfg, [`node: { name: n1, control_socket: ${dir}/c.sock }`, 'vrrp:', '  instances:', '    - { name: VI_1, interface: eth0, virtual_router_id: 51, priority: 1100 }'].join('\n'));
    const r = await tandem(['status', '--config', cfg]);
    expect(r.exitCode, r.stderr).to.equal(69);
    expect(r.stderr).to.include(`cannot reach the daemon at ${dir}/c.sock`);
    writeFileSync(cfg, 'node: { control_socket: relative.sock }\n');
    const bad = await tandem(['status', '--config', cfg]);
    expect(bad.exitCode).to.equal(78);
    expect(bad.stderr).to.include('node.control_socket is "relative.sock": want an absolute path');
    writeFileSync(cfg, 'node: [\n');
    const broken = await tandem(['status', '--config', cfg]);
    expect(broken.exitCode).to.equal(78);
    expect(broken.stderr).to.include('not YAML').and.include('--socket');
  });

  it('events: a daemon that dies without daemon.stopped ends the stream with an error, exit 69; a stop ends it quietly', async () => {
    const sock = join(dir, 'c.sock');
    for (const stops of [false, true]) {
      const server = createServer((c) => {
        c.once('data', () => {
          c.write(`${JSON.stringify({ type: 'test.tick', at: new Date().toISOString() })}\n`);
          if (stops) c.end(`${JSON.stringify({ type: 'daemon.stopped', at: new Date().toISOString() })}\n`);
          else setTimeout(() => c.destroy(), 100); // as a kill -9 leaves it
        });
      });
      await new Promise<void>((res) => server.listen(sock, res));
      try {
        const r = await tandem(['events', '--socket', sock]);
        expect(r.stdout.split('\n')[0], 'the events before the end are printed').to.include('test.tick');
        if (stops) {
          expect(r.exitCode, r.stderr).to.equal(0);
          expect(r.stderr).to.equal('');
        } else {
          expect(r.exitCode).to.equal(69);
          expect(r.stderr).to.equal(`tandem: the daemon at ${sock} closed the event stream without a daemon.stopped event: it crashed or was killed, or dropped this stream for reading too slowly (see its log)`);
        }
      } finally {
        await new Promise((res) => server.close(res));
      }
    }
  });

  it('events into a pipe its reader closes (tandem events | head -1) ends quietly', async () => {
    const sock = join(dir, 'c.sock');
    const bus = new EventBus();
    const server = new ControlServer(sock, bus, createLogger('test', () => {}));
    await server.start();
    const flood = setInterval(() => { for (let i = 0; i < 200; i++) bus.emit('test.tick', { i, pad: 'x'.repeat(200) }); }, 5);
    try {
      // pipefail: the pipeline's status is tandem's.
      const cmd = `set -o pipefail; ${JSON.stringify(process.execPath)} ${JSON.stringify(TANDEM_BIN)} events --socket ${JSON.stringify(sock)} | head -1`;
      const r = await execa('bash', ['-c', cmd], { reject: false, timeout: 20_000 });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout.split('\n')[0]).to.include('test.tick');
      expect(r.stderr, 'no stack trace').to.equal('');
    } finally {
      clearInterval(flood);
      await server.stop();
    }
  });

  it('an unknown command or option is a usage error, exit 64', async () => {
    const r = await tandem(['frobnicate']);
    expect(r.exitCode).to.equal(64);
    expect(r.stderr).to.include("unknown command 'frobnicate'");
    const r2 = await tandem(['status', '--jsn']);
    expect(r2.exitCode).to.equal(64);
    expect(r2.stderr).to.include("unknown option '--jsn'");
  });

  it('--help lists the commands and exits 0', async () => {
    const r = await tandem(['--help']);
    expect(r.exitCode).to.equal(0);
    expect(r.stdout).to.include('daemon').and.include('status').and.include('events');
  });
});
