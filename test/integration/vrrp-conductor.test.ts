// What the node does around an election, in namespaces: notify scripts with
// keepalived's arguments, the event stream, sync groups failing over
// together, leftover VIPs removed at start, and neighbours' caches updated
// by gratuitous ARP / unsolicited NA.
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, existsSync } from 'node:fs';
import { Lab, TANDEM_BIN, type LabHost } from '../../scripts/lab/lab.js';
import { spawnWritingLog } from '../../scripts/lab/keepalived.js';
import { controlSocket, tandemConfig } from '../../scripts/lab/tandem-config.js';
import { sleep, waitFor } from '../helpers/env.js';
import { labLifecycle } from './lab-hooks.js';
import { electedPair, holders, instance, macOf, neighbourMac, start, waitHolder, waitState } from './vrrp-lab.js';

const VIP = '192.0.2.100';

describe('VRRP node behaviour in network namespaces', function () {
  this.timeout(60_000);
  const labs = labLifecycle(['arping', 'tcpdump']);

  it('runs notify scripts with keepalived arguments and streams the events', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const out = `${a.dir}/notify.out`;
    const script = lab.write(a, 'notify.sh', `#!/bin/sh\necho "$@" >> ${out}\n`);
    await execa('chmod', ['+x', script]);
    const pa = start(lab, a, { priority: 150, advertInt: 0.3, notify: script });
    start(lab, b, { priority: 100, advertInt: 0.3 });
    await waitHolder(lab, VIP, a, 10_000);
    await waitFor('notify MASTER', async () => existsSync(out) && readFileSync(out, 'utf8').includes('MASTER'), 5000);
    // The stream starts with the recent history, then follows; stop reading after a moment.
    const ev = await execa(process.execPath, [TANDEM_BIN, 'events', '--history', '--socket', controlSocket(a)], { reject: false, timeout: 1500 });
    const types = ev.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; to?: string });
    expect(types.some((e) => e.type === 'vrrp.transition' && e.to === 'MASTER')).to.equal(true);
    expect(types.some((e) => e.type === 'vip.added')).to.equal(true);
    await lab.stop(pa);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).to.deep.equal(['INSTANCE VI_1 BACKUP 150', 'INSTANCE VI_1 MASTER 150', 'INSTANCE VI_1 STOP 150']);
  });

  it('SIGTERM during start-up, and again while stopping, still ends cleanly with exit 0', async () => {
    const lab = labs.adopt(await Lab.create(1));
    const [a] = lab.hosts as [LabHost];
    const p = start(lab, a, { priority: 255, advertInt: 0.3 });
    await waitFor('control socket', async () => existsSync(controlSocket(a)), 5000, 5);
    p.child.kill('SIGTERM');
    p.child.kill('SIGTERM');
    await p.child;
    expect(p.child.exitCode).to.equal(0);
    expect(await lab.addresses(a)).to.not.include(VIP);
    expect(existsSync(controlSocket(a))).to.equal(false);
  });

  it('an interface or address that appears after start is picked up: the instance leaves FAULT', async () => {
    const lab = labs.adopt(await Lab.create(1));
    const [a] = lab.hosts as [LabHost];
    // The interface is not there yet (renamed away), as before a slow driver or a hotplug.
    await lab.exec(a, ['ip', 'link', 'set', 'eth0', 'down']);
    await lab.exec(a, ['ip', 'link', 'set', 'eth0', 'name', 'later0']);
    await lab.exec(a, ['ip', 'addr', 'flush', 'dev', 'later0']);
    start(lab, a, { priority: 150, advertInt: 0.3 });
    const f = await waitState(a, 'FAULT', 5000);
    expect(f.fault_reasons.join('; ')).to.include('interface eth0 not found');
    await lab.exec(a, ['ip', 'link', 'set', 'later0', 'name', 'eth0']);
    await lab.exec(a, ['ip', 'link', 'set', 'eth0', 'up']);
    // The link is back but has no IPv4 address yet (think DHCP): still FAULT, for that reason.
    await waitFor('fault for the missing address', async () => {
      const i = await instance(a);
      return i.state === 'FAULT' && i.fault_reasons.join('; ').includes('no IPv4 source address on eth0');
    }, 5000);
    await lab.exec(a, ['ip', 'addr', 'add', `${a.ipv4}/24`, 'dev', 'eth0']);
    await waitHolder(lab, VIP, a, 5000);
    const i = await instance(a);
    expect(i).to.include({ state: 'MASTER', source_ip: a.ipv4 });
    expect(i.fault_reasons).to.deep.equal([]);
  });

  it('a sync group fails over together when one member faults', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const flag = `${a.dir}/ok`;
    await execa('touch', [flag]);
    const two = (prio: number, withScript: boolean) => [
      { name: 'VI_1', vrid: 51, priority: prio, advertInt: 0.3 },
      {
        name: 'VI_2', vrid: 52, priority: prio, advertInt: 0.3, vips: ['192.0.2.101/24'],
        ...(withScript ? { trackScript: { name: 'chk', script: `test -e ${flag}`, weight: 0 } } : {}),
      },
    ];
    const out = `${a.dir}/group.out`;
    const script = lab.write(a, 'group.sh', `#!/bin/sh\necho "$@ $(ip -o addr show dev eth0 | grep -c '192.0.2.10[01]/')" >> ${out}\n`);
    await execa('chmod', ['+x', script]);
    const pa = lab.startTandem(a, tandemConfig(a, two(150, true), { G1: { group: ['VI_1', 'VI_2'], notify: script } }));
    lab.startTandem(b, tandemConfig(b, two(100, false), { G1: ['VI_1', 'VI_2'] }));
    await waitHolder(lab, VIP, a, 10_000);
    await waitHolder(lab, '192.0.2.101', a, 5000);
    await execa('rm', [flag]);
    await waitState(a, 'FAULT', 5000, 'VI_2');
    await waitState(a, 'FAULT', 5000, 'VI_1');
    await waitHolder(lab, VIP, b, 5000);
    await waitHolder(lab, '192.0.2.101', b, 5000);
    const vi1 = await instance(a, 'VI_1');
    expect(vi1.fault_reasons.join(' ')).to.include('sync group G1');
    expect(vi1.sync_group).to.equal('G1');
    await execa('touch', [flag]);
    await waitHolder(lab, VIP, a, 10_000);
    await waitHolder(lab, '192.0.2.101', a, 5000);
    await lab.stop(pa);
    // GROUP notify: MASTER only once both VIPs are up (the script counts them), FAULT, STOP at the end.
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.includes(' MASTER '))).to.deep.equal(['GROUP G1 MASTER 0 2', 'GROUP G1 MASTER 0 2']);
    expect(lines).to.include('GROUP G1 FAULT 0 0');
    expect(lines[lines.length - 1]).to.match(/^GROUP G1 STOP 0 /);
  });

  it('removes leftover VIPs of its configuration at start', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    // b crashed while MASTER earlier and still has the VIP.
    // With another prefix than configured: an older configuration's leftover still goes.
    await lab.exec(b, ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'eth0']);
    start(lab, a, { priority: 150, advertInt: 0.3 });
    start(lab, b, { priority: 100, advertInt: 0.3 });
    await waitHolder(lab, VIP, a, 10_000);
    for (let i = 0; i < 30; i++) {
      expect((await holders(lab, VIP)).map((h) => h.name)).to.deep.equal(['a']);
      await sleep(30);
    }
  });

  it("a VIP that is the link's only address is the node's own: kept at start, with an error, the instance FAULT", async () => {
    const lab = labs.adopt(await Lab.create(1));
    const [a] = lab.hosts as [LabHost];
    // Multicast: the configuration cannot know a's address; the link tells.
    const p = start(lab, a, { priority: 100, advertInt: 0.3, vips: [`${a.ipv4}/24`] });
    const i = await waitState(a, 'FAULT', 10_000);
    expect(i.fault_reasons.join(' ')).to.include(`no IPv4 source address on ${a.dev}`);
    await sleep(1000);
    expect(await lab.addresses(a)).to.include(a.ipv4);
    await lab.stop(p);
    expect(await lab.addresses(a), 'still there after the daemon stopped').to.include(a.ipv4);
    expect(readFileSync(p.logFile, 'utf8')).to.include(`VIP ${a.ipv4} is the only IPv4 address of ${a.dev}, so it is this node's own address`);
  });

  it('the new MASTER updates neighbours: ARP cache (IPv4) and neighbour cache (IPv6)', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const vip6 = '2001:db8:1::100';
    const opts = (prio: number) => [
      { name: 'VI_1', vrid: 51, priority: prio, advertInt: 0.3, garpMasterDelay: 1 },
      { name: 'VI_6', vrid: 52, priority: prio, advertInt: 0.3, family: 6 as const, garpMasterDelay: 1 },
    ];
    const pa = lab.startTandem(a, tandemConfig(a, opts(150)));
    lab.startTandem(b, tandemConfig(b, opts(100)));
    await waitHolder(lab, VIP, a, 10_000);
    await waitHolder(lab, vip6, a, 10_000);
    // The client learns a's MAC for both VIPs.
    await lab.exec(lab.client, ['ping', '-c', '1', '-W', '1', VIP]);
    await lab.exec(lab.client, ['ping', '-6', '-c', '1', '-W', '1', vip6]);
    const macA = await macOf(lab, a);
    const macB = await macOf(lab, b);
    expect(await neighbourMac(lab, lab.client, VIP)).to.equal(macA);
    expect(await neighbourMac(lab, lab.client, vip6)).to.equal(macA);
    await lab.stop(pa);
    // Without any traffic from the client, the announcements alone move its caches to b.
    await waitFor('client ARP entry -> b', async () => (await neighbourMac(lab, lab.client, VIP)) === macB, 5000, 50);
    await waitFor('client ND entry -> b', async () => (await neighbourMac(lab, lab.client, vip6)) === macB, 5000, 50);
  });

  it('a VIP added by reload is announced on the takeover schedule: garp_master_repeat at once, again after garp_master_delay', async () => {
    const lab = labs.adopt(await Lab.create(1));
    const [a] = lab.hosts as [LabHost];
    const added = '192.0.2.101';
    const conf = (vips: string[]) => tandemConfig(a, [{ priority: 150, advertInt: 0.3, garpMasterDelay: 3, garpMasterRepeat: 2, vips }]);
    const cap = spawnWritingLog(lab, lab.client, ['tcpdump', '-l', '-n', '-e', '-tt', '-i', lab.client.dev, 'arp'], 'arp.log');
    await waitFor('tcpdump on the client to listen', async () => readFileSync(cap.logFile, 'utf8').includes('listening on'), 5000);
    // "<epoch> <src mac> > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has V (ff:ff:ff:ff:ff:ff) tell V, length 28"
    const garps = (vip: string): { t: number; src: string }[] =>
      readFileSync(cap.logFile, 'utf8').split('\n')
        .filter((l) => l.includes(`who-has ${vip} `) && l.includes(` tell ${vip},`))
        .map((l) => ({ t: Number(l.split(' ')[0]), src: l.split(' ')[1] ?? '' }));
    lab.startTandem(a, conf([`${VIP}/24`]));
    // The takeover's own schedule first (2, then 2 more after 3 s), so that it cannot also cover the new VIP.
    await waitFor('the takeover\'s announcements', async () => garps(VIP).length >= 4, 20_000, 50);
    await sleep(1500);
    lab.write(a, 'tandem.yaml', conf([`${VIP}/24`, `${added}/24`]));
    const r = await execa(process.execPath, [TANDEM_BIN, 'reload', '--socket', controlSocket(a)], { reject: false });
    expect(r.exitCode, r.stderr).to.equal(0);
    await waitFor('two bursts for the added VIP', async () => garps(added).length >= 4, 20_000, 50);
    await sleep(1500); // nothing more comes: garp_master_refresh is off
    const seen = garps(added);
    expect(seen.length, 'garp_master_repeat (2) at once, 2 again after the delay').to.equal(4);
    expect(new Set(seen.map((g) => g.src))).to.deep.equal(new Set([await macOf(lab, a)]));
    expect(seen[2]!.t - seen[0]!.t, 'the second burst waits garp_master_delay (3 s)').to.be.at.least(2.9);
    expect(garps(VIP).length, 'the unchanged VIP is not announced again').to.equal(4);
  });

  it('a MASTER whose VIP someone else removes adds it back and says so; the BACKUP never takes it', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const { a, b, pa } = await electedPair(lab, { advertInt: 0.3, garpMasterDelay: 1 }, VIP);
    // Counted from here: on a loaded machine b may have been MASTER for a moment at start, before a's first advert.
    const before = (await instance(b)).stats.become_master;
    await lab.exec(a, ['ip', 'addr', 'del', `${VIP}/24`, 'dev', a.dev]);
    await waitFor('a to hold the VIP again', async () => (await lab.addresses(a)).includes(VIP), 5000, 20);
    expect((await instance(a)).state).to.equal('MASTER');
    expect(await holders(lab, VIP)).to.deep.equal([a]);
    expect((await instance(b)).stats.become_master, 'b never took over meanwhile').to.equal(before);
    await waitFor('the log line', async () => readFileSync(pa.logFile, 'utf8').includes(`VI_1: VIP ${VIP}/24 was removed from eth0 while MASTER, not by tandem; adding it back`), 3000);
  });

  it('a MASTER whose source address leaves the link is FAULT (the peer takes over) until it is back; with another address left, adverts go from that one', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const { a, b } = await electedPair(lab, { advertInt: 0.3 }, VIP);
    // Linux removes the subnet's other addresses (the VIP) with its primary one.
    await lab.exec(a, ['ip', 'addr', 'del', `${a.ipv4}/24`, 'dev', a.dev]);
    await waitHolder(lab, VIP, b, 5000);
    const f = await waitState(a, 'FAULT', 5000);
    expect(f.fault_reasons).to.deep.equal(['no IPv4 source address on eth0']);
    await lab.exec(a, ['ip', 'addr', 'add', `${a.ipv4}/24`, 'dev', a.dev]);
    // Back with its address, a preempts (priority 150) and serves again.
    await waitHolder(lab, VIP, a, 10_000);
    expect((await instance(a)).source_ip).to.equal(a.ipv4);
    // An address of another subnet on the link: when the first one goes, adverts go from it.
    await lab.exec(a, ['ip', 'addr', 'add', '198.51.100.11/24', 'dev', a.dev]);
    await lab.exec(a, ['ip', 'addr', 'del', `${a.ipv4}/24`, 'dev', a.dev]);
    await waitFor('a to advertise from its other address', async () => (await instance(a)).source_ip === '198.51.100.11', 5000);
    // The VIP went with the subnet's primary; a, still MASTER, adds it back.
    await waitFor('a to hold the VIP again', async () => (await lab.addresses(a)).includes(VIP), 5000, 20);
    await sleep(1000);
    expect((await instance(a)).state).to.equal('MASTER');
    expect((await instance(b)).state).to.equal('BACKUP');
    expect((await instance(b)).master_ip).to.equal('198.51.100.11');
    expect(await holders(lab, VIP)).to.deep.equal([a]);
  });
});
