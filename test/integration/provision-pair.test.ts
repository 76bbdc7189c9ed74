// `tandem provision` and `tandem ha set` as an operator uses them, end to
// end: two provision calls (one per node, the same shared secret) give a pair
// the real daemons run: a boots, is made the volume's first Primary, b joins
// and syncs, the lower address (priority 110) is MASTER with the VIP. Then
// `ha set` moves the VIP in a's file and `tandem reload` applies it live.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { cli, nodeStatus, until } from '../../scripts/lab/ha-lab.js';
import { Lab, TANDEM_BIN, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { controlSocket } from '../../scripts/lab/tandem-config.js';
import { labLifecycle } from './lab-hooks.js';

describe('provision and ha set, run by the daemons (namespaces)', function () {
  this.timeout(180_000);
  const life = labLifecycle();

  async function provision(lab: Lab, h: LabHost, peer: LabHost, secret: string): Promise<string> {
    const r = await lab.exec(h, [
      process.execPath, TANDEM_BIN, 'provision', h.name, '--ha_mode', 'drbd', '--ha_node_list', `${lab.hosts[0]?.ipv4} ${lab.hosts[1]?.ipv4}`,
      '--kad_vip', '192.0.2.100/24', '--kad_vif', h.dev, '--peer_name', peer.name, '--ipaddr', h.ipv4,
      '--db_volume_id', join(h.dir, 'db.img'), '--db_size', '64MiB', '--secret_file', secret,
      '--config-dir', join(h.dir, 'etc'), '--unit-dir', join(h.dir, 'units'),
    ], { reject: false });
    expect(r.exitCode, String(r.stderr)).to.equal(0);
    const file = join(h.dir, 'etc', 'tandem.yaml');
    // Two daemons on one machine: sockets and state are not namespaced, so each node gets its own paths
    // (on real machines the defaults, /run/tandem and /var/lib/tandem, are per machine already).
    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['node', 'state_dir'], join(h.dir, 'state'));
    doc.setIn(['node', 'control_socket'], controlSocket(h));
    doc.setIn(['replication', 'volumes', 0, 'nbd'], { socket: join(h.dir, 'db.nbd') });
    writeFileSync(file, doc.toString());
    return file;
  }

  const start = (lab: Lab, h: LabHost, file: string): LabProcess => lab.spawn(h, [process.execPath, TANDEM_BIN, 'daemon', '--config', file], 'tandem.log');

  it('two provision calls make a pair the daemons run; ha set + reload moves the VIP live', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const secret = join(lab.root, 'secret'); // a's call creates it, b's keeps it (as a copied file would be)
    const fa = await provision(lab, a, b, secret);
    const fb = await provision(lab, b, a, secret);
    expect(readFileSync(fa, 'utf8')).to.match(/priority: 110/);
    expect(readFileSync(fb, 'utf8')).to.match(/priority: 100/);
    start(lab, a, fa);
    await until('a up', async () => (await nodeStatus(a)).ha !== null, 15_000);
    for (const cmd of [['replica', 'primary', 'db', '--force'], ['replica', 'secondary', 'db']]) expect((await cli(lab, a, cmd)).exitCode).to.equal(0);
    start(lab, b, fb);
    await until('a MASTER and serving, b in sync', async () => {
      const [sa, sb] = [await nodeStatus(a), await nodeStatus(b)];
      return sa.ha?.serving === true && sb.ha?.role === 'BACKUP' && sb.volumes[0]?.disk === 'UpToDate' && sb.volumes[0]?.peers[0]?.replication === 'Established';
    }, 60_000);
    expect(await lab.addresses(a)).to.include('192.0.2.100');
    expect((await nodeStatus(a)).volumes[0]?.role).to.equal('Primary');
    expect((await cli(lab, b, ['health'])).exitCode).to.equal(0);

    // escadm's ha set on the MASTER's file, then reload: the new VIP is up, the old one gone.
    const set = await lab.exec(a, [process.execPath, TANDEM_BIN, 'ha', 'set', '--config', fa, '--ha_node_list', `${a.ipv4} ${b.ipv4}`, '--kad_vip', '192.0.2.150/24', '--kad_vif', a.dev, '--kad_vri', '100'], { reject: false });
    expect(set.exitCode, String(set.stderr)).to.equal(0);
    const r = await cli(lab, a, ['reload']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`reloaded ${fa}: VI_1: VIP added 192.0.2.150/24; VI_1: VIP removed 192.0.2.100/24`);
    const addrs = await lab.addresses(a);
    expect(addrs).to.include('192.0.2.150');
    expect(addrs).to.not.include('192.0.2.100');
    expect((await nodeStatus(a)).vrrp[0]?.vips).to.deep.equal(['192.0.2.150/24']);
  });
});
