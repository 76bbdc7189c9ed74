// Process accounting from /proc: a daemon is the process we started and its
// descendants (keepalived's VRRP child), summed. CPU in clock ticks
// (utime + stime, plus cutime + cstime for helpers it has reaped, such as
// tandem's ip(8) and arping), memory as VmRSS and as PSS (which splits the
// pages a forked parent and child share instead of counting them twice).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export interface StatFields {
  ppid: number;
  state: string;
  ticks: number;
}

// /proc/PID/stat: the command may contain spaces and ')', so split after the last ')'.
export function parseStat(text: string): StatFields | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const f = text.slice(close + 2).trim().split(/\s+/);
  const num = (i: number): number => Number(f[i]);
  if (f.length < 15) return null;
  return { state: f[0] as string, ppid: num(1), ticks: num(11) + num(12) + num(13) + num(14) };
}

export function parseStatusKb(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function stat(pid: number): StatFields | null {
  const t = read(`/proc/${pid}/stat`);
  return t === null ? null : parseStat(t);
}

// A live process (a zombie has exited and only waits for its parent's wait()).
export function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== null && s.state !== 'Z';
}

export function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s !== null) parent.set(Number(name), s.ppid);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parent) if (ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
  }
  return tree.filter((p) => parent.has(p));
}

export interface TreeSample {
  pids: number[];
  comms: string[]; // process names, e.g. keepalived twice, or node and ip

  ticks: number;
  rssKb: number;
  pssKb: number;
}

export function sampleTree(root: number): TreeSample {
  const pids = processTree(root);
  let ticks = 0;
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of pids) {
    ticks += stat(pid)?.ticks ?? 0;
    rssKb += parseStatusKb(read(`/proc/${pid}/status`) ?? '', 'VmRSS');
    pssKb += parseStatusKb(read(`/proc/${pid}/smaps_rollup`) ?? '', 'Pss');
  }
  const comms = pids.map((pid) => (read(`/proc/${pid}/comm`) ?? '?').trim());
  return { pids, comms, ticks, rssKb, pssKb };
}

// Processes whose command line mentions a path (a lab's directory): after a
// lab is destroyed there must be none.
export function processesMentioning(path: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmd = read(`/proc/${name}/cmdline`);
    if (cmd !== null && cmd.includes(path) && alive(Number(name))) found.push(Number(name));
  }
  return found;
}
