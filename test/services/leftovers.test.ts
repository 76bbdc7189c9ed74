// Services left running by a daemon killed with -9, ended at the next start
// (ServiceSet.endLeftovers with the run ledger in services.json): a group
// whose leader is gone, a oneshot no longer configured, and a ledger that
// keeps each leftover until it has been ended.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceConfig } from '../../lib/config/types.js';
import { processStart, RunLedger } from '../../lib/services/leftovers.js';
import { ServiceSet } from '../../lib/services/service-set.js';
import { DEFAULT_RESTART_POLICY } from '../../lib/services/restart-policy.js';
import { running } from '../helpers/process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const base = { requires: [], health: null, restart: DEFAULT_RESTART_POLICY, startTimeoutMs: 5000, stopTimeoutMs: 1000 };
const cmd = (name: string): ServiceConfig => ({ name, kind: 'command', argv: ['/bin/sleep', '60'], env: {}, ...base } as unknown as ServiceConfig);

describe('services/leftovers', function () {
  this.timeout(20_000);
  let dir: string;
  const groups: number[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tds-left-'));
  });
  afterEach(() => {
    for (const g of groups.splice(0)) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  // The leader died of SIGPIPE once the daemon's end of its pipe closed; only its start time was checked, so its
  // worker, still in the group, ran on and nothing was logged.
  it('a leftover process group whose leader is gone: the members left are ended too', async () => {
    const pidFile = join(dir, 'worker');
    const leader = spawn('/bin/sh', ['-c', `sleep 60 & echo $! > ${pidFile}; sleep 0.5`], { detached: true, stdio: 'ignore' });
    const pgid = leader.pid as number;
    groups.push(pgid);
    await sleep(100);
    writeFileSync(join(dir, 'services.json'), JSON.stringify([{ name: 'app', kind: 'command', pgid, since: processStart(pgid) }]));
    await new Promise((r) => leader.once('exit', r));
    const worker = Number(readFileSync(pidFile, 'utf8'));
    expect(running(worker)).to.equal(true);
    const warned: string[] = [];
    const set = new ServiceSet([cmd('app')], { ...quiet, warn: (m: string) => warned.push(m) } as never, () => {}, () => {}, dir);
    await set.endLeftovers();
    await sleep(200);
    expect(running(worker), `worker ${worker} of leftover group ${pgid}`).to.equal(false);
    expect(warned).to.deep.equal([`service app: process group ${pgid} ended (left running by a daemon that did not stop)`]);
  });

  // The ledger kept only the name: a oneshot removed from the configuration before the restart was never undone.
  it('a leftover oneshot no longer configured is undone with the stop command it was run with', async () => {
    const mark = join(dir, 'mounted');
    const mount = { name: 'mount-db', kind: 'oneshot', start: ['/usr/bin/touch', mark], stop: ['/bin/rm', mark], ...base } as unknown as ServiceConfig;
    const ledger = new RunLedger(dir);
    ledger.started(mount, null);
    writeFileSync(mark, ''); // as its start command did; then the daemon was killed
    const warned: string[] = [];
    const set = new ServiceSet([cmd('app')], { ...quiet, warn: (m: string) => warned.push(m) } as never, () => {}, () => {}, dir);
    await set.endLeftovers();
    expect(existsSync(mark)).to.equal(false);
    expect(warned).to.deep.equal(['service mount-db: stop command run (left running by a daemon that did not stop)']);
  });

  it('a leftover unit or oneshot of an older ledger (name only) and no longer configured is reported, not silently kept', async () => {
    writeFileSync(join(dir, 'services.json'), JSON.stringify([{ name: 'mount-db', kind: 'oneshot', pgid: null, since: null }]));
    const warned: string[] = [];
    const set = new ServiceSet([cmd('app')], { ...quiet, warn: (m: string) => warned.push(m) } as never, () => {}, () => {}, dir);
    await set.endLeftovers();
    expect(warned.join('\n')).to.match(/^service mount-db: a oneshot left running by a daemon that did not stop, not in the configuration any more: not stopped, stop it by hand$/);
  });

  // takeLeftovers() emptied services.json before anything was ended: a daemon dying while it ended them (they take
  // up to stop_timeout each) forgot the rest for good.
  it('a leftover stays in services.json until it has been ended', async () => {
    const leader = spawn('/bin/sh', ['-c', 'trap "" TERM; while :; do sleep 0.1; done'], { detached: true, stdio: 'ignore' });
    const pgid = leader.pid as number;
    groups.push(pgid);
    await sleep(200);
    writeFileSync(join(dir, 'services.json'), JSON.stringify([{ name: 'app', kind: 'command', pgid, since: processStart(pgid) }]));
    const set = new ServiceSet([cmd('app')], quiet as never, () => {}, () => {}, dir);
    const ending = set.endLeftovers();
    await sleep(300); // SIGTERM sent, SIGKILL after stop_timeout (1 s)
    const during = readFileSync(join(dir, 'services.json'), 'utf8');
    await ending;
    expect(during).to.match(new RegExp(`"pgid":${pgid}`));
    expect(readFileSync(join(dir, 'services.json'), 'utf8')).to.equal('[]\n');
  });

  // Before, the leftover that failed to end stayed in the ledger only until the service's new run replaced its entry
  // (one per name), and that new run started beside it.
  it('a leftover that cannot be ended keeps its service from starting, stays in services.json beside other runs, and is tried again at each start', async () => {
    const allow = join(dir, 'allow');
    const mark = join(dir, 'mounted');
    const mount = { name: 'mount-db', kind: 'oneshot', start: ['/usr/bin/touch', mark], stop: ['/bin/sh', '-c', `test -e ${allow} && rm -f ${mark}`], ...base } as unknown as ServiceConfig;
    new RunLedger(dir).started(mount, null);
    writeFileSync(mark, ''); // mounted by the killed daemon
    const errors: string[] = [];
    const warned: string[] = [];
    const set = new ServiceSet([mount, cmd('app')], { ...quiet, error: (m: string) => errors.push(m), warn: (m: string) => warned.push(m) } as never, () => {}, () => {}, dir);
    await set.endLeftovers();
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/^service mount-db: leftover not ended: /);
    const ctl = new AbortController();
    await set.start('app', ctl.signal); // another service starts as usual
    const ledger = (): Array<{ name: string }> => JSON.parse(readFileSync(join(dir, 'services.json'), 'utf8')) as Array<{ name: string }>;
    expect(ledger().map((r) => r.name)).to.deep.equal(['mount-db', 'app']);
    rmSync(mark);
    const refused = await set.start('mount-db', ctl.signal).then(() => null, (e: Error) => e.message);
    expect(refused).to.match(/^service mount-db: a run left by a daemon that did not stop could not be ended \(.+\); not starting a second copy beside it; end it by hand, and the next start tries again$/);
    expect(existsSync(mark)).to.equal(false); // its start command did not run
    expect(ledger().map((r) => r.name)).to.deep.equal(['mount-db', 'app']);
    writeFileSync(allow, '');
    await set.start('mount-db', ctl.signal);
    expect(warned).to.include('service mount-db: stop command run (left running by a daemon that did not stop)');
    expect(existsSync(mark)).to.equal(true); // started once the leftover was undone
    expect(ledger().map((r) => r.name)).to.deep.equal(['app', 'mount-db']);
    await set.stopAll();
    expect(ledger()).to.deep.equal([]);
  });
});
