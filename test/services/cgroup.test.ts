// Command services in cgroups of their own: the parsing of /proc's files
// (pure), then real runs in the kernel's cgroup2 hierarchy (root only; by
// hand without it the suite skips, under CI=true it must run): a child that
// left the process group with setsid is stopped with its service, after a
// crash of the daemon too, and no cgroup is left behind.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceConfig } from '../../lib/config/types.js';
import { cgroup2Mount, ownCgroup, parsePids, serviceCgroups, type ServiceCgroups } from '../../lib/services/cgroup.js';
import { processStart } from '../../lib/services/leftovers.js';
import { ProcessService } from '../../lib/services/process-service.js';
import { DEFAULT_RESTART_POLICY } from '../../lib/services/restart-policy.js';
import { ServiceSet } from '../../lib/services/service-set.js';
import { skipOutsideCi, waitFor } from '../helpers/env.js';
import { running } from '../helpers/process.js';

const kill = (pid: number): void => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
};
// Our cgroups below the test process's own (ProcessService names them tandem.PID.SERVICE.RUN).
const ours = (tree: ServiceCgroups): string[] => readdirSync(tree.base).filter((d) => d.startsWith(`tandem.${process.pid}.`));

describe('services/cgroup: parsing', () => {
  it('finds the cgroup2 mount in mountinfo: pure v2, hybrid, an escaped space, none', () => {
    const v2 = '25 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';
    expect(cgroup2Mount(`22 30 0:21 / /proc rw - proc proc rw\n${v2}`)).to.equal('/sys/fs/cgroup');
    const hybrid = [
      '34 31 0:30 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    expect(cgroup2Mount(hybrid)).to.equal('/sys/fs/cgroup/unified');
    expect(cgroup2Mount('41 31 0:38 / /mnt/my\\040cgroups rw - cgroup2 none rw\n')).to.equal('/mnt/my cgroups');
    // An optional field ("shared:9") and a v1 mount whose options name cgroup2 are not confused with it.
    expect(cgroup2Mount('34 31 0:30 / /sys/fs/cgroup/cpu rw shared:9 - cgroup cgroup2 rw,cpu\n')).to.equal(null);
    expect(cgroup2Mount('')).to.equal(null);
  });

  it('reads the process\'s own cgroup v2 path from /proc/self/cgroup', () => {
    expect(ownCgroup('0::/system.slice/tandem.service\n')).to.equal('/system.slice/tandem.service');
    expect(ownCgroup('9:name=systemd:/\n4:memory:/x\n0::/\n')).to.equal('/');
    expect(ownCgroup('4:memory:/x\n1:cpu:/\n')).to.equal(null);
  });

  it('reads pids from cgroup.procs, one a line', () => {
    expect(parsePids('12\n345\n')).to.deep.equal([12, 345]);
    expect(parsePids('')).to.deep.equal([]);
  });
});

describe('services/cgroup: runs in the kernel\'s cgroups', function () {
  this.timeout(30_000);
  let tree: ServiceCgroups;
  let dir: string;
  const strays: number[] = [];
  before(function () {
    if (process.getuid?.() !== 0) skipOutsideCi(this, 'cgroup tests need root');
    const c = serviceCgroups();
    if (!c.ok) skipOutsideCi(this, `no cgroup support here: ${c.why}`);
    tree = c.tree;
  });
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tds-cg-'))));
  afterEach(() => {
    for (const p of strays.splice(0)) kill(p);
    rmSync(dir, { recursive: true, force: true });
  });
  after(() => {
    if (tree !== undefined) expect(ours(tree), 'cgroups left behind').to.deep.equal([]);
  });

  const setsidService = (pidFile: string): string[] => ['/bin/sh', '-c', `setsid sleep 300 & echo $! > ${pidFile}; exec sleep 300`];

  it('a child that left the process group with setsid is stopped with its service, and the cgroup is removed', async () => {
    const pidFile = join(dir, 'child');
    const logs: string[] = [];
    const svc = new ProcessService({ name: 'app', argv: setsidService(pidFile), stopTimeoutMs: 2000, cgroups: tree, log: (l, m) => logs.push(`${l} ${m}`), onExit: () => {} });
    const pid = await svc.start();
    const cg = svc.cgroup as string;
    expect(cg).to.equal(join(tree.base, `tandem.${process.pid}.app.1`));
    await waitFor('the child started', async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 5000);
    const child = Number(readFileSync(pidFile, 'utf8'));
    strays.push(child);
    // $! is known before the child has run setsid: wait for it to have a group of its own.
    await waitFor('the child in a group of its own', async () => readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]?.split(' ')[2] === String(child), 5000);
    expect(parsePids(readFileSync(join(cg, 'cgroup.procs'), 'utf8')).sort()).to.deep.equal([pid, child].sort());
    await svc.stop();
    expect(running(pid)).to.equal(false);
    expect(running(child), 'the setsid child was stopped too').to.equal(false);
    expect(existsSync(cg), 'the run\'s cgroup is removed').to.equal(false);
    expect(logs.filter((l) => l.startsWith('warn'))).to.deep.equal([]);
  });

  it('without cgroups the same child outlives the stop (the process group is all there is)', async () => {
    const pidFile = join(dir, 'child');
    const svc = new ProcessService({ name: 'app', argv: setsidService(pidFile), stopTimeoutMs: 2000, log: () => {}, onExit: () => {} });
    await svc.start();
    await waitFor('the child started', async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 5000);
    const child = Number(readFileSync(pidFile, 'utf8'));
    strays.push(child);
    await svc.stop();
    expect(running(child)).to.equal(true);
  });

  it('a run that ends on its own takes its setsid child with it; the next run gets a new cgroup', async () => {
    const pidFile = join(dir, 'child');
    const ends: string[] = [];
    const svc = new ProcessService({ name: 'app', argv: ['/bin/sh', '-c', `setsid sleep 300 & echo $! > ${pidFile}; sleep 0.3; exit 4`], stopTimeoutMs: 2000, cgroups: tree, log: () => {}, onExit: (e) => ends.push(String(e.code)) });
    await svc.start();
    const first = svc.cgroup as string;
    await waitFor('the run ended', async () => ends.length === 1 && !existsSync(first), 5000);
    const child = Number(readFileSync(pidFile, 'utf8'));
    strays.push(child);
    expect(running(child)).to.equal(false);
    await svc.start();
    expect(svc.cgroup).to.not.equal(first);
    await svc.stop();
  });

  it('a binary that is missing, or that the service\'s user may not run, is refused at start as without cgroups, and leaves no cgroup', async () => {
    const svc = new ProcessService({ name: 'app', argv: ['/nonexistent/app'], stopTimeoutMs: 1000, cgroups: tree, log: () => {}, onExit: () => {} });
    const err = await svc.start().then(() => null, (e: Error) => e);
    expect(err?.message).to.equal('app: cannot start /nonexistent/app: spawn /nonexistent/app ENOENT');
    const script = join(dir, 'private.sh');
    writeFileSync(script, '#!/bin/sh\nexec sleep 300\n', { mode: 0o700 }); // root's alone
    const nobody = new ProcessService({ name: 'private', argv: [script], uid: 65534, gid: 65534, stopTimeoutMs: 1000, cgroups: tree, log: () => {}, onExit: () => {} });
    const denied = await nobody.start().then(() => null, (e: Error) => e);
    expect(denied?.message).to.equal(`private: cannot start ${script}: spawn ${script} EACCES`);
    expect(ours(tree)).to.deep.equal([]);
  });

  it('the environment is PATH and env only, as without cgroups', async () => {
    const logs: string[] = [];
    const svc = new ProcessService({ name: 'app', argv: ['/usr/bin/env'], env: { PORT: '8080' }, stopTimeoutMs: 1000, cgroups: tree, log: (l, m) => logs.push(`${l} ${m}`), onExit: () => {} });
    await svc.start();
    await waitFor('env exited', async () => !svc.running && ours(tree).length === 0, 5000);
    expect(logs.filter((l) => l.startsWith('info app: ')).sort()).to.deep.equal(['info app: PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'info app: PORT=8080']);
  });

  // LXC's monitor and payload, a container runtime: the service moves its processes into cgroups of its own below.
  // `gated`: it waits for a line on stdin first (the test moves it into a cgroup meanwhile).
  const nested = (journal: string, gated = false): string[] => ['/bin/sh', '-c', [
    ...(gated ? ['read -r _'] : []),
    'cg=$(sed -n "s/^0:://p" /proc/self/cgroup); root=$(awk \'$9 == "cgroup2" { print $5; exit }\' /proc/self/mountinfo)',
    'mkdir "$root$cg/monitor" "$root$cg/payload"',
    `sh -c 'echo $$ > "$0/cgroup.procs"; trap "sleep 0.5; echo payload-clean >> ${journal}; exit 0" TERM; while :; do sleep 0.1; done' "$root$cg/payload" &`,
    'echo $$ > "$root$cg/monitor/cgroup.procs"',
    `trap "echo monitor-term >> ${journal}; wait; exit 0" TERM`,
    'wait',
  ].join('\n')];

  it('a service that made cgroups of its own below its run\'s: SIGTERM reaches every process, each gets its time, and the whole subtree is removed', async () => {
    const journal = join(dir, 'journal');
    writeFileSync(journal, '');
    const logs: string[] = [];
    const svc = new ProcessService({ name: 'lxc', argv: nested(journal), stopTimeoutMs: 5000, cgroups: tree, log: (l, m) => logs.push(`${l} ${m}`), onExit: () => {} });
    await svc.start();
    const cg = svc.cgroup as string;
    await waitFor('monitor and payload in their cgroups', async () => existsSync(join(cg, 'payload')) && readFileSync(join(cg, 'payload', 'cgroup.procs'), 'utf8').trim() !== '' && readFileSync(join(cg, 'monitor', 'cgroup.procs'), 'utf8').trim() !== '', 5000);
    expect(readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim(), 'the run\'s own cgroup holds nobody').to.equal('');
    const payload = parsePids(readFileSync(join(cg, 'payload', 'cgroup.procs'), 'utf8'));
    await svc.stop();
    expect(readFileSync(journal, 'utf8').split('\n').filter(Boolean).sort()).to.deep.equal(['monitor-term', 'payload-clean']);
    for (const pid of payload) expect(running(pid)).to.equal(false);
    expect(existsSync(cg)).to.equal(false);
    expect(logs.filter((l) => /not removed|SIGKILL/.test(l))).to.deep.equal([]);
  });

  it('what the leader leaves gets stop_timeout to end after SIGTERM, as systemd gives a unit\'s cgroup: the stop ends when it is empty', async () => {
    const journal = join(dir, 'journal');
    writeFileSync(journal, '');
    const worker = `trap "sleep 1; echo worker-clean >> ${journal}; exit 0" TERM; echo worker-ready >> ${journal}; while :; do sleep 0.1; done`;
    const svc = new ProcessService({ name: 'app', argv: ['/bin/sh', '-c', `setsid sh -c '${worker}' & trap "echo main-exit >> ${journal}; exit 0" TERM; echo main-ready >> ${journal}; while :; do sleep 0.1; done`], stopTimeoutMs: 5000, cgroups: tree, log: () => {}, onExit: () => {} });
    await svc.start();
    const cg = svc.cgroup as string;
    // A SIGTERM before the worker's trap is set would end it at once: wait for the trap, not for a count of pids.
    await waitFor('both traps set', async () => ['main-ready', 'worker-ready'].every((w) => readFileSync(journal, 'utf8').includes(w)), 5000);
    const t0 = Date.now();
    await svc.stop();
    expect(readFileSync(journal, 'utf8').split('\n').filter((l) => l !== '' && !l.endsWith('-ready'))).to.deep.equal(['main-exit', 'worker-clean']);
    expect(Date.now() - t0, 'the stop waited for the worker').to.be.at.least(900);
    expect(existsSync(cg)).to.equal(false);
  });

  it('after a crash of the daemon, a run whose processes are all in cgroups below its own is ended and removed', async () => {
    const cg = tree.create('lxc');
    const journal = join(dir, 'journal');
    writeFileSync(journal, '');
    const argv = nested(journal, true);
    const leader = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    strays.push(leader.pid as number);
    cg.join(leader.pid as number); // before it goes on: it makes its cgroups below the one it is in
    leader.stdin?.end('\n');
    await waitFor('monitor and payload in their cgroups', async () => existsSync(join(cg.path, 'payload')) && readFileSync(join(cg.path, 'payload', 'cgroup.procs'), 'utf8').trim() !== '' && readFileSync(join(cg.path, 'monitor', 'cgroup.procs'), 'utf8').trim() !== '', 5000);
    const all = cg.members();
    strays.push(...all);
    writeFileSync(join(dir, 'services.json'), JSON.stringify([{ name: 'lxc', kind: 'command', pgid: leader.pid, since: processStart(leader.pid as number), cgroup: cg.path }]));
    const warned: string[] = [];
    const cfg = { name: 'lxc', kind: 'command', argv: ['/bin/sleep', '60'], env: {}, requires: [], health: null, restart: DEFAULT_RESTART_POLICY, startTimeoutMs: 5000, stopTimeoutMs: 3000 } as unknown as ServiceConfig;
    const set = new ServiceSet([cfg], { info: () => {}, warn: (m: string) => warned.push(m), error: (m: string) => warned.push(m) } as never, () => {}, () => {}, dir, { ok: true, tree });
    await set.endLeftovers();
    for (const pid of all) expect(running(pid), `pid ${pid}`).to.equal(false);
    expect(existsSync(cg.path)).to.equal(false);
    expect(warned).to.deep.equal([`service lxc: ${all.length} processes of ${cg.path} ended (left running by a daemon that did not stop)`]);
  });

  it('after a crash of the daemon, the next start ends every process of the run\'s cgroup, setsid children too', async () => {
    // A run as a crashed daemon left it: its cgroup, the leader and a setsid child in it, and the ledger naming it.
    const cg = tree.create('app');
    const pidFile = join(dir, 'child');
    const leader = spawn('/bin/sh', ['-c', `read -r _; setsid sleep 300 & echo $! > ${pidFile}; exec sleep 300`], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    strays.push(leader.pid as number);
    cg.join(leader.pid as number);
    leader.stdin?.end('\n');
    await waitFor('the child started', async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 5000);
    const child = Number(readFileSync(pidFile, 'utf8'));
    strays.push(child);
    writeFileSync(join(dir, 'services.json'), JSON.stringify([{ name: 'app', kind: 'command', pgid: leader.pid, since: processStart(leader.pid as number), cgroup: cg.path }]));
    const warned: string[] = [];
    const cfg = { name: 'app', kind: 'command', argv: ['/bin/sleep', '60'], env: {}, requires: [], health: null, restart: DEFAULT_RESTART_POLICY, startTimeoutMs: 5000, stopTimeoutMs: 1000 } as unknown as ServiceConfig;
    const quiet = { info: () => {}, warn: (m: string) => warned.push(m), error: () => {}, debug: () => {} };
    const set = new ServiceSet([cfg], quiet as never, () => {}, () => {}, dir, { ok: true, tree });
    await set.endLeftovers();
    expect(running(leader.pid as number)).to.equal(false);
    expect(running(child), 'the setsid child of the crashed run').to.equal(false);
    expect(existsSync(cg.path)).to.equal(false);
    expect(warned).to.deep.equal([`service app: 2 processes of ${cg.path} ended (left running by a daemon that did not stop)`]);
    expect(JSON.parse(readFileSync(join(dir, 'services.json'), 'utf8'))).to.deep.equal([]);
  });

  it('a ledger naming a path that is not a cgroup is not followed, also when it looks like one of ours', async () => {
    // A directory named as ours, with a cgroup.procs listing a live process: not on a cgroup2 file system.
    const decoy = join(dir, 'tandem.1.app.1');
    mkdirSync(decoy);
    const bystander = spawn('/bin/sleep', ['300'], { stdio: 'ignore' });
    strays.push(bystander.pid as number);
    writeFileSync(join(decoy, 'cgroup.procs'), `${bystander.pid}\n`);
    writeFileSync(join(dir, 'services.json'), JSON.stringify([{ name: 'app', kind: 'command', pgid: null, since: null, cgroup: decoy }]));
    const cfg = { name: 'app', kind: 'command', argv: ['/bin/sleep', '60'], env: {}, requires: [], health: null, restart: DEFAULT_RESTART_POLICY, startTimeoutMs: 5000, stopTimeoutMs: 1000 } as unknown as ServiceConfig;
    const set = new ServiceSet([cfg], { info: () => {}, warn: () => {}, error: () => {} } as never, () => {}, () => {}, dir, { ok: true, tree });
    await set.endLeftovers();
    expect(running(bystander.pid as number)).to.equal(true);
    expect(existsSync(decoy)).to.equal(true);
    expect(JSON.parse(readFileSync(join(dir, 'services.json'), 'utf8'))).to.deep.equal([]);
  });
});
