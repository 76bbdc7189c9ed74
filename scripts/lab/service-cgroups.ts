// The cgroups that daemons started by a lab made for their services
// (lib/services/cgroup.ts names them tandem.PID.SERVICE.RUN below the
// daemon's own cgroup, which a lab's daemon inherits from the test process).
// A daemon killed with -9 leaves them; the lab removes them with the rest,
// and a suite checks that none of a dead daemon is left.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunCgroup, serviceCgroups } from '../../lib/services/cgroup.js';

const NAME = /^tandem\.(\d+)\./;

function base(): string | null {
  const c = serviceCgroups();
  return c.ok ? c.tree.base : null;
}

function named(): Array<{ pid: number; cg: RunCgroup }> {
  const dir = base();
  if (dir === null) return [];
  const out: Array<{ pid: number; cg: RunCgroup }> = [];
  for (const d of readdirSync(dir)) {
    const m = NAME.exec(d);
    if (m !== null) out.push({ pid: Number(m[1]), cg: new RunCgroup(join(dir, d)) });
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Ends every process in the cgroups of these daemons and removes the cgroups (waits up to 2 s for them to empty).
export function removeServiceCgroups(daemonPids: ReadonlySet<number>): void {
  const mine = named().filter((x) => daemonPids.has(x.pid));
  for (const { cg } of mine) cg.signal('SIGKILL');
  const until = Date.now() + 2000;
  for (const { cg } of mine) {
    while (!cg.remove() && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

// Service cgroups whose daemon is gone: left behind.
export function leftoverServiceCgroups(): string[] {
  return named().filter((x) => !alive(x.pid)).map((x) => x.cg.path);
}
