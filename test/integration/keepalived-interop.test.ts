// tandem against the real keepalived (Debian's 2.2.7) in the neighbouring
// namespace: VRRPv3 over IPv4 and IPv6, VRRPv2 with PASS authentication and
// unicast peers, with tandem as the higher and as the lower priority. Each
// side must accept the other's adverts (keepalived's log and SIGUSR2 counters,
// tandem's drop counters, tcpdump's checksum check), the VIP must have exactly
// one holder once settled, and a MASTER of either kind that stops or crashes
// is replaced by the other. Two negative cases (wrong auth_pass, different
// VRRPv3 checksum forms) show those same checks do see a rejected advert.
import { expect } from 'chai';
import { Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { labLifecycle, type LabLifecycle } from './lab-hooks.js';
import { keepalivedLog, keepalivedPid, keepalivedState, keepalivedStats, startKeepalived, type KeepalivedStats } from '../../scripts/lab/keepalived.js';
import type { InstanceStatus } from '../../lib/vrrp/engine/engine.js';
import type { InstanceOptions } from '../../scripts/lab/tandem-config.js';
import { waitFor } from '../helpers/env.js';
import {
  expectSoleHolder,
  expectTandemClean,
  keepalivedErrorCounters,
  keepalivedPacketErrors,
  linkLocal,
  startCapture,
  tandemComplaints,
  capturedAdverts,
  expectWireClean,
} from './keepalived-interop-lab.js';
import { holders, instance, masterDownMs, skewMs, start, waitHolder, waitState } from './vrrp-lab.js';

const HIGH = 150;
const LOW = 100;
// How long "settled" is sampled: 40-60 samples of both hosts' addresses.
const SAMPLE_MS = 1500;
// Scheduling and ip(8) latency on a loaded 2-core machine.
const SLACK_MS = 400;

interface Variant {
  title: string;
  family: 4 | 6;
  version: 2 | 3;
  vrid: number;
  advertInt: number;
  authPass?: string;
  unicast?: boolean; // unicast peers (each side names the other), check_unicast_src on
}

const VARIANTS: Variant[] = [
  { title: 'VRRPv3 IPv4 multicast', family: 4, version: 3, vrid: 51, advertInt: 0.5 },
  { title: 'VRRPv3 IPv6 multicast', family: 6, version: 3, vrid: 52, advertInt: 0.5 },
  // v2 carries whole seconds.
  { title: 'VRRPv2 IPv4 with PASS authentication', family: 4, version: 2, vrid: 53, advertInt: 1, authPass: 'tandem42' },
  { title: 'VRRPv3 IPv4 unicast peers', family: 4, version: 3, vrid: 54, advertInt: 0.5, unicast: true },
];

// One instance of a variant, for tandem or keepalived alike; `peer` is the other host.
function opts(v: Variant, peer: LabHost, priority: number): InstanceOptions {
  const o: InstanceOptions = { priority, version: v.version, family: v.family, vrid: v.vrid, advertInt: v.advertInt };
  if (v.authPass !== undefined) o.authPass = v.authPass;
  if (v.unicast === true) Object.assign(o, { unicastPeers: [peer.ipv4], checkUnicastSrc: true });
  return o;
}

const vipOf = (family: 4 | 6): string => (family === 4 ? '192.0.2.100' : '2001:db8:1::100');

async function sourceOf(h: LabHost, family: 4 | 6): Promise<string> {
  return family === 4 ? h.ipv4 : linkLocal(h);
}

async function waitKeepalivedState(p: LabProcess, state: string, timeoutMs: number): Promise<void> {
  await waitFor(`keepalived on ${p.host.name} to log "Entering ${state} STATE"`, async () => keepalivedState(p) === state, timeoutMs);
}

// keepalived up (its first state logged, so its signal handlers are in place)
// and counting adverts it accepted.
async function waitKeepalivedReceived(p: LabProcess, n: number): Promise<KeepalivedStats> {
  await waitFor(`keepalived on ${p.host.name} to start`, async () => keepalivedState(p) !== null, 10_000);
  return waitFor(`keepalived on ${p.host.name} to accept ${n} adverts`, async () => {
    const s = await keepalivedStats(p.host);
    return (s['Advertisements/Received'] ?? 0) >= n ? s : undefined;
  }, 10_000, 100);
}

// tandem up (control socket answering) and following a MASTER it heard from.
async function waitTandemReceived(h: LabHost, n: number): Promise<InstanceStatus> {
  return waitFor(`tandem on ${h.name} to accept ${n} adverts`, async () => {
    const i = await instance(h);
    return i.stats.advert_rcvd >= n ? i : undefined;
  }, 10_000);
}

// keepalived's complaints about adverts, once it logged one: it logs in its own time, and a loaded machine
// showed tandem's counter (or keepalived's stats dump) before keepalived's line.
function keepalivedComplained(p: LabProcess): Promise<string[]> {
  return waitFor(`keepalived on ${p.host.name} to log its complaint`, async () => {
    const e = keepalivedPacketErrors(keepalivedLog(p));
    return e.length >= 1 ? e : undefined;
  }, 5000);
}

function expectKeepalivedLogClean(p: LabProcess): void {
  expect(keepalivedPacketErrors(keepalivedLog(p)), `keepalived on ${p.host.name} rejected or complained about adverts`).to.deep.equal([]);
}

// Two hosts on the bridge: a runs tandem, b runs keepalived.
async function pair(labs: LabLifecycle): Promise<{ lab: Lab; a: LabHost; b: LabHost }> {
  const lab = labs.adopt(await Lab.create(2));
  const [a, b] = lab.hosts as [LabHost, LabHost];
  return { lab, a, b };
}

describe('keepalived interop in network namespaces', function () {
  this.timeout(60_000);
  const labs = labLifecycle(['keepalived', 'tcpdump']);

  for (const v of VARIANTS) {
    const VIP = vipOf(v.family);

    describe(v.title, () => {
      it('tandem higher: tandem MASTER, keepalived BACKUP accepting its adverts; SIGTERM hands the VIP to keepalived', async () => {
        const { lab, a, b } = await pair(labs);
        const cap = await startCapture(lab, b);
        // tandem first, so keepalived joins an elected MASTER: it must never leave BACKUP.
        const ta = start(lab, a, opts(v, b, HIGH));
        await waitHolder(lab, VIP, a, 15_000);
        await waitState(a, 'MASTER', 5000);
        const aSource = await sourceOf(a, v.family);
        const kb = startKeepalived(lab, b, [opts(v, a, LOW)]);
        const k0 = await waitKeepalivedReceived(kb, 2);

        await expectSoleHolder(lab, VIP, a, SAMPLE_MS);
        // keepalived stayed BACKUP, kept counting our adverts and rejected none.
        expect(keepalivedState(kb)).to.equal('BACKUP');
        expect(keepalivedLog(kb)).to.not.include('Entering MASTER STATE');
        const k1 = await keepalivedStats(b);
        expect(k1['Advertisements/Received']).to.be.greaterThan(k0['Advertisements/Received'] ?? 0);
        expect(keepalivedErrorCounters(k1), 'keepalived error counters').to.deep.equal({});
        expectKeepalivedLogClean(kb);
        const ia = await expectTandemClean(a);
        expect(ia.master_ip).to.equal(aSource);
        const fromA = expectWireClean(cap, aSource, v.version, v.vrid);
        expect(fromA.length).to.be.at.least(Math.floor(SAMPLE_MS / 1000 / v.advertInt));
        expect(fromA.every((x) => x.priority === HIGH)).to.equal(true);

        // Failover: tandem stops (priority 0, VIP removed), keepalived takes
        // over within Skew_Time, not Master_Down_Interval: it understood the goodbye.
        const t0 = Date.now();
        ta.child.kill('SIGTERM');
        await waitHolder(lab, VIP, b, 5000);
        expect(Date.now() - t0).to.be.at.most(skewMs(v.advertInt, LOW) + SLACK_MS);
        await waitKeepalivedState(kb, 'MASTER', 2000);
        await ta.child;
        expect(ta.child.exitCode).to.equal(0);
        await expectSoleHolder(lab, VIP, b, SAMPLE_MS);
        expect((await keepalivedStats(b))['Priority Zero/Received']).to.be.at.least(1);
        expectKeepalivedLogClean(kb);
        // tandem's goodbye (priority 0) and keepalived's adverts since: all well formed.
        expect(expectWireClean(cap, aSource, v.version, v.vrid).filter((x) => x.priority === 0)).to.have.length(1);
        const bSource = await sourceOf(b, v.family);
        expect(expectWireClean(cap, bSource, v.version, v.vrid).filter((x) => x.priority === LOW).length).to.be.at.least(1);
      });

      it('keepalived higher: keepalived MASTER, tandem BACKUP accepting its adverts; SIGTERM hands the VIP to tandem', async () => {
        const { lab, a, b } = await pair(labs);
        const cap = await startCapture(lab, b);
        // keepalived first, so tandem joins an elected MASTER: it must never leave BACKUP.
        const kb = startKeepalived(lab, b, [opts(v, a, HIGH)]);
        await waitHolder(lab, VIP, b, 15_000);
        await waitKeepalivedState(kb, 'MASTER', 1000);
        start(lab, a, opts(v, b, LOW));
        const i0 = await waitTandemReceived(a, 1);
        const kbSource = await sourceOf(b, v.family);
        expect(i0.state).to.equal('BACKUP');
        expect(i0.master_ip).to.equal(kbSource);

        await expectSoleHolder(lab, VIP, b, SAMPLE_MS);
        const i1 = await expectTandemClean(a);
        expect(i1.state).to.equal('BACKUP');
        expect(i1.master_ip).to.equal(kbSource);
        // At least one advert per interval arrived and was accepted during the sampling.
        expect(i1.stats.advert_rcvd - i0.stats.advert_rcvd).to.be.at.least(Math.floor(SAMPLE_MS / 1000 / v.advertInt) - 1);
        expect(i1.stats.become_master).to.equal(0);
        expect(keepalivedState(kb)).to.equal('MASTER');
        expect(keepalivedErrorCounters(await keepalivedStats(b)), 'keepalived error counters').to.deep.equal({});
        expectKeepalivedLogClean(kb);
        expect(expectWireClean(cap, kbSource, v.version, v.vrid).length).to.be.at.least(Math.floor(SAMPLE_MS / 1000 / v.advertInt));

        // Failover: keepalived stops (priority 0, VIP removed), tandem takes over within Skew_Time.
        const t0 = Date.now();
        kb.child.kill('SIGTERM');
        await waitHolder(lab, VIP, a, 5000);
        expect(Date.now() - t0).to.be.at.most(skewMs(v.advertInt, LOW) + SLACK_MS);
        await waitState(a, 'MASTER', 2000);
        await kb.child;
        await expectSoleHolder(lab, VIP, a, SAMPLE_MS);
        const i2 = await instance(a);
        expect(i2.stats.pri_zero_rcvd).to.equal(1);
        expect(tandemComplaints(i2)).to.deep.equal({});
        expectKeepalivedLogClean(kb);
        const aSource = await sourceOf(a, v.family);
        expect(expectWireClean(cap, aSource, v.version, v.vrid).filter((x) => x.priority === LOW).length).to.be.at.least(1);
      });
    });
  }

  describe('crashes (kill -9) across implementations, VRRPv3 IPv4', () => {
    const v = VARIANTS[0] as Variant;
    const VIP = vipOf(4);

    it('keepalived MASTER crashes: tandem takes over after Master_Down_Interval; keepalived restarted preempts back', async () => {
      const { lab, a, b } = await pair(labs);
      let kb = startKeepalived(lab, b, [opts(v, a, HIGH)]);
      await waitHolder(lab, VIP, b, 15_000);
      start(lab, a, opts(v, b, LOW));
      expect((await waitTandemReceived(a, 2)).state).to.equal('BACKUP');
      // The VRRP child dies without a word; with -R the parent exits too, leaving the VIP behind.
      const t0 = Date.now();
      process.kill(keepalivedPid(b, 'vrrp'), 'SIGKILL');
      await waitState(a, 'MASTER', 5000);
      const took = Date.now() - t0;
      expect(took).to.be.at.most(masterDownMs(v.advertInt, LOW) + SLACK_MS);
      expect(took).to.be.at.least(masterDownMs(v.advertInt, LOW) - v.advertInt * 1000 - SLACK_MS);
      await waitFor('a to hold the VIP', async () => (await lab.addresses(a)).includes(VIP), 2000, 10);
      await kb.child;
      await expectTandemClean(a);

      // keepalived comes back: it removes its leftover VIP at start, then preempts the lower priority.
      kb = startKeepalived(lab, b, [opts(v, a, HIGH)]);
      await waitHolder(lab, VIP, b, 15_000);
      await waitState(a, 'BACKUP', 2000);
      await expectSoleHolder(lab, VIP, b, SAMPLE_MS);
      const ia = await expectTandemClean(a);
      expect(ia.stats.release_master).to.equal(1);
      expectKeepalivedLogClean(kb);
    });

    it('tandem MASTER crashes: keepalived takes over after Master_Down_Interval; tandem restarted preempts back', async () => {
      const { lab, a, b } = await pair(labs);
      const ta = start(lab, a, opts(v, b, HIGH));
      await waitHolder(lab, VIP, a, 15_000);
      const kb = startKeepalived(lab, b, [opts(v, a, LOW)]);
      await waitKeepalivedReceived(kb, 2);
      expect(keepalivedState(kb)).to.equal('BACKUP');
      const t0 = Date.now();
      ta.child.kill('SIGKILL');
      await waitFor('b to hold the VIP', async () => (await lab.addresses(b)).includes(VIP), 5000, 10);
      const took = Date.now() - t0;
      expect(took).to.be.at.most(masterDownMs(v.advertInt, LOW) + SLACK_MS);
      expect(took).to.be.at.least(masterDownMs(v.advertInt, LOW) - v.advertInt * 1000 - SLACK_MS);
      await waitKeepalivedState(kb, 'MASTER', 1000);
      await ta.child;
      // The crashed tandem left its VIP: two holders until it returns.
      expect((await holders(lab, VIP)).map((h) => h.name)).to.deep.equal(['a', 'b']);

      // tandem comes back: it removes the leftover at start, then preempts keepalived.
      start(lab, a, opts(v, b, HIGH));
      await waitHolder(lab, VIP, a, 15_000);
      await waitKeepalivedState(kb, 'BACKUP', 2000);
      await expectSoleHolder(lab, VIP, a, SAMPLE_MS);
      await expectTandemClean(a);
      expectKeepalivedLogClean(kb);
    });
  });

  describe('negative cases: each side sees what it must reject', () => {
    it('VRRPv2 with different auth_pass: each side rejects the other (tandem counts auth-failure, keepalived logs an invalid passwd), so both are MASTER', async () => {
      const { lab, a, b } = await pair(labs);
      const base = VARIANTS[2] as Variant;
      start(lab, a, { ...opts(base, b, HIGH), authPass: 'tandem42' });
      const kb = startKeepalived(lab, b, [{ ...opts(base, a, LOW), authPass: 'other99' }]);
      await waitState(a, 'MASTER', 15_000);
      await waitKeepalivedState(kb, 'MASTER', 15_000);
      const ia = await waitFor('tandem to count auth failures', async () => {
        const i = await instance(a);
        return i.stats.dropped['auth-failure'] >= 2 ? i : undefined;
      }, 5000);
      expect(ia.stats.advert_rcvd).to.equal(0);
      // Nothing else went wrong: the password is the only complaint.
      expect(tandemComplaints(ia)).to.deep.equal({ 'dropped.auth-failure': ia.stats.dropped['auth-failure'] });
      const ks = await keepalivedStats(b);
      expect(ks['Authentication Errors/Failure']).to.be.at.least(1);
      expect(keepalivedErrorCounters(ks)).to.deep.equal({ 'Authentication Errors/Failure': ks['Authentication Errors/Failure'] });
      // The matcher the good cases rely on finds keepalived's complaint here.
      const errors = await keepalivedComplained(kb);
      expect(errors.every((l) => l.includes('(VI_1) received an invalid passwd!')), errors.join('\n')).to.equal(true);
      expect(keepalivedState(kb)).to.equal('MASTER');
      expect((await instance(a)).state).to.equal('MASTER');
    });

    it('VRRPv3 IPv4 with different checksum forms (tandem v3_checksum_as_v2): both count checksum errors, tcpdump agrees', async () => {
      const { lab, a, b } = await pair(labs);
      const base = VARIANTS[0] as Variant;
      const cap = await startCapture(lab, b);
      start(lab, a, { ...opts(base, b, HIGH), v3ChecksumAsV2: true });
      const kb = startKeepalived(lab, b, [opts(base, a, LOW)]);
      await waitState(a, 'MASTER', 15_000);
      await waitKeepalivedState(kb, 'MASTER', 15_000);
      const ia = await waitFor('tandem to count checksum errors', async () => {
        const i = await instance(a);
        return i.stats.dropped.checksum >= 2 ? i : undefined;
      }, 5000);
      expect(tandemComplaints(ia)).to.deep.equal({ 'dropped.checksum': ia.stats.dropped.checksum });
      const errors = await keepalivedComplained(kb);
      expect(errors.every((l) => l.includes('(VI_1) Invalid VRRPv3 checksum')), errors.join('\n')).to.equal(true);
      // keepalived's checksum is the RFC 5798 pseudo-header form; ours, without it, is not.
      const adverts = capturedAdverts(cap);
      const fromA = adverts.filter((x) => x.src === a.ipv4);
      const fromB = adverts.filter((x) => x.src === b.ipv4);
      expect(fromA.length).to.be.at.least(1);
      expect(fromB.length).to.be.at.least(1);
      expect(fromA.every((x) => x.badChecksum)).to.equal(true);
      expect(fromB.some((x) => x.badChecksum)).to.equal(false);
    });
  });
});
