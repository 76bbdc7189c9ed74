// The supervisor with real processes (plain commands, oneshot pairs, and a
// stand-in systemctl, since this machine has no systemd as PID 1): waiting
// for health, start failures, restarts after a crash or failed checks, the
// restart budget escalating, and stop ending the whole process group.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceConfig } from '../../lib/config/types.js';
import { createDriver } from '../../lib/services/service-set.js';
import { Supervisor } from '../../lib/services/supervisor.js';
import { UNANSWERED_LIMIT } from '../../lib/services/driver-unit.js';
import { DEFAULT_RESTART_POLICY } from '../../lib/services/restart-policy.js';
import { running } from '../helpers/process.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const alive = running; // a zombie counts as ended

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('services/supervisor (real processes)', function () {
  this.timeout(30_000);
  let dir: string;
  const sups: Supervisor[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tdm-sup-'));
  });
  afterEach(async () => {
    for (const s of sups.splice(0)) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function sup(over: Partial<ServiceConfig> & Record<string, unknown>) {
    const cfg = {
      name: 'app', kind: 'command', argv: ['/bin/sh', '-c', 'sleep 60'], env: {}, requires: [], health: null,
      restart: DEFAULT_RESTART_POLICY, startTimeoutMs: 5000, stopTimeoutMs: 2000, ...over,
    } as ServiceConfig;
    const events: Array<{ type: string; fields: Record<string, unknown> }> = [];
    const escalations: string[] = [];
    const s = new Supervisor(cfg, {
      driver: (onEnded) => createDriver(cfg, quiet, onEnded),
      log: quiet,
      emit: (type, fields) => events.push({ type, fields }),
      escalate: (_n, why) => escalations.push(why),
    });
    sups.push(s);
    return { s, events, escalations };
  }
  const health = (file: string) => ({ kind: 'exec' as const, argv: ['/bin/sh', '-c', `test -f ${file}`], intervalMs: 100, timeoutMs: 90 });

  it('start resolves only once the health check passes; status shows the process group', async () => {
    const ready = join(dir, 'ready');
    const { s } = sup({ argv: ['/bin/sh', '-c', `sleep 0.4; touch ${ready}; exec sleep 60`], health: health(ready) });
    const t0 = Date.now();
    await s.start(new AbortController().signal);
    expect(Date.now() - t0).to.be.greaterThan(350);
    expect(existsSync(ready)).to.equal(true);
    const st = s.status();
    expect(st.state).to.equal('running');
    expect(st.health).to.equal('healthy');
    expect(st.pgid).to.be.a('number');
    expect(alive(st.pgid as number)).to.equal(true);
    await s.stop();
    // No check runs on a stopped service: its last verdict is not its health (it showed "healthy").
    expect(s.status()).to.include({ state: 'stopped', health: 'unknown', since: null });
  });

  it('a process that exits before it is healthy fails the start, with the exit status', async () => {
    const { s } = sup({ argv: ['/bin/sh', '-c', 'exit 3'], health: health(join(dir, 'never')) });
    let err: Error | null = null;
    await s.start(new AbortController().signal).catch((e: Error) => (err = e));
    expect(String(err)).to.match(/app exited with status 3 after .* before it was healthy/);
    expect(s.status().state).to.equal('stopped');
  });

  it('a service never healthy fails the start after start_timeout and is stopped', async () => {
    const { s } = sup({ health: health(join(dir, 'never')), startTimeoutMs: 400 });
    let err: Error | null = null;
    await s.start(new AbortController().signal).catch((e: Error) => (err = e));
    expect(String(err)).to.match(/not healthy within start_timeout 0.4 s \(last check: \/bin\/sh exited with status 1\)/, String(err));
    expect(s.status()).to.include({ state: 'stopped', pgid: null });
  });

  it('user: the process runs with that user\'s uid and gid; an unknown user fails the start', async () => {
    const { s } = sup({ user: 'nobody' });
    await s.start(new AbortController().signal);
    const status = readFileSync(`/proc/${s.status().pgid}/status`, 'utf8');
    expect(status).to.match(/^Uid:\s+65534\s/m);
    expect(status).to.match(/^Gid:\s+65534\s/m);
    const bad = sup({ name: 'x', user: 'no-such-user-here' }).s;
    let err: Error | null = null;
    await bad.start(new AbortController().signal).catch((e: Error) => (err = e));
    expect(String(err)).to.match(/user "no-such-user-here" does not exist on this node/);
  });

  it('a missing binary fails the start and says so', async () => {
    const { s } = sup({ argv: ['/nonexistent/app'] });
    let err: Error | null = null;
    await s.start(new AbortController().signal).catch((e: Error) => (err = e));
    expect(String(err)).to.match(/cannot start \/nonexistent\/app/);
  });

  it('a crash is restarted: the budget counts it, and the service is running again', async () => {
    const { s, events } = sup({});
    await s.start(new AbortController().signal);
    const first = s.status().pgid as number;
    process.kill(-first, 'SIGKILL');
    await until(() => s.status().state === 'running' && s.status().pgid !== first);
    expect(s.status()).to.include({ restarts: 1, failures_in_a_row: 1 });
    expect(s.status().last_problem?.reason).to.match(/app killed by SIGKILL .* restarting in 200 ms, failure 1 of 3 allowed/);
    expect(events.some((e) => e.type === 'service.ended' && e.fields.verdict === 'restart')).to.equal(true);
  });

  it('more than max_retries short runs escalate, with the reason, and the service is left stopped', async () => {
    const { s, escalations } = sup({ argv: ['/bin/sh', '-c', 'sleep 0.2; exit 1'], restart: { action: 'restart', maxRetries: 2, minLifetimeMs: 60_000 } });
    await s.start(new AbortController().signal);
    await until(() => escalations.length > 0);
    expect(escalations[0]).to.match(/app exited with status 1 .*3 runs in a row each ended within min_lifetime 60 s \(max_retries 2\): switching over/);
    expect(s.status().state).to.equal('failed');
    expect(s.status().restarts).to.equal(2);
  });

  it('action switchover escalates on the first failure', async () => {
    const { s, escalations } = sup({ restart: { action: 'switchover', maxRetries: 3, minLifetimeMs: 1000 } });
    await s.start(new AbortController().signal);
    process.kill(-(s.status().pgid as number), 'SIGTERM');
    await until(() => escalations.length > 0);
    expect(escalations[0]).to.match(/the policy is switchover on the first failure/);
  });

  it('failing health checks (fall 3) end the run: the process is stopped and started again', async () => {
    const ok = join(dir, 'ok');
    writeFileSync(ok, '');
    const { s, events } = sup({ argv: ['/bin/sh', '-c', `touch ${ok}; exec sleep 60`], health: health(ok) });
    await s.start(new AbortController().signal);
    const first = s.status().pgid as number;
    rmSync(ok);
    // The restarted run touches the file again, so it becomes healthy.
    await until(() => s.status().restarts === 1 && s.status().state === 'running');
    expect(alive(first)).to.equal(false);
    const ended = events.find((e) => e.type === 'service.ended');
    expect(ended?.fields.reason).to.match(/failed its health check 3 times in a row/);
  });

  it('stop ends the whole process group, children included', async () => {
    const pidFile = join(dir, 'child');
    const { s } = sup({ argv: ['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`] });
    await s.start(new AbortController().signal);
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
    const child = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(child)).to.equal(true);
    await s.stop();
    expect(s.status().state).to.equal('stopped');
    await until(() => !alive(child), 3000);
  });

  it('oneshot: a stop command that fails makes stop() reject and the state failed, not stopped', async () => {
    const { s } = sup({ name: 'mnt', kind: 'oneshot', start: ['/bin/true'], stop: ['/bin/sh', '-c', 'echo "umount: target is busy" >&2; exit 32'] } as Record<string, unknown>);
    await s.start(new AbortController().signal);
    const err = await s.stop().then(() => null, (e: Error) => e.message);
    expect(err).to.match(/^mnt: stop failed: stop command .*: exit 32: umount: target is busy$/);
    expect(s.status().state).to.equal('failed');
    sups.splice(sups.indexOf(s), 1); // its stop keeps failing
  });

  it('oneshot: the start command at start, the stop command at stop; a failing start is an error', async () => {
    const mark = join(dir, 'mounted');
    const { s } = sup({ kind: 'oneshot', start: ['/bin/touch', mark], stop: ['/bin/rm', '-f', mark] } as Record<string, unknown>);
    await s.start(new AbortController().signal);
    expect(existsSync(mark)).to.equal(true);
    expect(s.status()).to.include({ state: 'running', pgid: null });
    await s.stop();
    expect(existsSync(mark)).to.equal(false);
    const bad = sup({ name: 'bad', kind: 'oneshot', start: ['/bin/sh', '-c', 'echo no such device >&2; exit 2'], stop: ['/bin/true'] } as Record<string, unknown>).s;
    let err: Error | null = null;
    await bad.start(new AbortController().signal).catch((e: Error) => (err = e));
    expect(String(err)).to.match(/start command .*: exit 2: no such device/);
  });

  // A MASTER that leaves and is MASTER again before a SIGTERM-ignoring service has died: start() found the
  // old, dying run, said 'running', and then the SIGKILL came: nothing ran, or 'stopped' while MASTER.
  it('start() while a stop is still running waits for it to end, then starts a new run', async () => {
    const { s } = sup({ argv: ['/bin/sh', '-c', 'trap "" TERM; echo x; while :; do sleep 0.1; done'], stopTimeoutMs: 1000 });
    await s.start(new AbortController().signal);
    const old = s.status().pgid as number;
    await sleep(300); // the shell has set its trap
    const stopping = s.stop();
    await sleep(200);
    expect(s.status().state).to.equal('stopping');
    await s.start(new AbortController().signal);
    await stopping;
    await sleep(300);
    const st = s.status();
    expect(st.state, JSON.stringify(st)).to.equal('running');
    expect(st.pgid).to.be.a('number').and.not.equal(old);
    expect(alive(st.pgid as number), 'the pgid status shows is alive').to.equal(true);
    expect(alive(old), 'the old run').to.equal(false);
  });

  it('a start waiting for a stop is cancelled by a later stop: the service stays stopped', async () => {
    const { s } = sup({ argv: ['/bin/sh', '-c', 'trap "" TERM; echo x; while :; do sleep 0.1; done'], stopTimeoutMs: 500 });
    await s.start(new AbortController().signal);
    await sleep(300);
    const first = s.stop();
    const starting = s.start(new AbortController().signal).then(() => 'started', (e: Error) => e.message);
    await s.stop();
    await first;
    expect(await starting).to.equal('app: start cancelled by a later stop');
    expect(s.status()).to.include({ state: 'stopped', pgid: null });
  });

  // stop() while start() waited for the spawn found no process, said 'stopped', and the spawn then completed
  // into 'running' (a takeover cancelled by a newer transition while a service was being spawned).
  it('stop() during a start that has not spawned yet leaves the service stopped and its process gone', async () => {
    const { s } = sup({ argv: ['/bin/sleep', '60'] });
    const starting = s.start(new AbortController().signal).then(() => 'started', (e: Error) => e.message);
    await s.stop();
    expect(await starting).to.equal('app: start cancelled');
    await sleep(300);
    const st = s.status();
    expect({ state: st.state, pgid: st.pgid }).to.deep.equal({ state: 'stopped', pgid: null });
  });

  describe('unit (with a stand-in systemctl: no systemd as PID 1 on this machine)', () => {
    let oldPath: string | undefined;
    beforeEach(() => {
      // The stand-in keeps the unit's state in a file: start -> active, stop -> inactive; MainPID 4242.
      const bin = join(dir, 'bin');
      rmSync(bin, { recursive: true, force: true });
      writeFileSync(join(dir, 'state'), 'inactive');
      const script = `#!/bin/sh
echo "$@" >> ${dir}/calls
case "$1" in
  start) [ "$2" = broken.service ] && { echo "Job for broken.service failed" >&2; exit 1; }; echo active > ${dir}/state ;;
  stop) [ -f ${dir}/stop-fails ] && { echo "Job for $2 canceled." >&2; exit 1; }; echo inactive > ${dir}/state ;;
  is-active) [ -f ${dir}/mute ] && { echo "Failed to connect to bus: Connection timed out" >&2; exit 1; }; cat ${dir}/state; [ "$(cat ${dir}/state)" = active ] ;;
  show) echo 4242 ;;
esac
`;
      writeFileSync(join(dir, 'systemctl'), script);
      chmodSync(join(dir, 'systemctl'), 0o755);
      oldPath = process.env.PATH;
      process.env.PATH = `${dir}:${oldPath ?? ''}`;
    });
    afterEach(() => {
      process.env.PATH = oldPath;
    });

    it('start, MainPID as pgid, a unit that fails is restarted, stop', async () => {
      const { s } = sup({ name: 'pgsql', kind: 'unit', unit: 'postgresql.service' } as Record<string, unknown>);
      await s.start(new AbortController().signal);
      expect(s.status()).to.include({ state: 'running', pgid: 4242 });
      writeFileSync(join(dir, 'state'), 'failed');
      await until(() => s.status().restarts === 1 && s.status().state === 'running', 15_000);
      expect(s.status().last_problem?.reason).to.match(/unit postgresql.service is failed/);
      await s.stop();
      const calls = readFileSync(join(dir, 'calls'), 'utf8');
      expect(calls).to.match(/^start postgresql.service$/m);
      expect(calls).to.match(/^stop postgresql.service$/m);
      expect(readFileSync(join(dir, 'state'), 'utf8').trim()).to.equal('inactive');
    });

    // The stop failed (umount busy, a stop job canceled), the unit still ran, and the supervisor said 'stopped':
    // the conductor's stop step was ok and health on the BACKUP passed, with the service up on both nodes.
    it('a unit whose stop fails: stop() rejects with why, the state is failed, the run stays in the ledger until a stop works', async () => {
      const cfg = { name: 'db', kind: 'unit', unit: 'pgsql.service', requires: [], health: null, restart: DEFAULT_RESTART_POLICY, startTimeoutMs: 5000, stopTimeoutMs: 2000 } as ServiceConfig;
      const ledger = new Set<string>();
      const s = new Supervisor(cfg, {
        driver: (onEnded) => createDriver(cfg, quiet, onEnded),
        log: quiet,
        emit: () => {},
        escalate: () => {},
        ledger: { started: (c) => void ledger.add(c.name), ended: (n) => void ledger.delete(n) },
      });
      sups.push(s);
      await s.start(new AbortController().signal);
      writeFileSync(join(dir, 'stop-fails'), '');
      let err: Error | null = null;
      await s.stop().catch((e: Error) => (err = e));
      expect(String(err)).to.equal('Error: db: stop failed: systemctl stop pgsql.service: exit 1: Job for pgsql.service canceled.');
      expect(s.status()).to.include({ state: 'failed' });
      expect(s.status().last_problem?.reason).to.match(/^db: stop failed: /);
      expect([...ledger]).to.deep.equal(['db']);
      // MASTER again: the start goes ahead (the failed stop was said); then a stop that works ends the run.
      await s.start(new AbortController().signal);
      expect(s.status().state).to.equal('running');
      rmSync(join(dir, 'stop-fails'));
      await s.stop();
      expect(s.status().state).to.equal('stopped');
      expect([...ledger]).to.deep.equal([]);
    });

    // systemd busy (a daemon-reload, a slow bus): no answer is no end; the budget and a switchover are for units that ended.
    it(`a query that gets no state is not an end, up to ${UNANSWERED_LIMIT} in a row; then the unit counts as ended, saying why`, async () => {
      const { s } = sup({ name: 'pgsql', kind: 'unit', unit: 'postgresql.service' } as Record<string, unknown>);
      await s.start(new AbortController().signal);
      const queries = (): number => (readFileSync(join(dir, 'calls'), 'utf8').match(/^is-active /gm) ?? []).length;
      writeFileSync(join(dir, 'mute'), '');
      const before = queries();
      await until(() => queries() >= before + UNANSWERED_LIMIT - 1, 15_000);
      rmSync(join(dir, 'mute'));
      await until(() => queries() >= before + UNANSWERED_LIMIT + 1, 15_000); // answered again: the count starts over
      expect(s.status()).to.include({ state: 'running', restarts: 0 });
      writeFileSync(join(dir, 'mute'), '');
      await until(() => s.status().restarts === 1, 15_000);
      expect(s.status().last_problem?.reason).to.match(new RegExp(`systemctl is-active postgresql.service gave no state ${UNANSWERED_LIMIT} times in a row \\(last: exit 1: Failed to connect to bus`));
      rmSync(join(dir, 'mute'));
      await until(() => s.status().state === 'running', 15_000);
      await s.stop();
    });

    it('a unit that does not start fails the start with systemctl\'s message', async () => {
      const { s } = sup({ name: 'b', kind: 'unit', unit: 'broken.service' } as Record<string, unknown>);
      let err: Error | null = null;
      await s.start(new AbortController().signal).catch((e: Error) => (err = e));
      expect(String(err)).to.match(/systemctl start broken.service: exit 1: Job for broken.service failed/);
    });
  });
});
