// A managed service that tandem runs itself (issue 5: `command: [...]`): one
// process in a process group and a cgroup of its own (cgroup.ts), its output
// line by line to the log (service-output.ts: lines capped, at most so many a
// second), stopped as a whole (SIGTERM, then SIGKILL after stop_timeout), so
// children it forked never outlive it, also those that left its process
// group. Each run's end is reported with how long it lived, for the restart
// budget (restart-policy.ts) to judge. Thin adapter: no policy here.
import { spawn, type ChildProcess } from 'node:child_process';
import type { RunCgroup, ServiceCgroups } from './cgroup.js';
import { logOutput } from './service-output.js';

export interface ProcessServiceOptions {
  name: string;
  argv: readonly string[]; // [0] absolute path
  uid?: number;
  gid?: number;
  env?: Readonly<Record<string, string>>;
  stopTimeoutMs: number;
  cgroups?: ServiceCgroups; // where each run's cgroup is made; without, a run is stopped by its process group alone
  log: (level: 'info' | 'warn', line: string) => void;
  // A run ended: exit code or signal, when it started and ended, and whether we stopped it.
  onExit: (end: RunEnd) => void;
}

export interface RunEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  startedAt: number;
  endedAt: number;
  stopped: boolean; // ended by stop(), not on its own
}

export function describeEnd(e: RunEnd): string {
  const lived = `after ${((e.endedAt - e.startedAt) / 1000).toFixed(1)} s`;
  if (e.stopped) return `stopped ${lived}`;
  return e.signal !== null ? `killed by ${e.signal} ${lived}` : `exited with status ${e.code ?? '?'} ${lived}`;
}

export class ProcessService {
  private child: ChildProcess | null = null;
  private cg: RunCgroup | null = null; // the run's cgroup, until it is removed
  private startedAt = 0;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | null = null; // the stop in progress: a second stop() waits for the same end
  private spawning: Promise<unknown> | null = null; // a start waiting for its process: stop() ends what it spawns

  constructor(private readonly o: ProcessServiceOptions) {}

  get running(): boolean {
    return this.child !== null;
  }

  // stop() was called and the run has not ended yet (it may outlive stop_timeout by the SIGKILL).
  get isStopping(): boolean {
    return this.child !== null && this.stopping;
  }

  // The process group id (the leader's pid), or null when not running.
  get pgid(): number | null {
    return this.child?.pid ?? null;
  }

  // The run's cgroup directory, or null (no cgroup support, or not running).
  get cgroup(): string | null {
    return this.child === null ? null : this.cg?.path ?? null;
  }

  // Starts a run; resolves once the process exists (spawn errors reject: a missing binary, a bad uid).
  async start(): Promise<number> {
    if (this.child !== null) return this.child.pid as number;
    await this.exited; // what is left of the last run (its cgroup emptying) ends first
    const [cmd, ...args] = this.o.argv;
    if (cmd === undefined) throw new Error(`${this.o.name}: empty command`);
    const run = (): ChildProcess => spawn(cmd, args, {
      detached: true, // a process group of its own: stopped as a whole where there is no cgroup
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...this.o.env },
      ...(this.o.uid !== undefined ? { uid: this.o.uid } : {}),
      ...(this.o.gid !== undefined ? { gid: this.o.gid } : {}),
    });
    const { child, cg } = this.spawnRun(run);
    this.spawning = new Promise<void>((res, rej) => {
      child.once('spawn', res);
      child.once('error', (e) => rej(new Error(`${this.o.name}: cannot start ${cmd}: ${e.message}`)));
    });
    try {
      await this.spawning;
    } catch (e) {
      cg?.remove();
      throw e;
    } finally {
      this.spawning = null;
    }
    this.child = child;
    this.cg = cg;
    this.startedAt = Date.now();
    this.stopping = false;
    logOutput(this.o.name, child.stdout, child.stderr, this.o.log);
    this.exited = new Promise<void>((res) => {
      // 'exit', not 'close': a grandchild holding the pipes open must not hide the end of the run.
      child.once('exit', (code, signal) => {
        this.child = null;
        void this.rest(child, cg).then(() => {
          this.o.onExit({ code, signal, startedAt: this.startedAt, endedAt: Date.now(), stopped: this.stopping });
          res();
        });
      });
    });
    return child.pid as number;
  }

  // The run, born in a cgroup of its own where there is one (said in the log when it cannot be: it is then
  // stopped by its process group alone).
  private spawnRun(run: () => ChildProcess): { child: ChildProcess; cg: RunCgroup | null } {
    const tree = this.o.cgroups;
    if (tree === undefined) return { child: run(), cg: null };
    let cg: RunCgroup;
    try {
      cg = tree.create(this.o.name);
    } catch (e) {
      this.o.log('warn', `${this.o.name}: ${(e as Error).message}; this run is stopped by its process group alone`);
      return { child: run(), cg: null };
    }
    try {
      return { child: tree.spawnInside(cg, run), cg };
    } catch (e) {
      cg.remove();
      this.o.log('warn', `${this.o.name}: cannot start in ${cg.path}: ${(e as Error).message}; this run is stopped by its process group alone`);
      return { child: run(), cg: null };
    }
  }

  // The leader is gone; what it left goes too, as systemd ends a unit whose main process exited: a stop in
  // progress has sent SIGTERM and SIGKILLs at stop_timeout; a run that ended on its own gets SIGTERM now and
  // SIGKILL after stop_timeout. Resolves once the cgroup is empty and removed. Without a cgroup, the process
  // group's members are killed at once.
  private async rest(child: ChildProcess, cg: RunCgroup | null): Promise<void> {
    if (cg === null) {
      this.killGroup(child.pid, 'SIGKILL');
      return;
    }
    const left = await cg.end(this.o.stopTimeoutMs, this.stopping);
    if (!cg.remove()) this.o.log('warn', `${this.o.name}: ${cg.path} not removed: ${left.length > 0 ? `pids ${left.join(', ')} still in it after SIGKILL` : 'a cgroup below it is busy'}`);
    if (this.cg === cg) this.cg = null;
  }

  // SIGTERM to every process of the run, SIGKILL after stop_timeout; resolves when the run has ended (its cgroup
  // empty), also when only what its leader left is still ending.
  async stop(): Promise<void> {
    await this.spawning?.catch(() => {});
    const child = this.child;
    if (child === null) return this.exited;
    this.stopped ??= this.end(child).finally(() => (this.stopped = null));
    return this.stopped;
  }

  private async end(child: ChildProcess): Promise<void> {
    this.stopping = true;
    this.signalRun(child, 'SIGTERM');
    const killer = setTimeout(() => {
      this.o.log('warn', `${this.o.name}: still running ${this.o.stopTimeoutMs / 1000} s after SIGTERM: SIGKILL`);
      this.signalRun(child, 'SIGKILL');
    }, this.o.stopTimeoutMs);
    await this.exited;
    clearTimeout(killer);
  }

  // Every process of the run once: its cgroup's (systemd's KillMode=control-group: also those that left the
  // group), else its process group's.
  private signalRun(child: ChildProcess, sig: NodeJS.Signals): void {
    if (this.cg !== null) this.cg.signal(sig);
    else this.killGroup(child.pid, sig);
  }

  private killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone already
    }
  }
}
