// A managed service that tandem runs itself (issue 5: `command: [...]`): one
// process in a process group and a cgroup of its own (cgroup.ts), its output
// line by line to the log (service-output.ts: lines capped, at most so many a
// second), stopped as a whole (SIGTERM, then SIGKILL after stop_timeout), so
// children it forked never outlive it, also those that left its process
// group. Each run's end is reported with how long it lived, for the restart
// budget (restart-policy.ts) to judge. Thin adapter: no policy here.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { RunCgroup, ServiceCgroups } from './cgroup.js';
import { logOutput } from './service-output.js';

// The run waits in a shell until the daemon has put it in its cgroup, so
// nothing it forks is born outside; then the shell becomes the command.
// Killed with the daemon before that (stdin closed), it exits instead.
const CGROUP_GATE = 'read -r _ || exit 125; exec "$@" </dev/null';
const EMPTY_WAIT_MS = 2000; // after SIGKILL, how long the cgroup may take to empty

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
    const [cmd, ...args] = this.o.argv;
    if (cmd === undefined) throw new Error(`${this.o.name}: empty command`);
    const cg = this.makeCgroup(cmd);
    const child = spawn(cg === null ? cmd : '/bin/sh', cg === null ? args : ['-c', CGROUP_GATE, this.o.name, cmd, ...args], {
      detached: true, // a process group of its own: stopped as a whole
      stdio: [cg === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...this.o.env },
      ...(this.o.uid !== undefined ? { uid: this.o.uid } : {}),
      ...(this.o.gid !== undefined ? { gid: this.o.gid } : {}),
    });
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
    const joined = cg !== null && this.enter(cg, child);
    this.child = child;
    this.cg = joined ? cg : null;
    if (cg !== null && !joined) cg.remove();
    this.startedAt = Date.now();
    this.stopping = false;
    logOutput(this.o.name, child.stdout, child.stderr, this.o.log);
    this.exited = new Promise<void>((res) => {
      // 'exit', not 'close': a grandchild holding the pipes open must not hide the end of the run.
      child.once('exit', (code, signal) => {
        this.child = null;
        // The leader is gone; anything it left in its group or its cgroup goes with it.
        this.killGroup(child.pid, 'SIGKILL');
        if (joined) cg.signal('SIGKILL');
        this.o.onExit({ code, signal, startedAt: this.startedAt, endedAt: Date.now(), stopped: this.stopping });
        void this.emptied(joined ? cg : null).then(res);
      });
    });
    return child.pid as number;
  }

  // The run's cgroup, or null when it cannot have one (said in the log: it is then stopped by its group alone).
  private makeCgroup(cmd: string): RunCgroup | null {
    if (this.o.cgroups === undefined) return null;
    // The gate's shell would report a missing binary only by exiting 127: refused here as a spawn would be.
    try {
      accessSync(cmd, constants.X_OK);
    } catch (e) {
      throw new Error(`${this.o.name}: cannot start ${cmd}: ${(e as Error).message}`);
    }
    try {
      return this.o.cgroups.create(this.o.name);
    } catch (e) {
      this.o.log('warn', `${this.o.name}: ${(e as Error).message}; this run is stopped by its process group alone`);
      return null;
    }
  }

  // Puts the gated run in its cgroup, then lets it go on (it goes on also when that failed: stopped by group then).
  private enter(cg: RunCgroup, child: ChildProcess): boolean {
    let joined = true;
    try {
      cg.join(child.pid as number);
    } catch (e) {
      joined = false;
      this.o.log('warn', `${this.o.name}: cannot move pid ${child.pid} into ${cg.path}: ${(e as Error).message}; this run is stopped by its process group alone`);
    }
    child.stdin?.on('error', () => {}); // a run killed at once closes its end first
    child.stdin?.end('\n');
    return joined;
  }

  // Resolves once the run's cgroup is empty and removed (or EMPTY_WAIT_MS after the SIGKILL, said in the log).
  private async emptied(cg: RunCgroup | null): Promise<void> {
    if (cg === null) return;
    const until = Date.now() + EMPTY_WAIT_MS;
    while (cg.members().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (!cg.remove()) this.o.log('warn', `${this.o.name}: ${cg.path} still holds ${cg.members().join(', ') || 'processes'} ${EMPTY_WAIT_MS / 1000} s after SIGKILL; not removed`);
    if (this.cg === cg) this.cg = null;
  }

  // SIGTERM to the group, SIGKILL after stop_timeout; resolves when the run has ended.
  async stop(): Promise<void> {
    await this.spawning?.catch(() => {});
    const child = this.child;
    if (child === null) return;
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
