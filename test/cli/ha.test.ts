// `tandem ha set` as a user runs it: the real executable, a real file, the
// real `ip addr` of a network namespace made for the test (a veth pair
// with 192.0.2.21), so the node's own address is known.
import { expect } from 'chai';
import { execa } from 'execa';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TANDEM_BIN } from '../../scripts/lab/lab.js';
import { requireLab } from '../helpers/env.js';

describe('cli ha set (the executable)', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  const ns = `tdm${process.pid}ha`; // the lab's prefix: the leftover checks see it
  before(async function () {
    requireLab(this); // a network namespace: by hand without root it skips saying why; under CI it fails
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'd1']);
    await execa('ip', ['-n', ns, 'addr', 'add', '192.0.2.21/24', 'dev', 'eth0']);
  });
  after(async () => {
    await execa('ip', ['netns', 'del', ns], { reject: false });
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-haset-'));
    file = join(dir, 'tandem.yaml');
    writeFileSync(file, readFileSync('docs/examples/node-a.yaml'));
    chmodSync(file, 0o640);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => execa('ip', ['netns', 'exec', ns, process.execPath, TANDEM_BIN, 'ha', 'set', '--config', file, ...args], { reject: false });

  it('rewrites the file in place (comments and mode kept), prints each change; --dry-run writes nothing', async () => {
    const args = ['--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.99/24', '--kad_vif', 'eth0'];
    const dry = await run(...args, '--dry-run');
    expect(dry.exitCode, dry.stderr).to.equal(0);
    // Also a dry run says what the change would need: reload or a restart.
    expect(dry.stdout.trim().split('\n').at(-1)).to.equal(
      `${file} not written (--dry-run); once written, restart the daemon to apply it (systemctl restart tandem): unicast_src_ip, unicast_peer changed, which reload does not apply`,
    );
    expect(readFileSync(file, 'utf8')).to.equal(readFileSync('docs/examples/node-a.yaml', 'utf8'));
    const r = await run(...args);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout.split('\n')).to.include.members([
      'vrrp.instances[0].unicast_src_ip: "192.0.2.11" -> "192.0.2.21"',
      'vrrp.instances[0].unicast_peer: ["192.0.2.12"] -> ["192.0.2.250"]',
      `${file} written; restart the daemon to apply it (systemctl restart tandem): unicast_src_ip, unicast_peer changed, which reload does not apply`,
    ]);
    const text = readFileSync(file, 'utf8');
    expect(text).to.include('# node-b has 100: node-a wins when both are healthy');
    expect(text, 'the instance keeps its VRID without --kad_vri').to.include('virtual_router_id: 51');
    expect(statSync(file).mode & 0o777).to.equal(0o640);
    // A VIP-only change is one reload applies.
    const vip = await run('--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.98/24', '--kad_vif', 'eth0');
    expect(vip.stdout.trim().split('\n')).to.deep.equal([
      'vrrp.instances[0].virtual_ipaddress: ["192.0.2.99/24"] -> ["192.0.2.98/24"]',
      `${file} written; run \`tandem reload\` to apply it (VIPs change live)`,
    ]);
  });

  it('a configuration reached through a symbolic link: the file it names is replaced, the link stays', async () => {
    const real = join(dir, 'real.yaml');
    renameSync(file, real);
    symlinkSync('real.yaml', file);
    const r = await run('--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.99/24', '--kad_vif', 'eth0');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(lstatSync(file).isSymbolicLink()).to.equal(true);
    expect(readFileSync(real, 'utf8')).to.include('192.0.2.99/24');
    expect(statSync(real).mode & 0o777).to.equal(0o640);
    expect(readdirSync(dir).sort()).to.deep.equal(['real.yaml', 'tandem.yaml']);
  });

  it('a device node or FIFO given as --config is refused (exit 78) and stays what it is; so is a file the daemon would refuse for its size', async () => {
    const dev = join(dir, 'null');
    await execa('mknod', ['-m', '666', dev, 'c', '1', '3']);
    const fifo = join(dir, 'fifo');
    await execa('mkfifo', [fifo]);
    const flags = ['--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.99', '--kad_vif', 'eth0'];
    for (const [path, kind] of [[dev, 'a character device'], [fifo, 'a FIFO']] as const) {
      const r = await execa('ip', ['netns', 'exec', ns, process.execPath, TANDEM_BIN, 'ha', 'set', '--config', path, ...flags], { reject: false });
      expect(r.exitCode, r.stderr).to.equal(78);
      expect(r.stderr).to.include(`it is ${kind}, not a regular file (a configuration file, or a symlink to one); nothing written`);
    }
    expect(statSync(dev).isCharacterDevice()).to.equal(true);
    expect(statSync(fifo).isFIFO()).to.equal(true);
    writeFileSync(file, `${readFileSync('docs/examples/node-a.yaml', 'utf8')}${'# padding padding padding padding padding padding padding\n'.repeat(20_000)}`);
    const before = readFileSync(file);
    const big = await run(...flags);
    expect(big.exitCode).to.equal(78);
    expect(big.stderr).to.include('larger than 1048576 bytes');
    expect(readFileSync(file).equals(before)).to.equal(true);
  });

  it('a refused edit exits 64 with the reason and leaves the file alone; a bad --kad_vri is a usage error', async () => {
    const r = await run('--ha_node_list', '192.0.2.251 192.0.2.250', '--kad_vip', '192.0.2.99', '--kad_vif', 'eth0');
    expect(r.exitCode).to.equal(64);
    expect(r.stderr).to.include('none of these addresses is on this host');
    expect(readFileSync(file, 'utf8')).to.equal(readFileSync('docs/examples/node-a.yaml', 'utf8'));
    const nif = await run('--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.99', '--kad_vif', 'nosuch0');
    expect(nif.exitCode).to.equal(64);
    expect(nif.stderr).to.include('--kad_vif: "nosuch0" is no interface of this host (its interfaces: lo, d1, eth0)');
    expect(readFileSync(file, 'utf8')).to.equal(readFileSync('docs/examples/node-a.yaml', 'utf8'));
    const u = await run('--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.99', '--kad_vif', 'eth0', '--kad_vri', '300');
    expect(u.exitCode).to.equal(64);
    expect(u.stderr).to.include('a virtual router id: an integer 1..255');
  });

  it('the node list given unquoted (as ESC\'s bootvm.py takes it) is a usage error that says to quote it; the file is left alone', async () => {
    const r = await run('--ha_node_list=192.0.2.21', '192.0.2.250', '--kad_vip', '192.0.2.99', '--kad_vif', 'eth0');
    expect(r.exitCode).to.equal(64);
    expect(r.stderr).to.include(`unexpected argument "192.0.2.250": a list of addresses (--ha_node_list, --kad_unicast_peer, --ipaddr) is one argument; quote it: --ha_node_list '192.0.2.11 192.0.2.12'`);
    const word = await run('now', '--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.99', '--kad_vif', 'eth0');
    expect(word.exitCode).to.equal(64);
    expect(word.stderr).to.include('unexpected argument "now": it takes flags only');
    expect(readFileSync(file, 'utf8')).to.equal(readFileSync('docs/examples/node-a.yaml', 'utf8'));
  });

  it('a flag given twice is a usage error (commander kept the last one silently) and the file is left alone', async () => {
    const r = await run('--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.99', '--kad_vip', '192.0.2.98', '--kad_vif', 'eth0');
    expect(r.exitCode).to.equal(64);
    expect(r.stderr).to.include('--kad_vip is given more than once; give it once');
    const c = await run('--config', file, '--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.99', '--kad_vif', 'eth0');
    expect(c.exitCode).to.equal(64);
    expect(c.stderr).to.include('--config is given more than once');
    expect(readFileSync(file, 'utf8')).to.equal(readFileSync('docs/examples/node-a.yaml', 'utf8'));
  });

  it('a write that fails prints none of the changes as made: the reason, exit 71, the file unchanged', async () => {
    await execa('chattr', ['+i', dir]); // even root cannot make the temporary file beside it
    try {
      const r = await run('--ha_node_list', '192.0.2.21 192.0.2.250', '--kad_vip', '192.0.2.99', '--kad_vif', 'eth0');
      expect(r.exitCode).to.equal(71);
      expect(r.stdout, 'no change line before the failed write').to.equal('');
      expect(r.stderr).to.match(/cannot write .*tandem\.yaml: EPERM; it is unchanged/);
    } finally {
      await execa('chattr', ['-i', dir]);
    }
    expect(readFileSync(file, 'utf8')).to.equal(readFileSync('docs/examples/node-a.yaml', 'utf8'));
  });
});
