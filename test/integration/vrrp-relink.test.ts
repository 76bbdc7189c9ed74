// A VRRP interface that is deleted and created again while the daemon runs
// (a veth / VLAN / bond recreated by the network manager, a container's link
// replaced). The instance goes FAULT while it is gone (keepalived does too);
// once it is back, the instance must hear and send adverts on the new link,
// never sit deaf and mute on the old socket and claim MASTER beside the real
// one (README "Known limits": an interface missing ... is picked up when it
// appears; engine.ts: "Deaf and mute, an instance would soon claim MASTER
// beside the real one: FAULT instead").
import { expect } from 'chai';
import { execa } from 'execa';
import { Lab, type LabHost } from '../../scripts/lab/lab.js';
import { sleep, waitFor } from '../helpers/env.js';
import { labLifecycle } from './lab-hooks.js';
import { tandemConfig } from '../../scripts/lab/tandem-config.js';
import { electedPair, holders, instance, macOf, masterDownMs, neighbourMac, waitHolder, waitState } from './vrrp-lab.js';

const VIP = '192.0.2.100';

// Deletes the host's veth and makes a new one with the same name, port and addresses (a new ifindex).
async function recreateLink(lab: Lab, h: LabHost): Promise<void> {
  const port = lab.switchPort(h);
  const sw = `${lab.prefix}sw`;
  await execa('ip', ['-n', h.ns, 'link', 'del', h.dev]);
  await sleep(300);
  await execa('ip', ['link', 'add', h.dev, 'netns', h.ns, 'type', 'veth', 'peer', 'name', port, 'netns', sw]);
  await execa('ip', ['-n', sw, 'link', 'set', port, 'master', 'br0', 'up']);
  await execa('ip', ['-n', h.ns, 'addr', 'add', `${h.ipv4}/24`, 'dev', h.dev]);
  await execa('ip', ['-n', h.ns, 'addr', 'add', `${h.ipv6}/64`, 'dev', h.dev, 'nodad']);
  await execa('ip', ['-n', h.ns, 'link', 'set', h.dev, 'up']);
}

describe('VRRP interface deleted and created again', function () {
  this.timeout(60_000);
  const labs = labLifecycle();

  it('the BACKUP whose interface was recreated follows the MASTER again; the VIP never has two holders', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const { a, b } = await electedPair(lab, { advertInt: 0.5 }, VIP);
    await recreateLink(lab, b);
    // b comes back from FAULT (interface down) as BACKUP, then has a full Master_Down_Interval and more to go wrong.
    await waitFor('b to leave FAULT', async () => (await instance(b)).state !== 'FAULT', 10_000);
    const rcvd = (await instance(b)).stats.advert_rcvd;
    const end = Date.now() + 3 * masterDownMs(0.5, 100);
    const seen: string[] = [];
    while (Date.now() < end) {
      seen.push((await holders(lab, VIP)).map((h) => h.name).join('+'));
      await sleep(50);
    }
    const sb = await instance(b);
    expect([...new Set(seen)], 'who held the VIP, sampled every 50 ms').to.deep.equal(['a']);
    expect(sb.state, 'b state').to.equal('BACKUP');
    expect(sb.stats.advert_rcvd, 'adverts b accepted after its link came back').to.be.greaterThan(rcvd);
    expect((await instance(a)).state).to.equal('MASTER');
  });

  it('a MASTER whose interface was recreated announces its IPv6 VIP from the new link, with its new MAC', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const b = lab.hosts[1] as LabHost;
    const vip6 = '2001:db8:1::100';
    lab.startTandem(b, tandemConfig(b, [{ name: 'VI_6', vrid: 52, priority: 100, advertInt: 0.3, family: 6 }]));
    await waitHolder(lab, vip6, b, 10_000); // announced once already: the NA socket is bound to the old link
    await lab.exec(lab.client, ['ping', '-6', '-c', '1', '-W', '1', vip6]);
    const before = await macOf(lab, b);
    expect(await neighbourMac(lab, lab.client, vip6)).to.equal(before);
    await recreateLink(lab, b);
    const after = await macOf(lab, b);
    expect(after, 'a new veth has a new MAC').to.not.equal(before);
    await waitState(b, 'MASTER', 10_000, 'VI_6');
    // No traffic from the client: only b's unsolicited NA can move its neighbour entry.
    await waitFor('client ND entry -> the new MAC', async () => (await neighbourMac(lab, lab.client, vip6)) === after, 5000, 50);
  });
});
