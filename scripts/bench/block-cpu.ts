// CPU of the NBD servers while fio runs: the whole process tree (Node's
// libuv pool threads included) and, separately, its main thread, which for
// tandem is the JavaScript event loop: near 100 % there means the daemon is
// CPU-bound on one core whatever the machine has.
import { readFileSync } from 'node:fs';
import { CLK_TCK, parseStat, processTree, sampleTree } from './procfs.js';

export interface Watched {
  label: string; // "primary", "secondary", "nbdkit"
  pid: number; // the process started (maybe `ip netns exec` before it execs)
}

export interface CpuUse {
  label: string;
  totalPct: number; // % of one core
  mainThreadPct: number;
}

export interface CpuReport {
  servers: CpuUse[];
  machinePct: number; // every CPU busy (not idle, not iowait), % of one core: up to 100 x cores
  benchPct: number; // this benchmark's own process
}

// /proc/stat's first line: busy ticks of all CPUs together (user nice system idle iowait irq softirq steal).
function machineBusyTicks(): number {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return user + nice + system + irq + softirq + steal;
}

function threadTicks(pid: number): number {
  try {
    const s = parseStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
    return s?.ticks ?? Number.NaN;
  } catch {
    return Number.NaN;
  }
}

// The server itself: the first process of the tree that is not ip(8).
function serverPid(root: number): number {
  for (const pid of processTree(root)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'ip') return pid;
    } catch {
      // gone
    }
  }
  return root;
}

// Call once before the load; the returned function gives the use since then.
export function cpuMeter(watched: Watched[]): () => CpuReport {
  const t0 = process.hrtime.bigint();
  const machine0 = machineBusyTicks();
  const bench0 = process.cpuUsage();
  const start = watched.map((w) => {
    const pid = serverPid(w.pid);
    return { w, pid, total: sampleTree(w.pid).ticks, main: threadTicks(pid) };
  });
  return () => {
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const pct = (ticks: number): number => (100 * ticks) / CLK_TCK / seconds;
    const bench = process.cpuUsage(bench0);
    return {
      servers: start.map((s) => ({
        label: s.w.label,
        totalPct: pct(sampleTree(s.w.pid).ticks - s.total),
        mainThreadPct: pct(threadTicks(s.pid) - s.main),
      })),
      machinePct: pct(machineBusyTicks() - machine0),
      benchPct: (100 * (bench.user + bench.system)) / 1e6 / seconds,
    };
  };
}

// Waits (at most maxMs) for a second in which the whole machine is nearly
// idle, so a job does not start in the middle of another workload. The
// servers are idle between jobs; what is busy then is something else.
export async function waitForQuiet(maxMs: number, limitPct = 20): Promise<{ waitedMs: number; busyPct: number }> {
  const t0 = Date.now();
  for (;;) {
    const before = machineBusyTicks();
    await new Promise((r) => setTimeout(r, 1000));
    const busyPct = (100 * (machineBusyTicks() - before)) / CLK_TCK;
    if (busyPct < limitPct || Date.now() - t0 >= maxMs) return { waitedMs: Date.now() - t0, busyPct };
  }
}
