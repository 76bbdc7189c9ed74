import { expect } from 'chai';
import { healthReport, type HealthInput } from '../../lib/cli/format-health.js';
import { healthInputOf } from '../../lib/cli/node-commands.js';
import type { NodeStatus } from '../../lib/node/status.js';
import { formatHa } from '../../lib/cli/format-ha.js';
import type { HaStatus } from '../../lib/node/ha-node.js';

const master: HealthInput = {
  role: 'MASTER', replication: 'block',
  services: [{ name: 'pgsql', state: 'running', pgid: 4167 }, { name: 'app', state: 'running', pgid: 4190 }],
  volumes: [{ name: 'db', role: 'Primary', disk: 'UpToDate', connected: true, resync: null }],
};

describe('cli/format-health (health.sh for tandem)', () => {
  it('a healthy MASTER: the header, one line per component, PASSED', () => {
    expect(healthReport(master)).to.deep.equal({
      passed: true,
      lines: [
        '============== TANDEM HA (MASTER) with DRBD-style replication ==============',
        'pgsql (pgid 4167) is running',
        'app (pgid 4190) is running',
        'db is primary, disk UpToDate, peer connected',
        'TANDEM HEALTH PASSED',
      ],
    });
  });

  it('a BACKUP whose services are stopped and volumes secondary passes (health is doing what the role requires)', () => {
    const r = healthReport({
      role: 'BACKUP', replication: 'directory',
      services: [{ name: 'pgsql', state: 'stopped', pgid: null }, { name: 'portal', state: 'stopped', pgid: null }],
      volumes: [{ name: 'conf', role: 'Secondary', disk: 'UpToDate', connected: true, resync: null }],
    });
    expect(r.passed).to.equal(true);
    expect(r.lines).to.deep.equal([
      '============== TANDEM HA (BACKUP) with directory replication ==============',
      'pgsql is stopped',
      'portal is stopped',
      'conf is secondary, disk UpToDate, peer connected',
      'TANDEM HEALTH PASSED',
    ]);
  });

  it('fails, naming each problem: a stopped service or a secondary volume on the MASTER, a running service on a BACKUP, FAULT / WAITING nodes', () => {
    const bad = healthReport({ ...master, services: [{ name: 'app', state: 'stopped', pgid: null }], volumes: [{ name: 'db', role: 'Secondary', disk: 'Inconsistent', connected: false, resync: null }] });
    expect(bad.passed).to.equal(false);
    expect(bad.lines.filter((l) => l.startsWith('problem:'))).to.deep.equal([
      'problem: app should be running on the MASTER', 'problem: db should be primary on the MASTER', 'problem: db\'s disk is Inconsistent, not UpToDate',
    ]);
    expect(bad.lines[bad.lines.length - 1]).to.equal('TANDEM HEALTH FAILED');
    const backup = healthReport({ ...master, role: 'BACKUP' });
    expect(backup.lines.filter((l) => l.startsWith('problem:'))).to.deep.equal([
      'problem: pgsql should be stopped on a BACKUP', 'problem: app should be stopped on a BACKUP', 'problem: db should be secondary on a BACKUP',
    ]);
    for (const role of ['FAULT', 'STOP', 'INIT', 'WAITING'] as const) {
      const r = healthReport({ role, replication: 'none', services: [], volumes: [] });
      expect(r.passed, role).to.equal(false);
      expect(r.lines).to.deep.equal([`============== TANDEM HA (${role}) without replication ==============`, `problem: the node is ${role}`, 'TANDEM HEALTH FAILED']);
    }
  });

  it('a BACKUP whose copy could not take over fails: a disk not UpToDate (with the resync progress), no peer connected, or every link suspended', () => {
    const backup = (v: Partial<HealthInput['volumes'][number]>): HealthInput => ({
      role: 'BACKUP', replication: 'block', services: [],
      volumes: [{ name: 'db', role: 'Secondary', disk: 'UpToDate', connected: true, resync: null, ...v }],
    });
    const problems = (h: HealthInput): string[] => healthReport(h).lines.filter((l) => l.startsWith('problem:'));
    expect(healthReport(backup({})).passed).to.equal(true);
    const syncing = healthReport(backup({ disk: 'Inconsistent', resync: 42.5 }));
    expect(syncing.passed).to.equal(false);
    expect(syncing.lines).to.include('db is secondary, disk Inconsistent (resync 42.5% done), peer connected');
    expect(problems(backup({ disk: 'Inconsistent', resync: 42.5 }))).to.deep.equal([
      'problem: db\'s disk is Inconsistent (resync 42.5% done), not UpToDate: this BACKUP cannot take over with it',
    ]);
    for (const disk of ['Outdated', 'Consistent', 'Inconsistent', 'DUnknown']) {
      expect(problems(backup({ disk })), disk).to.deep.equal([`problem: db's disk is ${disk}, not UpToDate: this BACKUP cannot take over with it`]);
    }
    expect(problems(backup({ connected: false }))).to.deep.equal(['problem: db is connected to no peer: this BACKUP\'s copy is not kept current']);
    expect(problems(backup({ disk: 'Outdated', connected: false }))).to.have.length(2);
    // Connected, but every link waits for another source: nothing arrives (a partial mesh).
    const why = 'node-b is Established with Primary node-a';
    const waiting = healthReport(backup({ suspended: why }));
    expect(waiting.passed).to.equal(false);
    expect(waiting.lines).to.include(`db is secondary, disk UpToDate, peer connected, resync suspended (${why})`);
    expect(problems(backup({ suspended: why }))).to.deep.equal([`problem: db takes data from no peer (resync suspended: ${why}): this BACKUP's copy is not kept current`]);
    // A MASTER tracks its writes for such a peer in the bitmap: the line says so, health passes.
    const primaryWaits = healthReport({ ...master, volumes: [{ name: 'db', role: 'Primary', disk: 'UpToDate', connected: true, resync: null, suspended: why }] });
    expect(primaryWaits.passed).to.equal(true);
    expect(primaryWaits.lines).to.include(`db is primary, disk UpToDate, peer connected, resync suspended (${why})`);
    // A MASTER whose peer is away still does its own role: the line says so, health passes.
    expect(healthReport({ ...master, volumes: [{ name: 'db', role: 'Primary', disk: 'UpToDate', connected: false, resync: null }] }).passed).to.equal(true);
  });

  it('a VRRP-only node judges every instance: one in FAULT fails it, with why (only the first counted before)', () => {
    const vrrpOnly = (second: string, why: string[] = []): HealthInput => ({
      role: 'MASTER', replication: 'none', services: [], volumes: [],
      instances: [{ name: 'VI_1', state: 'MASTER', why: [] }, { name: 'VI_6', state: second, why }],
    });
    expect(healthReport(vrrpOnly('BACKUP'))).to.deep.equal({
      lines: ['============== TANDEM HA (MASTER) without replication ==============', 'VRRP instance VI_1 is MASTER', 'VRRP instance VI_6 is BACKUP', 'TANDEM HEALTH PASSED'],
      passed: true,
    });
    const fault = healthReport(vrrpOnly('FAULT', ['tracked interface dum0 down']));
    expect(fault.passed).to.equal(false);
    expect(fault.lines.slice(2)).to.deep.equal([
      'VRRP instance VI_6 is FAULT (tracked interface dum0 down)', 'problem: VRRP instance VI_6 is FAULT (tracked interface dum0 down)', 'TANDEM HEALTH FAILED',
    ]);
    // The first instance in FAULT: said once, per instance, not again as "the node is FAULT".
    const first = healthReport({ role: 'FAULT', replication: 'none', services: [], volumes: [], instances: [{ name: 'VI_1', state: 'FAULT', why: [] }] });
    expect(first.lines.filter((l) => l.startsWith('problem:'))).to.deep.equal(['problem: VRRP instance VI_1 is FAULT']);
  });

  it('from status: a node without a resource group lists every VRRP instance; one with a group does not', () => {
    const inst = (name: string, state: string, fault_reasons: string[] = []) => ({ name, state, fault_reasons });
    const status = (ha: unknown) => ({ node: 'c', daemon: 'running', volumes: [], ha, vrrp: [inst('VI_1', 'MASTER'), inst('VI_6', 'FAULT', ['tracked interface dum0 down'])] }) as unknown as NodeStatus;
    const h = healthInputOf(status(null));
    expect(h.instances).to.deep.equal([{ name: 'VI_1', state: 'MASTER', why: [] }, { name: 'VI_6', state: 'FAULT', why: ['tracked interface dum0 down'] }]);
    expect(healthReport(h).passed).to.equal(false);
    expect(healthInputOf(status({ role: 'MASTER', boot: { state: 'READY' }, services: [] })).instances).to.equal(undefined);
  });

  it('a replication-only node (no VRRP, roles set by `tandem replica`): each volume judged by its own role', () => {
    type V = { name: string; type: string; role: string; disk: string; peers: Array<{ connection: string; replication: string; sync_percent: number | null }> };
    const peer = (connection = 'Connected', replication = 'Established', sync_percent: number | null = null) => ({ connection, replication, sync_percent });
    const vol = (role: string, disk = 'UpToDate', peers = [peer()]): V => ({ name: 'db', type: 'block', role, disk, peers });
    const status = (...volumes: V[]) => ({ node: 'a', daemon: 'running', ha: null, vrrp: [], volumes }) as unknown as NodeStatus;
    const report = (...volumes: V[]) => healthReport(healthInputOf(status(...volumes)));
    expect(report(vol('Primary'))).to.deep.equal({
      passed: true,
      lines: ['============== TANDEM HA (roles set by command) with DRBD-style replication ==============', 'db is primary, disk UpToDate, peer connected', 'TANDEM HEALTH PASSED'],
    });
    expect(report(vol('Secondary')).passed).to.equal(true);
    // A Primary whose peer is away still serves; its line says so.
    expect(report(vol('Primary', 'UpToDate', [peer('Connecting', 'Off')])).passed).to.equal(true);
    const problems = (r: { lines: string[] }) => r.lines.filter((l) => l.startsWith('problem:'));
    expect(problems(report(vol('Primary', 'Outdated')))).to.deep.equal(["problem: db's disk is Outdated, not UpToDate"]);
    expect(problems(report(vol('Secondary', 'Inconsistent', [peer('Connected', 'SyncTarget', 40)])))).to.deep.equal([
      "problem: db's disk is Inconsistent (resync 40.0% done), not UpToDate: this Secondary cannot take over with it",
    ]);
    expect(problems(report(vol('Secondary', 'UpToDate', [peer('StandAlone', 'Off')])))).to.deep.equal([
      "problem: db is connected to no peer: this Secondary's copy is not kept current",
    ]);
    // No volumes and no election: nothing to judge, as before.
    expect(report().lines[0]).to.equal('============== TANDEM HA (INIT) without replication ==============');
    expect(report().passed).to.equal(false);
  });

  describe('services by their real state, from status', () => {
    const svc = (name: string, state: string, pgid: number | null) => ({
      name, kind: 'command', state, pgid, health: 'none', since: null, restarts: 0, failures_in_a_row: 0, last_problem: null,
    });
    const status = (role: string, serving: boolean, services: unknown[]) => ({
      node: 'a', daemon: 'running', volumes: [], vrrp: [{ name: 'VI_1', state: role, fault_reasons: [] }],
      ha: { group: 'VI_1', role, serving, boot: { state: 'READY', reason: '' }, maintenance: false, services, transitions: [] },
    }) as unknown as NodeStatus;
    const problems = (r: { lines: string[] }): string[] => r.lines.filter((l) => l.startsWith('problem:'));

    // After a switchover a service ignoring SIGTERM stays up until stop_timeout: health on the new BACKUP said
    // "second is stopped" and passed.
    it('a BACKUP with a service still stopping (its process group alive) fails and says it is stopping', () => {
      const r = healthReport(healthInputOf(status('BACKUP', false, [svc('first', 'stopped', null), svc('second', 'stopping', 14978)])));
      expect(r.lines).to.include.members(['first is stopped', 'second (pgid 14978) is stopping']);
      expect(problems(r)).to.deep.equal(['problem: second should be stopped on a BACKUP (it is stopping)']);
      expect(r.passed).to.equal(false);
    });

    // Every state but running printed "is stopped": a crash loop on the MASTER read as a stopped service.
    it('each line says the state the service is in: starting, restarting, stopping, failed', () => {
      const r = healthReport(healthInputOf(status('MASTER', true, [
        svc('a', 'starting', 100), svc('b', 'restarting', null), svc('c', 'stopping', 102), svc('d', 'failed', null),
      ])));
      expect(r.lines.slice(1, 5)).to.deep.equal(['a (pgid 100) is starting', 'b is restarting', 'c (pgid 102) is stopping', 'd is failed']);
      expect(problems(r)).to.deep.equal(['a', 'b', 'c', 'd'].map((n, i) => `problem: ${n} should be running on the MASTER (it is ${['starting', 'restarting', 'stopping', 'failed'][i]})`));
    });

    // healthInputOf never looked at ha.serving: a MASTER whose takeover had not added its VIPs yet passed.
    it('a MASTER whose takeover is still running (not serving yet) fails with that reason', () => {
      const r = healthReport(healthInputOf(status('MASTER', false, [svc('first', 'running', 100)])));
      expect(problems(r)).to.deep.equal(['problem: the MASTER is not serving yet: its takeover steps are still running']);
      expect(healthReport(healthInputOf(status('MASTER', true, [svc('first', 'running', 100)]))).passed).to.equal(true);
    });

    // A switchover lets go before the step-down: health said "its takeover steps are still running".
    it('a MASTER letting go before its step-down fails saying it is handing over, not taking over', () => {
      const st = status('MASTER', false, [svc('first', 'stopping', 100)]);
      (st.ha as unknown as { handing_over: boolean }).handing_over = true;
      expect(problems(healthReport(healthInputOf(st)))).to.deep.equal([
        'problem: first should be running on the MASTER (it is stopping)',
        'problem: the MASTER is handing over: it lets go of everything before it steps down',
      ]);
      const lines = formatHa({ ...(st.ha as HaStatus), transitions: [{ from: 'MASTER', to: 'BACKUP', reason: 'switchover: letting go before the step-down', at: '2026-11-24T20:00:00.000Z', ms: null, result: 'running', steps: [] }] }, false);
      expect(lines[0]).to.equal('resource group VI_1: MASTER, handing over');
      expect(lines.at(-1), 'a transition still running').to.equal('    2026-11-24T20:00:00.000Z MASTER -> BACKUP running (switchover: letting go before the step-down)');
    });
  });
});
