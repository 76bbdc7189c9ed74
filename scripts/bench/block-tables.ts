// The markdown tables `npm run bench:block` prints, and the bar the issue
// sets for protocol C against nbdkit.
import type { CpuReport } from './block-cpu.js';
import type { FioJob, FioResult } from './block-fio.js';
import { TARGET_LABELS, type TargetKey } from './block-targets.js';
import { fixed, ratio } from './stats.js';

export interface JobRun {
  fio: FioResult;
  cpu: CpuReport;
}

export interface TargetResult {
  key: TargetKey;
  jobs: Partial<Record<FioJob['key'], JobRun>>;
  notes: string[];
  error?: string;
}

// The bar: protocol C at least this fraction of nbdkit's numbers.
export const BAR = { rand4kIops: 0.5, seq1mMbPerS: 0.6 };

const get = (rs: TargetResult[], key: TargetKey, job: FioJob['key']): FioResult | undefined => rs.find((r) => r.key === key)?.jobs[job]?.fio;

export function resultTable(rs: TargetResult[]): string {
  const refIops = get(rs, 'nbdkit', 'rand4k')?.iops ?? Number.NaN;
  const refMb = get(rs, 'nbdkit', 'seq1m')?.mbPerS ?? Number.NaN;
  const rows = [
    '| target | 4K randwrite IOPS | p99 latency | ratio to nbdkit | 1M seqwrite MB/s | p99 | ratio to nbdkit |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rs) {
    const rand = r.jobs.rand4k?.fio;
    const seq = r.jobs.seq1m?.fio;
    const n = Number.NaN;
    rows.push(
      `| ${TARGET_LABELS[r.key]}${r.error === undefined ? '' : ' (FAILED)'} | ${fixed(rand?.iops ?? n, 0)} | ${fixed(rand?.p99Ms ?? n, 2)} ms | ${ratio(rand?.iops ?? n, refIops)} | ${fixed(seq?.mbPerS ?? n, 0)} | ${fixed(seq?.p99Ms ?? n, 1)} ms | ${ratio(seq?.mbPerS ?? n, refMb)} |`,
    );
  }
  return rows.join('\n');
}

// % of one core other processes may use during a job before it counts as disturbed.
export const OTHER_LOAD_LIMIT = 25;

// Busy CPU that is neither fio, nor a server, nor this benchmark: another
// workload on the machine, which makes the run's numbers suspect.
export function otherPct(run: JobRun): number {
  const ours = run.cpu.servers.reduce((sum, c) => sum + c.totalPct, 0) + run.fio.fioCpuPct + run.cpu.benchPct;
  return Math.max(0, run.cpu.machinePct - ours);
}

// CPU of fio and of each server process during each job (% of one core; the main thread is Node's event loop).
export function cpuTable(rs: TargetResult[], cores: number): string {
  const rows = [
    `| target | job | fio CPU % | server CPU %: whole process (main thread) | machine busy % (of ${cores * 100}) | other processes % |`,
    '|---|---|---|---|---|---|',
  ];
  for (const r of rs) {
    for (const [job, run] of Object.entries(r.jobs)) {
      if (run === undefined) continue;
      const servers = run.cpu.servers.map((c) => `${c.label} ${fixed(c.totalPct, 0)} (${fixed(c.mainThreadPct, 0)})`).join(', ');
      const jobName = job === 'rand4k' ? '4K randwrite' : '1M seqwrite';
      rows.push(`| ${TARGET_LABELS[r.key]} | ${jobName} | ${fixed(run.fio.fioCpuPct, 0)} | ${servers} | ${fixed(run.cpu.machinePct, 0)} | ${fixed(otherPct(run), 0)} |`);
    }
  }
  return rows.join('\n');
}

export function barVerdict(rs: TargetResult[]): string {
  const iops = (get(rs, 'C', 'rand4k')?.iops ?? Number.NaN) / (get(rs, 'nbdkit', 'rand4k')?.iops ?? Number.NaN);
  const mb = (get(rs, 'C', 'seq1m')?.mbPerS ?? Number.NaN) / (get(rs, 'nbdkit', 'seq1m')?.mbPerS ?? Number.NaN);
  if (!Number.isFinite(iops) || !Number.isFinite(mb)) return 'Bar (protocol C vs nbdkit): not measured (a target is missing or failed).';
  const part = (x: number, bar: number, what: string): string => `${what} ${x.toFixed(2)}x (bar ${bar}x: ${x >= bar ? 'met' : 'MISSED'})`;
  const met = iops >= BAR.rand4kIops && mb >= BAR.seq1mMbPerS;
  return `Bar (protocol C vs nbdkit): ${met ? 'MET' : 'NOT MET'}: ${part(iops, BAR.rand4kIops, '4K randwrite IOPS')}, ${part(mb, BAR.seq1mMbPerS, '1M seqwrite MB/s')}.`;
}
