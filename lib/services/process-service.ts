// A managed service that tandem runs itself (issue 5: `command: [...]`): one
// process in a process group of its own, its output line by line to the log
// (service-output.ts: lines capped, at most so many a second),
// stopped as a group (SIGTERM, then SIGKILL after stop_timeout), so children
// it forked never outlive it. Each run's end is reported with how long it
// lived, for the restart budget (restart-policy.ts) to judge. Thin adapter:
// no policy here.
import { spawn, type ChildProcess } from 'node:child_process';
import { logOutput } from './service-output.js';

export interface ProcessServiceOptions {
  name: string;
  argv: readonly string[]; // [0] absolute path
  uid?: number;
  gid?: number;
  env?: Readonly<Record<string, string>>;
  stopTimeoutMs: number;
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

  // Starts a run; resolves once the process exists (spawn errors reject: a missing binary, a bad uid).
  async start(): Promise<number> {
    if (this.child !== null) return this.child.pid as number;
    const [cmd, ...args] = this.o.argv;
    if (cmd === undefined) throw new Error(`${this.o.name}: empty command`);
    const child = spawn(cmd, args, {
      detached: true, // a process group of its own: stopped as a whole
      stdio: ['ignore', 'pipe', 'pipe'],
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
    } finally {
      this.spawning = null;
    }
    this.child = child;
    this.startedAt = Date.now();
    this.stopping = false;
    logOutput(this.o.name, child.stdout, child.stderr, this.o.log);
    this.exited = new Promise<void>((res) => {
      // 'exit', not 'close': a grandchild holding the pipes open must not hide the end of the run.
      child.once('exit', (code, signal) => {
        this.child = null;
        // The leader is gone; anything it left in its group goes with it.
        this.killGroup(child.pid, 'SIGKILL');
        this.o.onExit({ code, signal, startedAt: this.startedAt, endedAt: Date.now(), stopped: this.stopping });
        res();
      });
    });
    return child.pid as number;
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
    this.killGroup(child.pid, 'SIGTERM');
    const killer = setTimeout(() => {
      this.o.log('warn', `${this.o.name}: still running ${this.o.stopTimeoutMs / 1000} s after SIGTERM: SIGKILL`);
      this.killGroup(child.pid, 'SIGKILL');
    }, this.o.stopTimeoutMs);
    await this.exited;
    clearTimeout(killer);
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
