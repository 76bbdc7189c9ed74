// Each run of a `command` service gets a cgroup of its own (cgroup v2), as
// systemd gives each unit one: a child that leaves the service's process
// group (setsid, a double fork) is still found, and stopped with the rest,
// also after a crash of the daemon. The cgroups are made below the daemon's
// own (tandem.service with Delegate=yes under systemd). Where there is no
// cgroup2 hierarchy, or the daemon may not make cgroups in its own, services
// are stopped by process group alone, and the daemon says so at start.
// The parsing is pure; the rest is a thin adapter over the cgroup2 files.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';

// The mount point of the cgroup2 hierarchy, from /proc/self/mountinfo (proc(5): the fields after " - " are
// the file system type and source), or null when none is mounted (a cgroup v1-only host).
export function cgroup2Mount(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] !== 'cgroup2') continue;
    const point = pre?.split(' ')[4];
    if (point !== undefined) return point.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return null;
}

// This process's cgroup v2 path ("0::/system.slice/tandem.service" in /proc/self/cgroup), or null.
export function ownCgroup(procCgroup: string): string | null {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line === undefined ? null : line.slice(3) || '/';
}

const EMPTY_WAIT_MS = 2000; // after SIGKILL, how long a cgroup may take to empty

export const CGROUP2_SUPER_MAGIC = 0x63677270; // statfs(2) f_type of a cgroup2 file system (linux/magic.h)

// The cgroup.procs (or cgroup.threads) text as pids.
export function parsePids(text: string): number[] {
  return text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

// A run's cgroup: its directory, and what the daemon does with it. The
// service may make cgroups below it (a container runtime, LXC's monitor and
// payload): every process of the subtree counts as the run's, as systemd
// counts a unit's whole subtree.
export class RunCgroup {
  constructor(readonly path: string) {}

  // Moves a process in (its children forked from now on are born inside).
  join(pid: number): void {
    writeFileSync(join(this.path, 'cgroup.procs'), `${pid}\n`);
  }

  // The processes in it and in every cgroup below it; none once it is gone.
  members(): number[] {
    return this.subtree().flatMap((dir) => {
      try {
        return parsePids(readFileSync(join(dir, 'cgroup.procs'), 'utf8'));
      } catch {
        return []; // removed meanwhile
      }
    });
  }

  // Sends `sig` to every process of the subtree; SIGKILL through cgroup.kill (Linux 5.14: the whole subtree, and no
  // fork escapes it). Never to this process, should it be inside (ServiceCgroups.spawnInside could not move it out).
  signal(sig: NodeJS.Signals): void {
    const members = this.members();
    const self = members.includes(process.pid);
    if (sig === 'SIGKILL' && !self && this.killAll()) return;
    for (const pid of members) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  }

  // Every process of the subtree ended as a unit's stop ends them: SIGTERM (unless `termSent`: a stop sent it
  // already), SIGKILL once `stopTimeoutMs` passed, then EMPTY_WAIT_MS for it to empty. The pids still in it.
  async end(stopTimeoutMs: number, termSent = false): Promise<number[]> {
    if (this.members().length === 0) return [];
    if (!termSent) this.signal('SIGTERM');
    await this.emptyWithin(stopTimeoutMs);
    if (this.members().length > 0) {
      this.signal('SIGKILL');
      await this.emptyWithin(EMPTY_WAIT_MS);
    }
    return this.members();
  }

  private async emptyWithin(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.members().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  private killAll(): boolean {
    try {
      writeFileSync(join(this.path, 'cgroup.kill'), '1\n');
      return true;
    } catch {
      return false; // an older kernel: each member in turn
    }
  }

  // Removes it and the cgroups the service made below it, deepest first, once empty; false while a process is
  // still in one (or one could not be removed).
  remove(): boolean {
    if (!existsSync(this.path)) return true;
    for (const dir of this.subtree().reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        return false;
      }
    }
    return true;
  }

  // This cgroup and every one below it, parents before children.
  private subtree(): string[] {
    const out: string[] = [];
    const walk = (dir: string): void => {
      out.push(dir);
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
    };
    walk(this.path);
    return out;
  }
}

export type CgroupSupport = { ok: true; tree: ServiceCgroups } | { ok: false; why: string };

// Where the runs' cgroups are made: below the daemon's own.
export class ServiceCgroups {
  private runs = 0;

  constructor(readonly base: string) {}

  // Looks once at the running system: a cgroup2 hierarchy, our cgroup in it, and room to make cgroups there.
  static detect(): CgroupSupport {
    let mount: string | null;
    let own: string | null;
    try {
      mount = cgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
      own = ownCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
    } catch (e) {
      return { ok: false, why: `cannot read this process's mounts or cgroup (${(e as Error).message})` };
    }
    if (mount === null) return { ok: false, why: 'no cgroup2 file system is mounted' };
    if (own === null) return { ok: false, why: 'this process is in no cgroup v2 (no "0::" line in /proc/self/cgroup)' };
    // A cgroup holding a process enables no controller for its children (cgroup v2's "no internal processes"),
    // so ours can always take a child that holds processes; making one is tried at each start (create()).
    const base = join(mount, own.slice(1)); // "/" is the hierarchy's root: the mount point itself
    if (!existsSync(join(base, 'cgroup.procs'))) return { ok: false, why: `the daemon's cgroup ${base} is not visible here` };
    // Read-only (a container's default) or not ours to change: found now, not at each start.
    const probe = join(base, `tandem.${process.pid}.probe`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
    } catch (e) {
      return { ok: false, why: `cannot make cgroups in ${base} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
    return { ok: true, tree: new ServiceCgroups(base) };
  }

  // Runs `spawn` (Node's spawn: fork and exec before it returns) with this process inside `cg`, so the child
  // is born there and nothing it forks is ever outside; exec errors are the spawn's own. This process is moved
  // back at once. Throws, having spawned nothing, when it cannot move in.
  spawnInside<T>(cg: RunCgroup, spawn: () => T): T {
    cg.join(process.pid);
    try {
      return spawn();
    } finally {
      // Back home. Should that fail, RunCgroup.signal never signals this process, and the run's cgroup stays.
      try {
        writeFileSync(join(this.base, 'cgroup.procs'), `${process.pid}\n`);
      } catch {
        // the next spawnInside tries again
      }
    }
  }

  // A new, empty cgroup for one run of `service`; throws with the reason when it cannot be made.
  create(service: string): RunCgroup {
    const path = join(this.base, `tandem.${process.pid}.${service}.${++this.runs}`);
    try {
      mkdirSync(path);
    } catch (e) {
      throw new Error(`cannot make the cgroup ${path}: ${(e as Error).message}`);
    }
    return new RunCgroup(path);
  }
}

let detected: CgroupSupport | null = null;

// The daemon's one look at cgroup support (made at first use).
export function serviceCgroups(): CgroupSupport {
  detected ??= ServiceCgroups.detect();
  return detected;
}
