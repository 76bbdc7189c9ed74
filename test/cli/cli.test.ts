// The real executable: exit codes and messages for bad configuration, bad
// arguments and an absent daemon.
import { expect } from 'chai';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
