import { expect } from 'chai';
import { describeEnd, ProcessService, type RunEnd } from '../../lib/services/process-service.js';
import { waitFor } from '../helpers/env.js';

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
// Every process in a group, from /proc (the group must be empty after a stop).
async function groupMembers(pgid: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out: number[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) out.push(Number(d));
  }
  return out;
}

describe('services/process-service', function () {
  this.timeout(20_000);
  const make = (argv: string[], stopTimeoutMs = 5000): { svc: ProcessService; logs: string[]; ends: RunEnd[] } => {
    const logs: string[] = [];
    const ends: RunEnd[] = [];
    const svc = new ProcessService({ name: 'app', argv, stopTimeoutMs, log: (l, m) => logs.push(`${l} ${m}`), onExit: (e) => ends.push(e) });
    return { svc, logs, ends };
  };

  it('runs in a group of its own, logs its output by line, and stop() ends the whole group (children too)', async () => {
    const { svc, logs, ends } = make(['/bin/sh', '-c', 'echo ready; echo oops >&2; sleep 30 & sleep 30']);
    const pgid = await svc.start();
    expect(svc.pgid).to.equal(pgid);
    await waitFor('output logged', async () => logs.includes('info app: ready') && logs.includes('warn app: oops'), 5000);
    await waitFor('two members', async () => (await groupMembers(pgid)).length >= 2, 5000);
    await svc.stop();
    expect(svc.running).to.equal(false);
    expect(ends).to.have.length(1);
    expect(ends[0]?.stopped).to.equal(true);
    await waitFor('the group is empty', async () => (await groupMembers(pgid)).length === 0, 5000);
  });

  it('the environment is PATH and the service\'s env only, nothing of the daemon\'s (as systemd gives a unit)', async () => {
    process.env.TANDEM_TEST_LEAK = 'daemon only';
    try {
      const logs: string[] = [];
      const svc = new ProcessService({ name: 'app', argv: ['/usr/bin/env'], env: { PORT: '8080' }, stopTimeoutMs: 1000, log: (l, m) => logs.push(`${l} ${m}`), onExit: () => undefined });
      await svc.start();
      await waitFor('env printed', async () => logs.some((l) => l.startsWith('info app: PORT=')), 5000);
      await waitFor('env exited', async () => !svc.running, 5000);
      expect(logs.filter((l) => l.startsWith('info app: ')).sort()).to.deep.equal(['info app: PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'info app: PORT=8080']);
    } finally {
      delete process.env.TANDEM_TEST_LEAK;
    }
  });

  it('a run that ends on its own is reported with its status and lifetime; children it left are killed', async () => {
    const { svc, ends } = make(['/bin/sh', '-c', 'sleep 30 & exit 3']);
    const pgid = await svc.start();
    await waitFor('the end', async () => ends.length === 1, 5000);
    const e = ends[0] as RunEnd;
    expect([e.code, e.signal, e.stopped]).to.deep.equal([3, null, false]);
    expect(e.endedAt).to.be.at.least(e.startedAt);
    expect(describeEnd(e)).to.match(/^exited with status 3 after \d+\.\d s$/);
    await waitFor('the orphan is gone', async () => (await groupMembers(pgid)).length === 0, 5000);
  });

  it('a process that ignores SIGTERM is killed after stop_timeout', async () => {
    const { svc, logs, ends } = make(['/bin/sh', '-c', 'trap "" TERM; echo trapped; while :; do sleep 0.1; done'], 300);
    const pid = await svc.start();
    await waitFor('trap set', async () => logs.includes('info app: trapped'), 5000);
    await svc.stop();
    expect(ends[0]?.signal).to.equal('SIGKILL');
    expect(logs.some((l) => l.includes('still running 0.3 s after SIGTERM: SIGKILL'))).to.equal(true);
    expect(alive(pid)).to.equal(false);
  });

  it('a binary that does not exist is refused at start, naming it', async () => {
    const { svc } = make(['/nonexistent/app']);
    let err: Error | null = null;
    await svc.start().catch((e: Error) => { err = e; });
    expect(String(err)).to.include('app: cannot start /nonexistent/app');
    expect(svc.running).to.equal(false);
  });
});
