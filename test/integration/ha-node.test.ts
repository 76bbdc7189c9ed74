// The HA node end to end (issue 5), real daemons in network namespaces: a
// VIP, a replicated directory volume and the demo's record store as the
// managed service, with the load client writing to the VIP from a third
// host. Failover after kill -9, a service failing beyond its budget, manual
// switchover both ways, the old MASTER coming back as BACKUP and resyncing,
// a node booted alone waiting, maintenance, and health on both nodes. After
// each, every record the client saw acknowledged is on the serving MASTER.
import { expect } from 'chai';
import { execa } from 'execa';
import { join } from 'node:path';
import { readClientLog } from '../../scripts/demo-app/client-log.js';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { configPath, haConfig, VIP } from '../../scripts/lab/ha-config.js';
import { bootstrapPair, cli, crashNode, clientLog, daemonUp, missingAcked, nodeStatus, startClient, startNode, until, waitAcked, waitServing } from '../../scripts/lab/ha-lab.js';
import { Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { leftoverServiceCgroups } from '../../scripts/lab/service-cgroups.js';
import { labLifecycle } from './lab-hooks.js';

async function hasVip(lab: Lab, h: LabHost): Promise<boolean> {
  return (await lab.addresses(h)).includes(VIP);
}


describe('the HA node in namespaces (issue 5)', function () {
  this.timeout(300_000);
  const life = labLifecycle(['ping']);

  it('a pair comes up with a as MASTER serving; health passes on both; status --v shows the steps', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    await bootstrapPair(lab);
    const client = startClient(lab);
    await waitAcked(lab, 20, 30_000);
    expect(await hasVip(lab, a)).to.equal(true);
    expect(await hasVip(lab, b)).to.equal(false);
    const ha = await cli(lab, a, ['health']);
    expect(ha.exitCode, ha.stdout).to.equal(0);
    expect(ha.stdout).to.match(/^============== TANDEM HA \(MASTER\) with directory replication ==============$/m);
    expect(ha.stdout).to.match(/^store \(pgid \d+\) is running$/m);
    expect(ha.stdout).to.match(/^data is primary, disk UpToDate, peer connected$/m);
    expect(ha.stdout).to.match(/\nTANDEM HEALTH PASSED$/);
    const hb = await cli(lab, b, ['health']);
    expect(hb.exitCode, hb.stdout).to.equal(0);
    expect(hb.stdout).to.match(/TANDEM HA \(BACKUP\)/);
    expect(hb.stdout).to.match(/^store is stopped$/m);
    expect(hb.stdout).to.match(/^data is secondary, disk UpToDate, peer connected$/m);
    const st = await cli(lab, a, ['status', '--v']);
    expect(st.stdout).to.match(/resource group VI_1: MASTER, serving/);
    expect(st.stdout).to.match(/BACKUP -> MASTER done in [\d.]+ s/);
    for (const step of ['promote data', 'start store', 'add-vips', 'announce', 'notify MASTER']) expect(st.stdout).to.include(step);
    lab.stop(client).catch(() => {});
    await lab.stop(client);
    expect((await missingAcked(lab, b)).missing, 'acknowledged records missing on the BACKUP').to.deep.equal([]);
  });

  it('kill -9 of the MASTER and its service: b takes over with the data; a comes back as BACKUP and resyncs; switchover both ways', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const procs = await bootstrapPair(lab);
    const client = startClient(lab);
    await waitAcked(lab, 20, 30_000);
    await crashNode(a, procs.get(a) as LabProcess);
    await waitServing(b, 30_000);
    expect(await hasVip(lab, b)).to.equal(true);
    await waitAcked(lab, 20, 30_000);
    const after = await missingAcked(lab, b);
    expect(after.missing, 'acknowledged records missing on the new MASTER').to.deep.equal([]);
    const log = await readClientLog(clientLog(lab));
    expect(log.outages.length, "one outage for the failover").to.be.greaterThan(0);
    if (process.env.TANDEM_TEST_VERBOSE) console.log(JSON.stringify({ outages: log.outages, acked: log.acked.length, failures: log.failures }));

    // The old MASTER rebooted: BACKUP (nopreempt), its tree brought up to date from b.
    procs.set(a, startNode(lab, a));
    await daemonUp(a);
    await until('a BACKUP, UpToDate, Established', async () => {
      const s = await nodeStatus(a);
      const v = s.volumes[0];
      return s.ha?.role === 'BACKUP' && v?.disk === 'UpToDate' && v.peers[0]?.replication === 'Established';
    }, 60_000);
    expect(await hasVip(lab, a)).to.equal(false);
    await waitAcked(lab, 10, 30_000);
    expect((await cli(lab, a, ['health'])).exitCode).to.equal(0);
    expect((await cli(lab, b, ['health'])).exitCode).to.equal(0);

    // Manual switchover back to a, then to b again: each reports its time, no acknowledged write lost.
    for (const [from, to] of [[b, a], [a, b]] as const) {
      await until(`${to.name} UpToDate`, async () => (await nodeStatus(to)).volumes[0]?.disk === 'UpToDate', 30_000);
      const r = await cli(lab, from, ['switchover'], 150_000);
      expect(r.exitCode, r.stderr).to.equal(0);
      if (process.env.TANDEM_TEST_VERBOSE) console.log(r.stdout);
      expect(r.stdout).to.match(new RegExp(`^switchover of VI_1 done in [\\d.]+ s: ${to.ipv4} is MASTER \\(data Primary on the peer, VIP ${VIP} answers\\)$`));
      await waitServing(to);
      expect(await hasVip(lab, to)).to.equal(true);
      expect(await hasVip(lab, from)).to.equal(false);
      expect((await nodeStatus(from)).ha?.role).to.equal('BACKUP');
      await waitAcked(lab, 10, 30_000);
    }
    await lab.stop(client);
    expect((await missingAcked(lab, b)).missing, 'acknowledged records missing after the switchovers').to.deep.equal([]);
  });

  it('a service that keeps failing beyond its budget hands over to the peer; the node is FAULT, then a BACKUP that does not preempt', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    await bootstrapPair(lab, () => ({ maxRetries: 1, minLifetime: 120, faultHold: 3 }));
    const client = startClient(lab);
    await waitAcked(lab, 10, 30_000);
    // Two short runs in a row, one more than max_retries 1.
    for (let i = 0; i < 2; i++) {
      const svc = await until('the store running', async () => (await nodeStatus(a)).ha?.services.find((s) => s.state === 'running' && s.pgid !== null), 20_000);
      process.kill(-(svc.pgid as number), 'SIGKILL');
      await until('the store restarted or given up', async () => {
        const s = (await nodeStatus(a)).ha?.services[0];
        return s !== undefined && (s.pgid !== svc.pgid || s.state === 'failed');
      }, 20_000);
    }
    await waitServing(b, 30_000);
    const sa = await nodeStatus(a);
    const fault = sa.ha?.transitions.find((t) => t.to === 'FAULT');
    expect(fault, JSON.stringify(sa.ha?.transitions)).to.not.equal(undefined);
    expect(sa.vrrp[0]?.fault_reasons.join(' ') ?? '').to.match(/failed: service store: store killed by SIGKILL .*2 runs in a row each ended within min_lifetime 120 s \(max_retries 1\): switching over/);
    // fault_hold over: BACKUP, yielding to b although a has the higher priority.
    await until('a BACKUP again', async () => (await nodeStatus(a)).ha?.role === 'BACKUP', 20_000);
    expect((await nodeStatus(a)).vrrp[0]?.yielding).to.equal(true);
    await waitAcked(lab, 10, 30_000);
    expect((await nodeStatus(b)).ha?.role).to.equal('MASTER');
    await lab.stop(client);
    expect((await missingAcked(lab, b)).missing).to.deep.equal([]);
  });

  it('a node booted with its peer unreachable waits and serves nothing; standalone_after lets an UpToDate node start alone', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const procs = await bootstrapPair(lab, () => ({ standaloneAfter: 4 }));
    // Both down; b comes back alone with no peer to hear.
    await lab.stop(procs.get(b) as LabProcess);
    await lab.stop(procs.get(a) as LabProcess);
    await lab.setSwitchPort(a, false);
    const t0 = Date.now();
    procs.set(b, startNode(lab, b, { standaloneAfter: 4 }));
    await daemonUp(b);
    const waiting = await nodeStatus(b);
    expect(waiting.ha?.boot.state).to.equal('WAITING');
    expect(waiting.vrrp[0]?.hold_reasons).to.deep.equal(['boot: waiting for the peer']);
    const h = await cli(lab, b, ['health']);
    expect(h.exitCode).to.equal(1);
    expect(h.stdout).to.match(/TANDEM HA \(WAITING\)/);
    expect(h.stdout).to.match(/TANDEM HEALTH FAILED$/);
    // Far past the master down interval (about 1 s), still no VIP.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await hasVip(lab, b)).to.equal(false);
    expect((await nodeStatus(b)).vrrp[0]?.state).to.equal('BACKUP');
    await waitServing(b, 30_000);
    expect(Date.now() - t0).to.be.greaterThan(4000);
    const s = await nodeStatus(b);
    expect(s.ha?.boot.reason).to.match(/no word from the peer for 4 s and every volume UpToDate: starting alone/);
    await lab.setSwitchPort(a, true);
  });

  it('maintenance on makes the MASTER hand over and stay BACKUP, also across a restart; off lets it take part again', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const procs = await bootstrapPair(lab);
    const client = startClient(lab);
    await waitAcked(lab, 10, 30_000);
    // b in maintenance already: a's hand-over finds nobody taking over, so a stays MASTER (before, both held: no VIP anywhere).
    expect((await cli(lab, b, ['maintenance', 'on'])).exitCode).to.equal(0);
    const refused = await cli(lab, a, ['maintenance', 'on']);
    expect(refused.exitCode, refused.stdout).to.equal(1);
    expect(refused.stderr).to.match(/maintenance on failed after \d+ ms: the peer did not take over \(is it in maintenance, or held out of MASTER\?\), and this node is MASTER again/);
    await waitServing(a, 30_000);
    expect((await nodeStatus(a)).ha?.maintenance).to.equal(false);
    expect((await cli(lab, b, ['maintenance', 'off'])).exitCode).to.equal(0);
    const on = await cli(lab, a, ['maintenance', 'on']);
    expect(on.exitCode, on.stderr).to.equal(0);
    expect(on.stdout).to.match(/VI_1: maintenance on, BACKUP/);
    await waitServing(b);
    await lab.stop(procs.get(a) as LabProcess);
    procs.set(a, startNode(lab, a));
    await daemonUp(a);
    await until('a UpToDate', async () => (await nodeStatus(a)).volumes[0]?.disk === 'UpToDate', 30_000);
    // b stops: a in maintenance must not take over.
    await lab.stop(procs.get(b) as LabProcess);
    await new Promise((r) => setTimeout(r, 3000));
    const s = await nodeStatus(a);
    expect(s.ha?.maintenance).to.equal(true);
    expect(s.ha?.role).to.equal('BACKUP');
    expect(await hasVip(lab, a)).to.equal(false);
    const off = await cli(lab, a, ['maintenance', 'off']);
    expect(off.exitCode, off.stderr).to.equal(0);
    await waitServing(a, 30_000);
    await waitAcked(lab, 10, 30_000);
    await lab.stop(client);
    expect((await missingAcked(lab, a)).missing, 'acknowledged records missing after maintenance').to.deep.equal([]);
  });

  it('switchover refuses with the reason when the peer could not take over', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const procs = await bootstrapPair(lab);
    await lab.stop(procs.get(b) as LabProcess);
    await until('a sees b gone', async () => (await nodeStatus(a)).volumes[0]?.peers[0]?.connection !== 'Connected', 20_000);
    const r = await cli(lab, a, ['switchover']);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/switchover refused: the peer could not take over: volume data is not connected to the peer; fix that first, or use --force/);
    expect((await nodeStatus(a)).ha?.role).to.equal('MASTER');
    const rb = await cli(lab, b, ['switchover']);
    expect(rb.exitCode, 'no daemon on b').to.not.equal(0);
  });

  it('reload removing a service whose stop fails: it stays configured and managed, the reload says so, the next reload tries again', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a] = lab.hosts as [LabHost, LabHost];
    const stuck = ['  - name: stuck', '    oneshot: { start: ["/bin/true"], stop: ["/bin/false"] }', '    stop_timeout: 2'];
    await bootstrapPair(lab, () => ({ extraServices: stuck }));
    const names = async (): Promise<string[]> => ((await nodeStatus(a)).ha?.services ?? []).map((x) => `${x.name}:${x.state}`);
    expect(await names()).to.deep.equal(['store:running', 'stuck:running']);
    writeFileSync(configPath(a), haConfig(lab, a));
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = await cli(lab, a, ['reload']);
      expect(r.exitCode, `applied with a problem: exit 1\n${r.stdout}\n${r.stderr}`).to.equal(1);
      expect(r.stdout).to.match(new RegExp(`^reloaded ${configPath(a)}: services removed: stuck\nproblem: stuck could not be stopped \\(.*\\): it stays as configured before, still managed; reload again once it can stop$`));
      // Before, the reload dropped its supervisor: status no longer showed it, and nothing stopped it again.
      expect(await names(), `after reload ${attempt}`).to.deep.equal(['store:running', 'stuck:failed']);
    }
    expect((await nodeStatus(a)).ha?.serving).to.equal(true);
  });

  it('reload: a VIP added while the unchanged one stays up, a changed service restarted; restart-only changes and a bad file are refused', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a] = lab.hosts as [LabHost, LabHost];
    await bootstrapPair(lab);
    const client = startClient(lab);
    await waitAcked(lab, 10, 30_000);
    const pgid = (await nodeStatus(a)).ha?.services[0]?.pgid;
    // Watch the VIP the whole time: it must never leave a.
    let watching = true;
    let gone = 0;
    const watcher = (async () => {
      while (watching) {
        if (!(await hasVip(lab, a))) gone++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    writeFileSync(configPath(a), haConfig(lab, a, { extraVips: ['192.0.2.101/24'], storeEnv: { STORE_NOTE: 'reloaded' } }));
    const r = await cli(lab, a, ['reload']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`reloaded ${configPath(a)}: VI_1: VIP added 192.0.2.101/24; services changed: store`);
    await waitServing(a);
    expect(await lab.addresses(a)).to.include.members([VIP, '192.0.2.101']);
    expect((await nodeStatus(a)).ha?.services[0]?.pgid).to.not.equal(pgid);
    await waitAcked(lab, 10, 30_000);
    watching = false;
    await watcher;
    expect(gone, 'samples without the VIP on a').to.equal(0);

    // A priority change needs a restart; nothing changes.
    writeFileSync(configPath(a), haConfig(lab, a, { extraVips: ['192.0.2.101/24'], storeEnv: { STORE_NOTE: 'reloaded' }, priority: 200 }));
    const refused = await cli(lab, a, ['reload']);
    expect(refused.exitCode).to.equal(1);
    expect(refused.stderr).to.match(/reload refused, nothing changed: vrrp\.instances\[0\]\.priority \(VI_1\) cannot change while the daemon runs/);
    writeFileSync(configPath(a), 'vrrp: [');
    const bad = await cli(lab, a, ['reload']);
    expect(bad.exitCode).to.equal(1);
    expect(bad.stderr).to.match(/reload refused, nothing changed: .*tandem.yaml is not valid/);
    expect(await lab.addresses(a)).to.include.members([VIP, '192.0.2.101']);
    expect((await nodeStatus(a)).ha?.serving).to.equal(true);

    // escadm restart: the services again, VIPs stay.
    const before = (await nodeStatus(a)).ha?.services[0]?.pgid;
    const rs = await cli(lab, a, ['restart']);
    expect(rs.exitCode, rs.stderr).to.equal(0);
    expect(rs.stdout).to.match(/^restarted store in [\d.]+ s$/);
    expect((await nodeStatus(a)).ha?.services[0]?.pgid).to.not.equal(before);
    await waitAcked(lab, 5, 30_000);
    await lab.stop(client);
    expect((await missingAcked(lab, a)).missing).to.deep.equal([]);
  });

  it('a MASTER stalled past the failover comes back with older data: it steps down, resyncs from b, and b serves with every acknowledged write', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const procs = await bootstrapPair(lab);
    let client = startClient(lab);
    await waitAcked(lab, 10, 30_000);
    await lab.stop(client); // nothing writes on a while it stalls or after, so its data is only older, not changed
    // Every change of a's acknowledged by b before the stall (a change still unacknowledged then is one b lacks: a split brain).
    expect((await cli(lab, a, ['replica', 'flush', 'data'])).exitCode).to.equal(0);
    const pa = procs.get(a) as LabProcess;
    pa.child.kill('SIGSTOP');
    try {
      await waitServing(b, 30_000);
      // Only a's daemon stalls here, not its kernel, which would still answer for the VIP (a frozen machine would
      // not): the client is pinned to b, so nothing reaches a's store, and a's data stays older, not changed.
      const link = JSON.parse((await execa('ip', ['-n', b.ns, '-j', 'link', 'show', 'dev', b.dev])).stdout) as Array<{ address: string }>;
      await execa('ip', ['-n', lab.client.ns, 'neigh', 'replace', VIP, 'lladdr', link[0]?.address ?? '', 'nud', 'permanent', 'dev', lab.client.dev]);
      client = startClient(lab);
      await waitAcked(lab, 10, 30_000);
      await lab.stop(client);
    } finally {
      pa.child.kill('SIGCONT');
    }
    // a's adverts (priority 150) make b BACKUP; a's volume then finds b's data newer and a steps down.
    await until('a stepped down for the newer peer', async () => {
      const t = (await nodeStatus(a)).ha?.transitions ?? [];
      return t.some((x) => x.to === 'FAULT' && /volume data: .*data is to replace a's.*stepping down so b serves/.test(x.reason));
    }, 30_000);
    await waitServing(b, 30_000);
    await until('a resynced from b', async () => {
      const v = (await nodeStatus(a)).volumes[0];
      return v?.role === 'Secondary' && v.disk === 'UpToDate' && v.peers[0]?.replication === 'Established';
    }, 30_000);
    for (const h of [b, a]) expect((await missingAcked(lab, h)).missing, `acknowledged records missing on ${h.name}`).to.deep.equal([]);
    expect(await hasVip(lab, a)).to.equal(false);
  });

  it('a daemon killed alone leaves its service running; the next start ends it before the election and rejoins as BACKUP', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    // A service that writes nothing survives its daemon (a chatty one dies of the broken pipe).
    const procs = await bootstrapPair(lab, () => ({ quietStore: true }));
    const client = startClient(lab);
    await waitAcked(lab, 10, 30_000);
    const pgid = (await nodeStatus(a)).ha?.services[0]?.pgid as number;
    (procs.get(a) as LabProcess).child.kill('SIGKILL');
    await (procs.get(a) as LabProcess).child;
    expect(() => process.kill(-pgid, 0), 'the store outlives its daemon').to.not.throw();
    await waitServing(b, 30_000);
    await waitAcked(lab, 10, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(() => process.kill(-pgid, 0), 'the store still runs without its daemon').to.not.throw();
    procs.set(a, startNode(lab, a, { quietStore: true }));
    await daemonUp(a);
    await until('the leftover store ended', async () => {
      try {
        process.kill(-pgid, 0);
        return false;
      } catch {
        return true;
      }
    }, 15_000);
    // The line is written once the run's cgroup is gone (the lab's daemons have cgroup2, as a host has): wait for it too.
    const line = /service store: (\d+) process(?:es)? of (\/sys\/fs\/cgroup\/tandem\.\d+\.store\.1) ended \(left running by a daemon that did not stop\)/;
    const logged = await until('the leftover logged', async () => line.exec(await readFile(join(a.dir, 'tandem.log'), 'utf8')) ?? false, 10_000);
    expect(leftoverServiceCgroups(), 'the crashed daemon\'s cgroup is removed').to.deep.equal([]);
    expect(Number(logged[1])).to.be.at.least(1);
    await until('a BACKUP and UpToDate', async () => {
      const s = await nodeStatus(a);
      return s.ha?.role === 'BACKUP' && s.volumes[0]?.disk === 'UpToDate';
    }, 60_000);
    expect(await hasVip(lab, a), 'the leftover VIP went too').to.equal(false);
    await waitAcked(lab, 10, 30_000);
    await lab.stop(client);
    expect((await missingAcked(lab, b)).missing).to.deep.equal([]);
  });

  it('SIGTERM of the MASTER leaves cleanly: priority 0, VIP removed, service stopped, volume demoted; the peer serves at once', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const procs = await bootstrapPair(lab);
    const client = startClient(lab);
    await waitAcked(lab, 10, 30_000);
    const pgid = (await nodeStatus(a)).ha?.services[0]?.pgid as number;
    const t0 = Date.now();
    await lab.stop(procs.get(a) as LabProcess);
    expect(await hasVip(lab, a)).to.equal(false);
    expect(() => process.kill(-pgid, 0), 'the store stopped with its daemon').to.throw();
    const log = await readFile(join(a.dir, 'tandem.log'), 'utf8');
    const tail = log.slice(log.lastIndexOf('SIGTERM: stopping'));
    expect(tail).to.match(/VI_1: MASTER -> STOP \(shutdown\)/);
    expect(tail).to.match(/data: Secondary/);
    await waitServing(b, 15_000);
    // Priority 0 lets b take over after Skew_Time, not the full down interval.
    expect(Date.now() - t0).to.be.lessThan(10_000);
    await waitAcked(lab, 10, 30_000);
    await lab.stop(client);
    expect((await missingAcked(lab, b)).missing).to.deep.equal([]);
  });

  it('a node booted with its peer unreachable starts alone when the witness answers ping', async () => {
    const lab = life.adopt(await Lab.create(2));
    const [a, b] = lab.hosts as [LabHost, LabHost];
    // The client host is the witness here (a third machine, as the gateway would be).
    const opts = { witness: lab.client.ipv4 };
    const procs = await bootstrapPair(lab, () => opts);
    await lab.stop(procs.get(b) as LabProcess);
    await lab.stop(procs.get(a) as LabProcess);
    await lab.setSwitchPort(a, false);
    procs.set(b, startNode(lab, b, opts));
    await daemonUp(b);
    await waitServing(b, 30_000);
    expect((await nodeStatus(b)).ha?.boot.reason).to.equal(`the peer was not heard, but the witness ${lab.client.ipv4} answers: starting alone`);
    expect(await hasVip(lab, b)).to.equal(true);
    await lab.setSwitchPort(a, true);
  });
});
