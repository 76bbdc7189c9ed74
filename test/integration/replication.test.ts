// Block replication between tandem daemons in network namespaces, driven by
// real NBD clients (qemu-io, nbdcopy, nbdinfo, libnbd) through the export of
// the Primary and by `replica.*` commands on the control socket.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import { Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { addReplicationAddresses, replicationAddress, REPLICATION_PORT, imagePath, replicationConfig } from '../../scripts/lab/replication-config.js';
import { NBD_TOOLS, requireTools } from '../fixtures/nbd/tools.js';
import { makePki } from '../fixtures/pki.js';
import { sleep, waitFor } from '../helpers/env.js';
import { cluster, daemonUp, inSync, log, qemuIo, replica, sameImages, sha, uri, volume } from './block-lab.js';
import { labLifecycle } from './lab-hooks.js';

const MiB = 1 << 20;
const WRITER = join(process.cwd(), 'test/fixtures/nbd/acked-writer.py');

// b away while `bytes` of random data are written on a, then a's link slowed to `rate` (a token bucket:
// this kernel has no netem), so the resync b starts at its next connect takes a while.
async function dirtyBehindSlowLink(lab: Lab, a: LabHost, b: LabHost, bytes: number, rate: string): Promise<void> {
  await replica(b, 'disconnect');
  await waitFor('a sees b gone', async () => !(await volume(a)).peers[0]?.connected, 10000);
  const src = join(a.dir, 'random.bin');
  await writeFile(src, randomBytes(bytes));
  await lab.exec(a, ['nbdcopy', src, uri(a)], { timeoutMs: 60000 });
  await lab.exec(a, ['tc', 'qdisc', 'add', 'dev', a.dev, 'root', 'tbf', 'rate', rate, 'burst', '64kb', 'latency', '2s']);
}

