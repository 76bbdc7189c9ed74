// Hostile and malformed adverts put on the wire next to a running pair: each
// is dropped with its named counter, the daemon keeps running and no state
// changes.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT, type LabHost } from '../../scripts/lab/lab.js';
import { encodeAdvert } from '../../lib/vrrp/packet/advert.js';
import { encodeIpv4 } from '../../lib/vrrp/packet/ipv4.js';
import { encodeIpv6 } from '../../lib/vrrp/packet/ipv6.js';
import { linkLocal } from './keepalived-interop-lab.js';
import { sleep, waitFor } from '../helpers/env.js';
import { labLifecycle } from './lab-hooks.js';
import { electedPair, instance, start, status, waitHolder, waitState } from './vrrp-lab.js';

const SEND_RAW = join(REPO_ROOT, 'dist/scripts/lab/send-raw.js');
const GROUP = '224.0.0.18';
const SRC = '192.0.2.200'; // the client host

function advert(o: { vrid?: number; priority?: number; version?: 2 | 3; ttl?: number; intervalCs?: number; corrupt?: (b: Buffer) => void }): string {
  const payload = encodeAdvert(
    { version: o.version ?? 3, vrid: o.vrid ?? 51, priority: o.priority ?? 250, addresses: ['192.0.2.100'], advertIntCs: o.intervalCs ?? 100 },
    4,
    { mode: 'pseudo-header', src: SRC, dst: GROUP },
  );
  o.corrupt?.(payload);
  return encodeIpv4(payload, { src: SRC, dst: GROUP, ttl: o.ttl ?? 255, protocol: 112 }).toString('hex');
}

describe('hostile adverts in network namespaces', function () {
  this.timeout(60_000);
  const labs = labLifecycle();

  it('drops each kind with its reason, never changes state, never crashes', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const pa = start(lab, a, { priority: 150, advertInt: 1 });
    const pb = start(lab, b, { priority: 100, advertInt: 1 });
    await waitHolder(lab, '192.0.2.100', a, 10_000);
    await waitState(b, 'BACKUP', 5000);
    const hostile: Record<string, string> = {
      ttl: advert({ ttl: 64 }),
      checksum: advert({ corrupt: (p) => void (p[6] = (p[6] ?? 0) ^ 0xff) }),
      version: advert({ corrupt: (p) => void (p[0] = 0x41) }),
      type: advert({ corrupt: (p) => void (p[0] = 0x32) }),
      length: advert({ corrupt: (p) => void (p[3] = 9) }),
    };
    // Each hostile packet claims priority 250: accepted, it would make a and b BACKUP.
    for (const [reason, hex] of Object.entries(hostile)) {
      await lab.exec(lab.client, [process.execPath, SEND_RAW, 'eth0', GROUP, hex, hex, hex]);
      await waitFor(`b to count ${reason}`, async () => {
        const s = await instance(b);
        return s.stats.dropped[reason as keyof typeof s.stats.dropped] >= 1;
      }, 3000);
    }
    // A VRID nobody runs, and one byte of garbage: no instance to charge, counted per socket.
    await lab.exec(lab.client, [process.execPath, SEND_RAW, 'eth0', GROUP, advert({ vrid: 99 })]);
    await lab.exec(lab.client, [process.execPath, SEND_RAW, 'eth0', GROUP, encodeIpv4(Buffer.from('ff', 'hex'), { src: SRC, dst: GROUP, ttl: 255, protocol: 112 }).toString('hex')]);
    await waitFor('socket-level drops', async () => {
      const d = (await status(b)).vrrp_socket_drops;
      return d['unknown-vrid'] === 1 && d.truncated === 1;
    }, 3000);
    await sleep(300);
    const sa = await instance(a);
    const sb = await instance(b);
    expect(sa.state).to.equal('MASTER');
    expect(sb.state).to.equal('BACKUP');
    expect(sb.master_ip).to.equal('192.0.2.11');
    for (const r of ['ttl', 'checksum', 'version', 'type', 'length'] as const) expect(sb.stats.dropped[r], r).to.equal(3);
    expect(sb.stats.become_master).to.equal(0);
    expect(pa.child.exitCode).to.equal(null);
    expect(pb.child.exitCode).to.equal(null);
  });

  // IPv6 raw sockets never show the header: recvmsg's IPV6_HOPLIMIT / IPV6_PKTINFO (lib/net/native) do.
  // Before, a hop limit 1 advert, or one routed in to the MASTER's own address, took MASTER away.
  it('IPv6: a hop limit other than 255 and a unicast advert to a multicast instance are dropped and counted, states unchanged', async () => {
    const lab = labs.adopt(await Lab.create(2));
    const vip6 = '2001:db8:1::100';
    const { a, b, pa, pb } = await electedPair(lab, { advertInt: 1, family: 6 }, vip6);
    const ll = await linkLocal(lab.client);
    const packet = (dst: string, src: string, hopLimit: number): string => {
      const payload = encodeAdvert({ version: 3, vrid: 51, priority: 250, addresses: [vip6], advertIntCs: 100 }, 6, { mode: 'pseudo-header', src, dst });
      return encodeIpv6(payload, { src, dst, hopLimit, nextHeader: 112 }).toString('hex');
    };
    const send = (dst: string, hex: string) => lab.exec(lab.client, [process.execPath, SEND_RAW, 'eth0', dst, hex, hex, hex]);
    // RFC 5798 7.1: hop limit 255, or the sender is not on this link.
    await send('ff02::12', packet('ff02::12', ll, 1));
    await waitFor('b to count ttl', async () => (await instance(b)).stats.dropped.ttl >= 3, 3000);
    // Sent to a's own address, as a packet routed in from another network would be (hop limit 64), and on-link (255).
    await send(a.ipv6, packet(a.ipv6, lab.client.ipv6, 64));
    await send(a.ipv6, packet(a.ipv6, lab.client.ipv6, 255));
    await waitFor('a to count unicast-on-multicast', async () => (await instance(a)).stats.dropped['unicast-on-multicast'] >= 6, 3000);
    // A valid advert with a's own source address (a cloned VM, a duplicate address): a counts it and says so.
    const own = await linkLocal(a);
    await send('ff02::12', packet('ff02::12', own, 255));
    await waitFor('a to count own-address', async () => (await instance(a)).stats.dropped['own-address'] >= 3, 3000);
    await waitFor('the log line', async () => readFileSync(pa.logFile, 'utf8').includes(`source ${own} is this node's own address`), 3000);
    await sleep(300);
    const sa = await instance(a);
    const sb = await instance(b);
    expect(sa.state).to.equal('MASTER');
    expect(sa.stats.release_master).to.equal(0);
    expect(sb.state).to.equal('BACKUP');
    expect(sb.stats.dropped.ttl).to.equal(3);
    expect(sb.stats.become_master).to.equal(0);
    // A good advert still gets through: b knows a as its MASTER by the link-local source.
    expect(sb.master_ip).to.equal(await linkLocal(a));
    expect(pa.child.exitCode).to.equal(null);
    expect(pb.child.exitCode).to.equal(null);
  });
});
