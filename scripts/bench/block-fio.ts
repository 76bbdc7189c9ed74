// fio's nbd engine as the load of `npm run bench:block`: the two write jobs,
// run in a lab host's namespace against an NBD URI, and the numbers taken
// from fio's JSON report (IOPS, bandwidth, p99 completion latency, fio's CPU).
import type { Lab, LabHost } from '../lab/lab.js';

export interface FioJob {
  key: 'rand4k' | 'seq1m';
  rw: 'randwrite' | 'write';
  bs: string;
  iodepth: number;
}

export const FIO_JOBS: readonly FioJob[] = [
  { key: 'rand4k', rw: 'randwrite', bs: '4k', iodepth: 16 },
  { key: 'seq1m', rw: 'write', bs: '1m', iodepth: 16 },
];

export interface FioResult {
  iops: number;
  mbPerS: number; // decimal MB (10^6 bytes) per second
  p99Ms: number; // completion latency (clat), 99th percentile
  ioBytes: number;
  fioCpuPct: number; // fio's own user + system time, % of one core
}

// An NBD URI over a Unix socket (RFC-style nbd+unix, as libnbd parses it); nbdkit ignores the export name.
export function nbdUnixUri(socket: string, exportName: string): string {
  return `nbd+unix:///${exportName}?socket=${socket}`;
}

export function fioArgs(job: FioJob, uri: string, seconds: number, rampSeconds: number): string[] {
  return [
    'fio', `--name=${job.key}`, '--ioengine=nbd', `--uri=${uri}`, `--rw=${job.rw}`, `--bs=${job.bs}`,
    `--iodepth=${job.iodepth}`, '--numjobs=1', '--time_based', `--runtime=${seconds}`, `--ramp_time=${rampSeconds}`,
    '--output-format=json',
  ];
}

interface FioJson {
  jobs?: Array<{
    error?: number;
    usr_cpu?: number;
    sys_cpu?: number;
    write?: { iops?: number; bw_bytes?: number; io_bytes?: number; clat_ns?: { percentile?: Record<string, number> } };
  }>;
}

// fio's nbd engine prints "fio: connected to NBD server" on stdout before the JSON.
export function parseFioOutput(stdout: string): FioResult {
  const start = stdout.search(/^\{/m);
  if (start < 0) throw new Error(`fio printed no JSON report: ${stdout.slice(0, 300)}`);
  const d = JSON.parse(stdout.slice(start)) as FioJson;
  const j = d.jobs?.[0];
  const w = j?.write;
  if (j === undefined || w === undefined) throw new Error('fio report has no job with write statistics');
  if ((j.error ?? 0) !== 0) throw new Error(`fio job ended with error ${j.error}`);
  const p99 = w.clat_ns?.percentile?.['99.000000'];
  return {
    iops: w.iops ?? Number.NaN,
    mbPerS: (w.bw_bytes ?? Number.NaN) / 1e6,
    p99Ms: p99 === undefined ? Number.NaN : p99 / 1e6,
    ioBytes: w.io_bytes ?? 0,
    fioCpuPct: (j.usr_cpu ?? Number.NaN) + (j.sys_cpu ?? Number.NaN),
  };
}

export async function runFio(lab: Lab, h: LabHost, job: FioJob, uri: string, seconds: number, rampSeconds: number): Promise<FioResult> {
  const r = await lab.exec(h, fioArgs(job, uri, seconds, rampSeconds), { reject: false, timeoutMs: (seconds + rampSeconds + 60) * 1000 });
  if (r.exitCode !== 0) {
    // What fio says before its JSON report (and on stderr) is the reason; the report itself is counters.
    const said = `${r.stderr}\n${r.stdout.split(/^\{/m)[0] ?? ''}`.trim();
    throw new Error(`fio ${job.key} against ${uri} exited ${r.exitCode ?? r.signal}: ${said.slice(-1500) || '(no message)'}`);
  }
  const res = parseFioOutput(r.stdout);
  if (res.ioBytes === 0) throw new Error(`fio ${job.key} against ${uri} wrote nothing: ${r.stderr.trim().slice(-500)}`);
  return res;
}
