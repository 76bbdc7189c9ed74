// `tandem provision` as a user runs it: the real executable writing into a
// temp dir through --config-dir / --unit-dir; what it wrote loads with the
// daemon's own loader and the units pass `systemd-analyze verify`.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../lib/config/load.js';
import { TANDEM_BIN } from '../../scripts/lab/lab.js';
import { requireTool } from '../helpers/env.js';

const tandem = (args: string[]) => execa(process.execPath, [TANDEM_BIN, 'provision', ...args], { reject: false, timeout: 20_000 });

describe('cli provision (the executable)', function () {
  this.timeout(30_000);
  let dir: string;
  let etc: string;
  let units: string;
  // Node a of the pair 192.0.2.11 / 192.0.2.12, everything under the temp dir.
  const nodeA = (...more: string[]): string[] => [
    'esc-ha-0', '--ha_mode', 'drbd', '--ha_node_list', '192.0.2.11 192.0.2.12', '--kad_vip', '192.0.2.100/24', '--kad_vif', 'eth0',
    '--peer_name', 'esc-ha-1', '--ipaddr', '192.0.2.11', '--db_volume_id', join(dir, 'db.img'), '--db_size', '64MiB',
    '--config-dir', etc, '--unit-dir', units, ...more,
  ];

  before(async () => {
    // `tandem provision --help` prints the program's help, exit 0, while provision is not registered.
    const help = await tandem(['--help']);
    if (!help.stdout.includes('--ha_mode')) throw new Error(`tandem provision is not a command yet: lib/cli/main.ts must call addProvisionCommand(program)`);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-provision-'));
    etc = join(dir, 'etc');
    units = join(dir, 'units');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes tandem.yaml, the unit and the secret, and prints them; the daemon\'s loader accepts the file', async () => {
    const r = await tandem(nodeA('--gateway_ip', '192.0.2.1'));
    expect(r.exitCode, r.stderr).to.equal(0);
    const config = join(etc, 'tandem.yaml');
    const loaded = await loadConfigFile(config);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.warnings).to.deep.equal([]);
    expect(loaded.config.node.name).to.equal('esc-ha-0');
    expect(loaded.config.replication.secretFile).to.equal(join(etc, 'secret'));
    expect(statSync(config).mode & 0o777).to.equal(0o644);
    const secret = join(etc, 'secret');
    expect(statSync(secret).mode & 0o777).to.equal(0o600);
    expect(readFileSync(secret, 'utf8')).to.match(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(readdirSync(units)).to.deep.equal(['tandem.service']);
    expect(readFileSync(join(units, 'tandem.service'), 'utf8')).to.include(`daemon --config ${config}\n`);
    expect(r.stdout).to.include(`==> ${config}: written <==\n${readFileSync(config, 'utf8')}`);
    expect(r.stdout).to.include(`==> ${join(units, 'tandem.service')}: written <==`);
    expect(r.stdout).to.include(`==> ${secret}: created: 32 random bytes, base64, mode 0600 <==`);
    expect(r.stdout).to.include(`scp -p ${secret} root@192.0.2.12:${secret}`);
    expect(readdirSync(etc).filter((f) => f.includes('tandem-new'))).to.deep.equal([]);
  });

  it('--dry-run prints the same and writes nothing', async () => {
    const r = await tandem(nodeA('--dry-run'));
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(existsSync(etc) || existsSync(units)).to.equal(false);
    expect(r.stdout).to.include(`==> ${join(etc, 'tandem.yaml')}: would be written (--dry-run) <==\n# Node esc-ha-0`);
    expect(r.stdout).to.include(`${join(etc, 'secret')}: would be created (--dry-run)`);
    expect(r.stdout).to.include('Nothing was written.');
  });

  it('the same call again changes nothing and keeps the secret; other flags are refused without --force, exit 64', async () => {
    expect((await tandem(nodeA())).exitCode).to.equal(0);
    const before = { config: readFileSync(join(etc, 'tandem.yaml'), 'utf8'), secret: readFileSync(join(etc, 'secret'), 'utf8') };
    const same = await tandem(nodeA());
    expect(same.exitCode, same.stderr).to.equal(0);
    expect(same.stdout).to.include(`==> ${join(etc, 'tandem.yaml')}: unchanged <==`).and.include(': kept (the replication secret)');
    const other = await tandem(nodeA('--kad_vri', '7'));
    expect(other.exitCode).to.equal(64);
    expect(other.stderr).to.include(`${join(etc, 'tandem.yaml')} exists with other contents: nothing was written; --force replaces it`);
    expect(readFileSync(join(etc, 'tandem.yaml'), 'utf8')).to.equal(before.config);
    const forced = await tandem(nodeA('--kad_vri', '7', '--force'));
    expect(forced.exitCode, forced.stderr).to.equal(0);
    expect(forced.stdout).to.include(`==> ${join(etc, 'tandem.yaml')}: replaced <==`);
    expect(readFileSync(join(etc, 'tandem.yaml'), 'utf8')).to.include('virtual_router_id: 7');
    expect(readFileSync(join(etc, 'secret'), 'utf8')).to.equal(before.secret);
  });

  it('an existing secret the daemon could not use (empty, short, a directory) is refused, exit 78, and nothing is written', async () => {
    const secret = join(etc, 'secret');
    for (const [make, want] of [
      [() => writeFileSync(secret, '', { mode: 0o600 }), 'holds 0 bytes; at least 16 are required'],
      [() => writeFileSync(secret, 'short\n', { mode: 0o600 }), 'holds 5 bytes; at least 16 are required'],
      [() => mkdirSync(secret), 'not a regular file'],
    ] as const) {
      rmSync(etc, { recursive: true, force: true });
      mkdirSync(etc, { recursive: true });
      make();
      const r = await tandem(nodeA());
      expect(r.exitCode, r.stderr).to.equal(78);
      expect(r.stderr).to.include(want).and.include('provision never replaces an existing secret').and.include('nothing was written');
      expect(existsSync(join(etc, 'tandem.yaml'))).to.equal(false);
      expect(existsSync(units)).to.equal(false);
    }
  });

  it('bad flags exit 64 naming each, and write nothing; a missing required flag is a usage error too', async () => {
    const r = await tandem(nodeA('--kad_vri', '300', '--route', '10.0.0.1/8:eth1').map((a) => (a === 'drbd' ? 'cinder' : a)));
    expect(r.exitCode).to.equal(64);
    expect(r.stderr).to.include('--kad_vri 300: must be an integer 1..255');
    expect(r.stderr).to.include('--ha_mode cinder: ESC\'s cinder mode');
    expect(r.stderr).to.include('10.0.0.1/8 has host bits set: the network is 10.0.0.0/8');
    expect(r.stderr).to.include('nothing was written');
    expect(existsSync(etc)).to.equal(false);
    const missing = await tandem(['esc-ha-0', '--ha_mode', 'drbd']);
    expect(missing.exitCode).to.equal(64);
    expect(missing.stderr).to.include('--ha_node_list');
  });

  it('the node list given unquoted (as ESC\'s bootvm.py takes it), or a second NAME, is a usage error saying what to do; nothing is written', async () => {
    const args = nodeA();
    args.splice(args.indexOf('--ha_node_list'), 2, '--ha_node_list=192.0.2.11', '192.0.2.12'); // bootvm.py's form
    const unquoted = await tandem(args);
    expect(unquoted.exitCode).to.equal(64);
    expect(unquoted.stderr).to.include(`unexpected argument "192.0.2.12": a list of addresses (--ha_node_list, --kad_unicast_peer, --ipaddr) is one argument; quote it`);
    const two = await tandem([...nodeA(), 'esc-ha-1']);
    expect(two.exitCode).to.equal(64);
    expect(two.stderr).to.include('unexpected argument "esc-ha-1": it takes one NAME, then flags');
    expect(existsSync(etc)).to.equal(false);
  });

  it('a flag given twice, or a directory with a newline, is a usage error naming it, and nothing is written', async () => {
    const twice = await tandem(nodeA('--kad_vip', '192.0.2.101/24'));
    expect(twice.exitCode).to.equal(64);
    expect(twice.stderr).to.include('--kad_vip is given more than once; give it once');
    const dirTwice = await tandem(nodeA('--config-dir', etc));
    expect(dirTwice.stderr).to.include('--config-dir is given more than once');
    // The directory's path goes into the units and the YAML file: a newline would break both.
    const nl = await tandem(nodeA().map((a) => (a === etc ? `${etc}\nx` : a)));
    expect(nl.exitCode).to.equal(64);
    expect(nl.stderr).to.include(`--config-dir ${JSON.stringify(`${etc}\nx`)}: must be an absolute path (starting with "/", no NUL byte, newline or other control character)`);
    const unl = await tandem(nodeA().map((a) => (a === units ? `${units}\nx` : a)));
    expect(unl.exitCode).to.equal(64);
    expect(unl.stderr).to.include('holds a control character (a newline?); allowed: a directory path');
    const img = await tandem(nodeA().map((a) => (a === join(dir, 'db.img') ? `${dir}/x\ny.img` : a)));
    expect(img.exitCode).to.equal(64);
    expect(img.stderr).to.include('no newline or other control character) or a cinder volume id');
    expect(existsSync(etc)).to.equal(false);
    expect(existsSync(units)).to.equal(false);
  });

  it('the second node of the pair reads the first one\'s secret; their files name each other', async () => {
    expect((await tandem(nodeA())).exitCode).to.equal(0);
    const etcB = join(dir, 'etc-b');
    const b = await tandem([
      'esc-ha-1', '--ha_mode', 'drbd', '--ha_node_list', '192.0.2.11 192.0.2.12', '--kad_vip', '192.0.2.100/24', '--kad_vif', 'eth0',
      '--peer_name', 'esc-ha-0', '--ipaddr', '192.0.2.12', '--db_volume_id', join(dir, 'db-b.img'), '--db_size', '64MiB',
      '--secret_file', join(etc, 'secret'), '--config-dir', etcB, '--unit-dir', join(dir, 'units-b'),
    ]);
    expect(b.exitCode, b.stderr).to.equal(0);
    expect(b.stdout).to.include(`==> ${join(etc, 'secret')}: kept (the replication secret) <==`);
    const [x, y] = await Promise.all([loadConfigFile(join(etc, 'tandem.yaml')), loadConfigFile(join(etcB, 'tandem.yaml'))]);
    if (!x.ok || !y.ok) throw new Error('a node\'s file does not load');
    const [vx, vy] = [x.config.replication.volumes[0], y.config.replication.volumes[0]];
    expect(vx?.peers).to.deep.equal([{ name: 'esc-ha-1', address: vy?.listen }]);
    expect(vy?.peers).to.deep.equal([{ name: 'esc-ha-0', address: vx?.listen }]);
    expect(x.config.vrrp.instances[0]?.unicastPeer).to.deep.equal([y.config.vrrp.instances[0]?.unicastSrcIp]);
  });

  it('run again without --route, it says that the earlier routes unit is left and how to remove it', async () => {
    const fresh = await tandem(nodeA());
    expect(fresh.exitCode, fresh.stderr).to.equal(0);
    expect(fresh.stdout, 'no routes unit: nothing to say').to.not.include('is left from an earlier provision');
    const routed = await tandem(nodeA('--route', '172.16.0.0/16:192.0.2.1:eth0', '--force'));
    expect(routed.exitCode, routed.stderr).to.equal(0);
    expect(routed.stdout, 'the routes unit is this run\'s').to.not.include('is left from an earlier provision');
    const again = await tandem(nodeA('--force'));
    expect(again.exitCode, again.stderr).to.equal(0);
    const left = join(units, 'tandem-routes.service');
    expect(again.stdout).to.include(`${left} is left from an earlier provision with --route: while enabled, it adds its routes at every boot; without routes now, remove it: systemctl disable --now tandem-routes.service && rm ${left}`);
    expect(readFileSync(join(units, 'tandem.service'), 'utf8')).to.not.include('tandem-routes');
  });

  it('the units pass systemd-analyze verify', async function () {
    requireTool(this, 'systemd-analyze', 'scripts/setup.sh installs systemd');
    const r = await tandem(nodeA('--route', '172.16.0.0/16:192.0.2.1:eth0', '--route', '[2001:db8:1::/48]:[2001:db8::1]:eth0'));
    expect(r.exitCode, r.stderr).to.equal(0);
    const files = ['tandem.service', 'tandem-routes.service'].map((u) => join(units, u));
    const v = await execa('systemd-analyze', ['verify', ...files], { reject: false });
    expect(v.exitCode, v.stderr).to.equal(0);
    expect(v.stderr.split('\n').filter((l) => l.includes('tandem')), v.stderr).to.deep.equal([]);
  });

  it('a bad unit is caught by that check (so it checks something)', async function () {
    requireTool(this, 'systemd-analyze', 'scripts/setup.sh installs systemd');
    const bad = join(dir, 'tandem-bad.service');
    writeFileSync(bad, '[Service]\nExecStart=/nonexistent/tandem daemon\n');
    const v = await execa('systemd-analyze', ['verify', bad], { reject: false });
    expect(v.exitCode !== 0 || v.stderr.includes('tandem-bad'), v.stderr).to.equal(true);
  });
});
