// Services left running by a daemon that died without stopping them (kill -9,
// a crash outside systemd, whose cgroup would have ended them). Which runs are
// live is kept in the state directory; at the next start, before the election,
// they are ended, as leftover VIPs are: this node is not MASTER yet.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LiveRun {
  name: string;
  kind: 'unit' | 'command' | 'oneshot';
  pgid: number | null;
  since: string | null; // the process's start time (/proc/PID/stat field 22): a reused pid is not ours
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

export class RunLedger {
  private readonly runs = new Map<string, LiveRun>();

  constructor(private readonly stateDir: string) {}

  // What the previous daemon left behind; the ledger starts empty.
  takeLeftovers(): LiveRun[] {
    let list: LiveRun[] = [];
    try {
      const v = JSON.parse(readFileSync(join(this.stateDir, FILE), 'utf8')) as unknown;
      if (Array.isArray(v)) list = v.filter((r): r is LiveRun => typeof r === 'object' && r !== null && typeof (r as LiveRun).name === 'string');
    } catch {
      // none, or unreadable: nothing known to end
    }
    this.save();
    return list;
  }

  started(name: string, kind: LiveRun['kind'], pgid: number | null): void {
    this.runs.set(name, { name, kind, pgid, since: pgid === null ? null : processStart(pgid) });
    this.save();
  }

  ended(name: string): void {
    if (this.runs.delete(name)) this.save();
  }

  private save(): void {
    const path = join(this.stateDir, FILE);
    try {
      writeFileSync(`${path}.tmp`, `${JSON.stringify([...this.runs.values()])}\n`, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    } catch {
      // the state directory is checked at start; a failed write only loses crash cleanup
    }
  }
}
