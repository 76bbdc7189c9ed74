// Services left running by a daemon that died without stopping them (kill -9,
// a crash outside systemd, whose cgroup would have ended them). Which runs are
// live is kept in the state directory; at the next start, before the election,
// they are ended, as leftover VIPs are: this node is not MASTER yet.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceConfig } from '../config/types.js';

export interface LiveRun {
  name: string;
  kind: 'unit' | 'command' | 'oneshot';
  pgid: number | null;
  since: string | null; // the process's start time (/proc/PID/stat field 22): a reused pid is not ours
  cgroup?: string; // a command run's cgroup (cgroup.ts): what left its process group is found there
  // A unit or oneshot as it was run: it is stopped so even when the configuration no longer has it.
  service?: ServiceConfig;
}

const FILE = 'services.json';

// The start time of a process in clock ticks since boot, or null when it is gone.
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

// The live processes of a process group, from /proc (field 5 of stat is the group). A pgid is not given to a
// new group while any member of the old one lives, so members found are the old group's.
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] !== 'Z' && Number(f[2]) === pgid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export class RunLedger {
  private readonly runs = new Map<string, LiveRun>(); // this daemon's, by service
  // Earlier daemons' runs not ended yet: apart from this daemon's, so a new run of the same service never replaces one.
  private leftovers: LiveRun[] = [];

  constructor(private readonly stateDir: string) {}

  // What the previous daemon left behind. They stay in the ledger until leftoverEnded() (a daemon that dies
  // while ending them, or fails to, leaves them for the next start).
  takeLeftovers(): LiveRun[] {
    let list: LiveRun[] = [];
    try {
      const v = JSON.parse(readFileSync(join(this.stateDir, FILE), 'utf8')) as unknown;
      if (Array.isArray(v)) list = v.filter((r): r is LiveRun => typeof r === 'object' && r !== null && typeof (r as LiveRun).name === 'string');
    } catch {
      // none, or unreadable: nothing known to end
    }
    this.leftovers = list;
    this.save();
    return list;
  }

  leftoverEnded(run: LiveRun): void {
    const n = this.leftovers.length;
    this.leftovers = this.leftovers.filter((r) => r !== run);
    if (this.leftovers.length !== n) this.save();
  }

  started(cfg: ServiceConfig, pgid: number | null, cgroup?: string | null): void {
    const run: LiveRun = { name: cfg.name, kind: cfg.kind, pgid, since: pgid === null ? null : processStart(pgid), ...(cgroup ? { cgroup } : {}) };
    // A command's run is its process group; a unit or oneshot keeps how it is stopped (no env: commands only).
    this.runs.set(cfg.name, cfg.kind === 'command' ? run : { ...run, service: cfg });
    this.save();
  }

  ended(name: string): void {
    if (this.runs.delete(name)) this.save();
  }

  private save(): void {
    const path = join(this.stateDir, FILE);
    try {
      writeFileSync(`${path}.tmp`, `${JSON.stringify([...this.leftovers, ...this.runs.values()])}\n`, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    } catch {
      // the state directory is checked at start; a failed write only loses crash cleanup
    }
  }
}