describe('block replication in namespaces (tandem daemons, real NBD clients)', function () {
  this.timeout(180_000);
  const life = labLifecycle(['qemu-io', 'nbdcopy', 'nbdinfo']);
  before(function () {
    requireTools(this, NBD_TOOLS);
  });

  it('the Primary exports the volume; qemu-io and nbdcopy writes appear byte-identical on the Secondary', async () => {
    const lab = life.adopt(await Lab.create(2));
    await cluster(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const info = JSON.parse((await lab.exec(a, ['nbdinfo', '--json', uri(a)])).stdout) as { exports: Array<{ 'export-size': number; 'is_read_only': boolean; 'can_flush': boolean; 'can_fua': boolean; 'can_multi_conn': boolean }> };
    const e = info.exports[0];
    expect(e?.['export-size']).to.equal(64 * MiB);
    expect(e?.is_read_only).to.equal(false);
    expect(e?.can_flush && e.can_fua && e.can_multi_conn).to.equal(true);
    // A Secondary accepts no NBD clients.
    const onB = await lab.exec(b, ['nbdinfo', uri(b)], { reject: false });
    expect(onB.exitCode).to.not.equal(0);
    await qemuIo(lab, a, 'write -P 0xab 0 1M', 'write -P 0x5a 3M 64k', 'write -z 5M 128k', 'flush');
    const read = await qemuIo(lab, a, 'read -P 0xab 0 1M', 'read -P 0x5a 3M 64k');
    expect(read).to.not.match(/Pattern verification failed/);
    const src = join(a.dir, 'random.bin');
    await writeFile(src, randomBytes(8 * MiB));
    await lab.exec(a, ['nbdcopy', src, uri(a)], { timeoutMs: 30000 });
    await inSync(lab, a);
    await sameImages(lab);
    const sb = (await volume(b)).peers[0];
    expect(sb?.writes_received).to.be.greaterThan(0);
    // replication.congestion_control's default, whatever the host's (this machine's is bbr).
    for (const h of lab.hosts) expect((await volume(h)).peers[0]?.tcp_congestion, `${h.name}'s link`).to.equal('cubic');
    expect((await readFile(imagePath(b))).subarray(0, 8 * MiB).equals(await readFile(src))).to.equal(true);
  });

  it('disconnect, write, reconnect: the resync moves the dirty amount, not the volume', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await cluster(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const before = new Map([[a, (await volume(a)).peers[0]?.disconnects ?? -1], [b, (await volume(b)).peers[0]?.disconnects ?? -1]]);
    await replica(b, 'disconnect');
    await waitFor('a sees b gone', async () => !(await volume(a)).peers[0]?.connected, 10000);
    await qemuIo(lab, a, 'write -P 0x11 10M 2M', 'write -P 0x22 40M 4k', 'flush');
    const oos = (await volume(a)).peers[0]?.out_of_sync_bytes;
    expect(oos).to.equal(2 * MiB + 4096);
    await replica(b, 'connect');
    await inSync(lab, a);
    await sameImages(lab);
    const line = (await log(procs.get(b) as LabProcess)).match(/resync with a finished \(SyncTarget, (\d+) bytes/g) ?? [];
    expect(line.length, 'two resyncs on b: the initial one and this one').to.equal(2);
    expect(line[1]).to.include(`${2 * MiB + 4096} bytes`);
    for (const h of [a, b]) {
      const p = (await volume(h)).peers[0];
      expect(p?.disconnects, `${h.name} counted the disconnect`).to.equal((before.get(h) as number) + 1);
      expect(p?.uptime_s).to.be.a('number');
      expect(p?.last_received_at).to.be.a('string');
    }
    const pa = (await volume(a)).peers[0];
    expect(pa?.bytes_sent, 'the initial full sync and the writes went from a').to.be.greaterThan(64 * MiB);
    expect((await volume(b)).peers[0]?.bytes_received).to.be.greaterThan(64 * MiB);
  });

  it('kill -9 of the SyncTarget mid-resync: restarted, it resumes from the progress it saved', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await cluster(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    await dirtyBehindSlowLink(lab, a, b, 48 * MiB, '40mbit'); // the resync takes about 10 s
    expect((await volume(a)).peers[0]?.out_of_sync_bytes).to.equal(48 * MiB);
    await replica(b, 'connect');
    await waitFor('b resynced 36 MiB', async () => ((await volume(b)).peers[0]?.resync?.done_bytes ?? 0) >= 36 * MiB, 60000);
    await lab.stop(procs.get(b) as LabProcess, 'SIGKILL');
    await lab.exec(a, ['tc', 'qdisc', 'del', 'dev', a.dev, 'root']);
    const b2 = lab.startTandem(b, replicationConfig(lab, b), 'tandem-again');
    await daemonUp(b);
    await inSync(lab, a);
    await sameImages(lab);
    // Progress is saved every 16 MiB (resync-target.ts): at least 16 of the 36 MiB stay done.
    const resumed = /resync with a finished \(SyncTarget, (\d+) bytes/.exec(await log(b2));
    expect(Number(resumed?.[1]), 'bytes the resumed resync moved').to.be.above(0).and.at.most(32 * MiB);
    await lab.stop(b2);
  });

  it('over a 50 Mbit/s link a running resync keeps little queued: application writes wait well under a second behind it', async () => {
    const lab = life.adopt(await Lab.create(2));
    await cluster(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    await dirtyBehindSlowLink(lab, a, b, 40 * MiB, '50mbit');
    await replica(b, 'connect');
    await waitFor('b resyncing', async () => ((await volume(b)).peers[0]?.resync?.done_bytes ?? 0) >= 4 * MiB, 30000);
    // Protocol C: each write waits for b's ack, which travels behind the resync data queued ahead of it (8 MiB took 1.3 s).
    const out = await qemuIo(lab, a, ...Array.from({ length: 8 }, (_, i) => `write -P 0x4${i} ${60 * MiB + i * 4096} 4k`));
    const secs = [...out.matchAll(/ops; (?:(\d+):)?(\d+\.\d+) sec/g)].map((m) => Number(m[1] ?? 0) * 60 + Number(m[2]));
    expect(secs.length, out).to.equal(8);
    expect((await volume(b)).peers[0]?.replication, 'the resync was still running').to.equal('SyncTarget');
    expect(Math.max(...secs), `per write: ${secs.join(', ')} s`).to.be.below(0.6);
    await lab.exec(a, ['tc', 'qdisc', 'del', 'dev', a.dev, 'root']);
    await inSync(lab, a);
    await sameImages(lab);
  });

  it('kill -9 of the Primary under load: every acknowledged write is on the promoted Secondary (protocol C)', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await cluster(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const blocks = (64 * MiB) / 4096;
    const writer = lab.spawn(a, ['env', 'PATH=/usr/bin:/bin', 'python3', WRITER, uri(a), String(blocks)], 'writer.log');
    await waitFor('the writer is writing', async () => (await readFile(writer.logFile, 'utf8').catch(() => '')).split('\n').length > 200, 15000);
    await sleep(500);
    await lab.stop(procs.get(a) as LabProcess, 'SIGKILL');
    await writer.child;
    const acked = (await readFile(writer.logFile, 'utf8')).split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    expect(acked.length).to.be.greaterThan(200);
    await waitFor('b sees the Primary gone', async () => !(await volume(b)).peers[0]?.connected, 10000);
    await replica(b, 'primary');
    const img = await readFile(imagePath(b));
    // The newest acknowledged pass over each block must be there (a later, unacknowledged one may be too).
    const newest = new Map<number, number>();
    for (const i of acked) newest.set(i % blocks, Math.max(i, newest.get(i % blocks) ?? -1));
    const missing = [...newest].filter(([k, i]) => img.readBigUInt64LE(k * 4096) < BigInt(i)).map(([, i]) => i);
    expect(missing, 'acknowledged writes missing on the promoted Secondary').to.deep.equal([]);
    // The new Primary serves the data.
    const last = acked[acked.length - 1] as number;
    const r = await lab.exec(b, ['nbdinfo', '--size', uri(b)]);
    expect(Number(r.stdout.trim())).to.equal(64 * MiB);
    expect(img.readBigUInt64LE((last % blocks) * 4096) >= BigInt(last)).to.equal(true);
  });

  it('after a Primary crash its activity-log extents are resynced to the Secondary', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await cluster(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const writer = lab.spawn(a, ['env', 'PATH=/usr/bin:/bin', 'python3', WRITER, uri(a), String((64 * MiB) / 4096)], 'writer.log');
    await waitFor('the writer is writing', async () => (await readFile(writer.logFile, 'utf8').catch(() => '')).split('\n').length > 100, 15000);
    await lab.stop(procs.get(a) as LabProcess, 'SIGKILL');
    await writer.child;
    // a comes back as Secondary; b was not promoted: a holds the newest data of its hot extents.
    const again = lab.startTandem(a, replicationConfig(lab, a), 'tandem-restarted');
    await daemonUp(a);
    expect(await log(again)).to.match(/activity-log extent\(s\) \(\d+ block\(s\), \d+ bit\(s\) newly set over 1 bitmap\(s\)\) marked out of sync/);
    await waitFor('a resynced b', async () => /resync with b finished \(SyncSource, \d+ bytes/.test(await log(again)), 20000);
    await inSync(lab, b);
    await sameImages(lab);
    const bytes = Number((/resync with b finished \(SyncSource, (\d+) bytes/.exec(await log(again)) as RegExpExecArray)[1]);
    expect(bytes).to.be.greaterThan(0);
    expect(bytes % (4 * MiB), 'whole 4 MiB extents').to.equal(0);
    expect(bytes).to.be.lessThan(64 * MiB);
  });

  // The Secondary logs the extents of its Primary's writes (secondary-log.ts): after its crash they resync from
  // the Primary, as a power loss may have taken writes it acknowledged from its page cache.
  it('kill -9 of a Secondary after a write load: restarted, it resyncs exactly the extents it logged, from the Primary', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await cluster(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const writer = lab.spawn(a, ['env', 'PATH=/usr/bin:/bin', 'python3', WRITER, uri(a), String((64 * MiB) / 4096)], 'writer.log');
    await waitFor('the writer is writing', async () => (await readFile(writer.logFile, 'utf8').catch(() => '')).split('\n').length > 100, 15000);
    await lab.stop(writer);
    // Nothing pending, and nothing new sent for a moment: no request of the writer's is still on its way in a.
    let sent = -1;
    await waitFor('b acknowledged every write', async () => {
      const p = (await volume(a)).peers[0];
      const settled = p?.pending === 0 && p.writes_sent === sent;
      sent = p?.writes_sent ?? -1;
      return settled;
    }, 10000, 300);
    await lab.stop(procs.get(b) as LabProcess, 'SIGKILL');
    await waitFor('a sees b gone', async () => !(await volume(a)).peers[0]?.connected, 10000);
    expect((await volume(a)).peers[0]?.out_of_sync_bytes, 'a has no bits for b').to.equal(0);
    const again = lab.startTandem(b, replicationConfig(lab, b), 'tandem-restarted');
    await daemonUp(b);
    const marked = /the last run ended while Secondary without a clean shutdown: (\d+) activity-log extent\(s\)/.exec(await log(again));
    const extents = Number(marked?.[1]);
    expect(extents, 'extents b logged').to.be.greaterThan(0);
    await waitFor('b resynced from a', async () => /resync with a finished \(SyncTarget, \d+ bytes/.test(await log(again)), 30000);
    const text = await log(again);
    expect(text).to.match(/a is SyncSource \(bitmap-based\): same generation, \d+ block\(s\) out of sync here and 0 on a; a is Primary, its copy wins/);
    expect(text.match(/resync with a finished \(SyncTarget, (\d+) bytes/)?.[1]).to.equal(String(extents * 4 * MiB));
    await inSync(lab, a);
    await sameImages(lab);
    await lab.stop(again);
  });

  it('a peer that stops acknowledging is dropped within the timeout; the Primary keeps serving, then resyncs it', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await cluster(lab, { timeout: 2, pingTimeout: 3 });
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const pb = procs.get(b) as LabProcess;
    process.kill(pb.child.pid as number, 'SIGSTOP');
    try {
      const t0 = Date.now();
      await qemuIo(lab, a, 'write -P 0x33 20M 1M', 'flush');
      const took = Date.now() - t0;
      expect(took, 'the write waited for the dead peer at most about the timeout').to.be.lessThan(8000);
      const v = await volume(a);
      expect(v.peers[0]?.connected).to.equal(false);
      expect(v.peers[0]?.out_of_sync_bytes).to.be.at.least(MiB);
      expect(v.peers[0]?.last_error?.detail ?? '').to.match(/no acknowledgement|silent/);
    } finally {
      process.kill(pb.child.pid as number, 'SIGCONT');
    }
    await inSync(lab, a);
    await sameImages(lab);
  });

  it('a full disk answers ENOSPC to the NBD client; the daemon keeps running', async () => {
    const lab = life.adopt(await Lab.create(2));
    await addReplicationAddresses(lab);
    const a = lab.hosts[0] as LabHost;
    const small = join(a.dir, 'small');
    await mkdir(small);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
    let pa: LabProcess | null = null;
    try {
      pa = lab.startTandem(a, replicationConfig(lab, a, { size: '16MiB', device: join(small, 'db.img') }));
      await daemonUp(a);
      await replica(a, 'primary', { force: true });
      const r = await lab.exec(a, ['qemu-io', '-f', 'raw', '-c', 'write -P 0x44 0 8M', uri(a)], { reject: false, timeoutMs: 30000 });
      expect(`${r.stdout}${r.stderr}`).to.match(/No space left on device/);
      const ok = await qemuIo(lab, a, 'read -P 0 12M 1M');
      expect(ok).to.not.match(/failed/);
      expect((await volume(a)).role).to.equal('Primary');
      await replica(a, 'secondary');
    } finally {
      if (pa !== null) await lab.stop(pa); // the image must be closed before the tmpfs goes
      await execa('umount', [small]);
    }
  });

  it('a Secondary whose disk fills up under a replicated write is Outdated, refuses promotion, and resyncs once the disk is fixed', async () => {
    const lab = life.adopt(await Lab.create(2));
    await addReplicationAddresses(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const small = join(b.dir, 'small');
    const image = join(small, 'db.img');
    await mkdir(small);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=70m', 'tmpfs', small]);
    const procs: LabProcess[] = [];
    try {
      procs.push(lab.startTandem(a, replicationConfig(lab, a)));
      procs.push(lab.startTandem(b, replicationConfig(lab, b, { device: image })));
      await daemonUp(a);
      await daemonUp(b);
      await replica(a, 'primary', { force: true });
      await inSync(lab, a);
      // b's image made thin (all zeroes on both nodes: nothing changes) and its file system filled.
      await execa('fallocate', ['--punch-hole', '-o', '0', '-l', '64M', image]);
      await execa('dd', ['if=/dev/zero', `of=${join(small, 'fill')}`, 'bs=1M', 'count=100'], { reject: false });
      expect(await qemuIo(lab, a, 'write -P 0x31 0 8M', 'flush')).to.match(/wrote 8388608/);
      await waitFor('b stops on its disk error', async () => (await volume(b)).suspended, 10000);
      // Before, b said UpToDate, was promoted without --force and served zeroes where the client's write was.
      await waitFor('b Outdated', async () => (await volume(b)).disk === 'Outdated', 10000);
      expect(await replica(b, 'primary').then(() => 'promoted', (e: Error) => e.message)).to.match(/Outdated/);
      // The disk is fixed: connect, and the resync brings the write.
      await execa('rm', [join(small, 'fill')]);
      await replica(b, 'connect');
      await inSync(lab, a);
      const sums = await Promise.all([imagePath(a), image].map(async (f) => (await execa('sha256sum', [f])).stdout.split(' ')[0]));
      expect(sums[1], 'b has the write').to.equal(sums[0]);
    } finally {
      for (const p of procs) await lab.stop(p);
      await execa('umount', [small]);
    }
  });

  it('a split brain made by a partition and two Primaries is detected and not merged', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await cluster(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    await lab.setSwitchPort(b, false);
    await waitFor('both see the link gone', async () => !(await volume(a)).peers[0]?.connected && !(await volume(b)).peers[0]?.connected, 15000);
    await replica(b, 'primary');
    await qemuIo(lab, a, 'write -P 0xaa 1M 64k', 'flush');
    await qemuIo(lab, b, 'write -P 0xbb 2M 64k', 'flush');
    const before = [await sha(a), await sha(b)];
    await lab.setSwitchPort(b, true);
    for (const [h, p] of procs) await waitFor(`${h.name} logs the split brain`, async () => (await log(p)).includes('Split-Brain detected, dropping connection!'), 20000);
    for (const h of [a, b]) {
      const v = await volume(h);
      expect(v.peers[0]?.split_brain, `${h.name} reports the split brain`).to.equal(true);
      expect(v.peers[0]?.connection).to.equal('StandAlone');
    }
    await sleep(1000);
    expect([await sha(a), await sha(b)]).to.deep.equal(before);
    expect(await qemuIo(lab, a, 'read -P 0xaa 1M 64k')).to.not.match(/verification failed/);
    expect(await qemuIo(lab, b, 'read -P 0xbb 2M 64k')).to.not.match(/verification failed/);
  });

  it('both daemons told to become Primary at the same moment while connected: one is, the other is refused with the reason, nothing splits', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await cluster(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    await replica(a, 'secondary');
    await waitFor('b sees a Secondary', async () => (await volume(b)).peers[0]?.role === 'Secondary', 10000);
    const results = await Promise.allSettled([replica(a, 'primary'), replica(b, 'primary')]);
    expect(results.filter((r) => r.status === 'fulfilled'), 'exactly one promotion goes through').to.have.length(1);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(String(refused?.reason)).to.match(/PROMOTE_REFUSED|refuses: . is becoming Primary|. is becoming Primary|. is Primary/);
    const roles = [(await volume(a)).role, (await volume(b)).role];
    expect(roles.filter((r) => r === 'Primary')).to.have.length(1);
    const primary = roles[0] === 'Primary' ? a : b;
    await inSync(lab, primary);
    for (const h of [a, b]) expect((await volume(h)).peers[0]?.split_brain, `${h.name}: no split brain`).to.equal(false);
    for (const [, p] of procs) expect(await log(p)).to.not.include('both sides are Primary');
    await qemuIo(lab, primary, 'write -P 0x5a 0 1M', 'flush');
    await inSync(lab, primary);
    await sameImages(lab);
  });

  it('a peer with the wrong secret is refused', async () => {
    const lab = life.adopt(await Lab.create(2));
    await addReplicationAddresses(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const pa = lab.startTandem(a, replicationConfig(lab, a));
    const pb = lab.startTandem(b, replicationConfig(lab, b, { secret: 'a different secret of enough length' }));
    await daemonUp(a);
    await daemonUp(b);
    await waitFor('a refuses b', async () => /authentication with b failed/.test(await log(pa)), 15000);
    expect(await log(pb)).to.match(/auth-failed/);
    const v = await volume(a);
    expect(v.peers[0]?.connection).to.equal('StandAlone');
    expect(v.peers[0]?.connected).to.equal(false);
    expect((await volume(b)).peers[0]?.connected).to.equal(false);
  });

  it('over mutual TLS: replication works between nodes whose certificates the CA signed', async () => {
    const lab = life.adopt(await Lab.create(2));
    const pki = join(lab.root, 'pki');
    await mkdir(pki);
    makePki(pki, 'ca', lab.hosts.map((h) => h.name), (n) => replicationAddress(lab, lab.hosts.find((h) => h.name === n) as LabHost));
    const tls = (h: LabHost) => ({ cert: join(pki, `${h.name}.crt`), key: join(pki, `${h.name}.key`), ca: join(pki, 'ca.crt') });
    await addReplicationAddresses(lab);
    // congestion_control: system keeps the host's algorithm (the namespace's default).
    const procs = lab.hosts.map((h) => lab.startTandem(h, replicationConfig(lab, h, { tls: tls(h), congestionControl: 'system' })));
    for (const h of lab.hosts) await daemonUp(h);
    const [a] = lab.hosts as [LabHost, LabHost];
    await replica(a, 'primary', { force: true });
    await inSync(lab, a);
    for (const h of lab.hosts) {
      const own = (await lab.exec(h, ['sysctl', '-n', 'net.ipv4.tcp_congestion_control'])).stdout.trim();
      expect((await volume(h)).peers[0]?.tcp_congestion, `${h.name}'s link`).to.equal(own);
    }
    await qemuIo(lab, a, 'write -P 0x5c 7M 256k', 'flush');
    await inSync(lab, a);
    await sameImages(lab);
    expect(await log(procs[0] as LabProcess)).to.not.match(/TLS handshake .* failed/);
    // The listener speaks TLS only: plain bytes fail the TLS handshake (and are logged).
    const [, b] = lab.hosts as [LabHost, LabHost];
    await lab.exec(b, ['bash', '-c', `echo plain > /dev/tcp/${replicationAddress(lab, a)}/${REPLICATION_PORT}`], { reject: false });
    await waitFor('a logs the failed TLS handshake', async () => /TLS handshake from 198\.51\.100\.12 failed/.test(await log(procs[0] as LabProcess)), 10000);
  });

  it('three nodes: writes through the Primary are identical on both Secondaries', async () => {
    const lab = life.adopt(await Lab.create(3));
    await cluster(lab);
    const a = lab.hosts[0] as LabHost;
    const src = join(a.dir, 'random.bin');
    await writeFile(src, randomBytes(16 * MiB));
    await lab.exec(a, ['nbdcopy', src, uri(a)], { timeoutMs: 60000 });
    await qemuIo(lab, a, 'write -P 0x77 32M 1M', 'flush');
    await inSync(lab, a);
    await sameImages(lab);
  });

  it('three nodes: the Primary is killed while a Secondary was away; that Secondary resyncs from the promoted one by bitmap, and has every write', async () => {
    const lab = life.adopt(await Lab.create(3));
    const procs = await cluster(lab);
    const [a, b, c] = lab.hosts as [LabHost, LabHost, LabHost];
    await lab.stop(procs.get(c) as LabProcess, 'SIGKILL');
    await waitFor('a sees c gone', async () => (await volume(a)).peers.find((p) => p.name === 'c')?.connected === false, 10000);
    await qemuIo(lab, a, 'write -P 0x41 10M 2M', 'write -P 0x42 50M 4k', 'flush');
    // a told b what c missed (PEER_OUT_OF_SYNC): b's bitmap for c holds exactly those writes.
    await waitFor('b tracks what c missed', async () => (await volume(b)).peers.find((p) => p.name === 'c')?.out_of_sync_bytes === 2 * MiB + 4096, 10000);
    await lab.stop(procs.get(a) as LabProcess, 'SIGKILL');
    await waitFor('b sees a gone', async () => (await volume(b)).peers.find((p) => p.name === 'a')?.connected === false, 10000);
    await replica(b, 'primary');
    const c2 = lab.startTandem(c, replicationConfig(lab, c), 'tandem-again');
    await daemonUp(c);
    await waitFor('c UpToDate and Established with b', async () => {
      const v = await volume(c);
      return v.disk === 'UpToDate' && v.peers.find((p) => p.name === 'b')?.replication === 'Established';
    }, 30000);
    const text = await log(c2);
    expect(text).to.match(/b is SyncSource, c is SyncTarget \(bitmap-based\)/);
    // a's last two 4 MiB extents, which b also marks when a is lost, and which hold the writes c missed. Before b
    // tracked them this was the whole 64 MiB volume.
    expect(text.match(/resync with b finished \(SyncTarget, (\d+) bytes/)?.[1]).to.equal(String(8 * MiB));
    expect(await sha(c)).to.equal(await sha(b));
    await lab.stop(c2);
  });

  // Before one-source.ts node c could be SyncTarget of a and of b at once (b lagging too) and end UpToDate with stale blocks.
  it('three nodes under a write load: a Secondary killed and restarted while the other lags too takes one source at a time; every image ends identical', async () => {
    const lab = life.adopt(await Lab.create(3));
    const procs = await cluster(lab);
    const [a, b, c] = lab.hosts as [LabHost, LabHost, LabHost];
    await lab.stop(procs.get(c) as LabProcess, 'SIGKILL');
    await waitFor('a sees c gone', async () => (await volume(a)).peers.find((p) => p.name === 'c')?.connected === false, 10000);
    await qemuIo(lab, a, 'write -P 0x31 0 8M', 'flush');
    await replica(b, 'disconnect');
    await waitFor('a sees b gone', async () => (await volume(a)).peers.find((p) => p.name === 'b')?.connected === false, 10000);
    const writer = lab.spawn(a, ['env', 'PATH=/usr/bin:/bin', 'python3', WRITER, uri(a), String((64 * MiB) / 4096)], 'writer.log');
    await waitFor('the writer is writing', async () => (await readFile(writer.logFile, 'utf8').catch(() => '')).split('\n').length > 200, 15000);
    // Slow links (token buckets, this kernel has no netem), so the resyncs overlap: a's to c, then b's.
    for (const [h, rate] of [[a, '80mbit'], [b, '40mbit']] as const) await lab.exec(h, ['tc', 'qdisc', 'add', 'dev', h.dev, 'root', 'tbf', 'rate', rate, 'burst', '64kb', 'latency', '2s']);
    const c2 = lab.startTandem(c, replicationConfig(lab, c), 'tandem-again');
    await daemonUp(c);
    await waitFor('c SyncTarget of a', async () => (await volume(c)).peers.find((p) => p.name === 'a')?.replication === 'SyncTarget', 20000);
    const ackedLines = async (): Promise<number> => (await readFile(writer.logFile, 'utf8')).split('\n').filter((l) => /^\d+$/.test(l)).length;
    const ackedBefore = await ackedLines();
    await replica(b, 'connect');
    await waitFor('b and c UpToDate and Established with every peer', async () => {
      const [vb, vc] = [await volume(b), await volume(c)];
      return [vb, vc].every((v) => v.disk === 'UpToDate' && v.peers.every((p) => p.replication === 'Established'));
    }, 60000);
    await lab.stop(writer);
    for (const h of [a, b]) await lab.exec(h, ['tc', 'qdisc', 'del', 'dev', h.dev, 'root']);
    expect(await ackedLines(), 'writes acknowledged while b and c caught up').to.be.greaterThan(ackedBefore);
    await qemuIo(lab, a, 'flush');
    await inSync(lab, a);
    await sameImages(lab);
    await lab.stop(c2);
  });
});
