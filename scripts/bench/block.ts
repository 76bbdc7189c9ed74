// `npm run bench:block`: write throughput and latency of tandem's replicated
// block volume over NBD, against nbdkit's file plugin on the same machine.
// fio's nbd engine runs two jobs (4 KiB random write and 1 MiB sequential
// write, iodepth 16, fixed time) against five targets, each in a fresh lab:
// nbdkit, QEMU's quorum mirror to a peer, tandem with its peer down, tandem
// with a peer under protocol C and under protocol A. The CPU of the servers,
// of fio and of the whole machine is measured during each job; a job
// disturbed by other processes (a shared machine) is run again. With
// --cache cold the images' pages are dropped from the page cache before each
// job (ext4 makes a 4 KiB write into a large cached folio several times
// dearer than into a fresh page). Progress goes to stderr, the tables to
// stdout. Needs root.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { Lab, REPO_ROOT } from '../lab/lab.js';
import { cpuMeter, waitForQuiet } from './block-cpu.js';
import { FIO_JOBS, runFio } from './block-fio.js';
import { barVerdict, cpuTable, OTHER_LOAD_LIMIT, otherPct, resultTable, type TargetResult } from './block-tables.js';
import { compareImages, nodesFor, prepare, TARGET_KEYS, TARGET_LABELS, type TargetKey, type TargetOptions } from './block-targets.js';
import { imagePath } from '../lab/replication-config.js';
import { destroyAndCheck } from './cleanup.js';
import { fixed } from './stats.js';

const progress = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

const UNITS: Record<string, number> = { MiB: 2 ** 20, GiB: 2 ** 30 };

function options() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: process.env.BENCH_BLOCK_SECONDS ?? '10' },
      ramp: { type: 'string', default: '2' },
      targets: { type: 'string', default: TARGET_KEYS.join(',') },
      size: { type: 'string', default: '1GiB' },
      'al-extents': { type: 'string' },
      'sync-timeout': { type: 'string', default: '600' },
      retries: { type: 'string', default: '3' },
      'quiet-wait': { type: 'string', default: '120' },
      'keep-logs': { type: 'string' },
      cache: { type: 'string', default: 'warm' },
      jobs: { type: 'string', default: FIO_JOBS.map((j) => j.key).join(',') },
    },
  });
  const m = /^(\d+)(MiB|GiB)$/.exec(values.size);
  if (m === null) throw new Error(`--size: a whole number of MiB or GiB such as 1GiB, not ${values.size}`);
  const targets = values.targets.split(',') as TargetKey[];
  for (const t of targets) if (!TARGET_KEYS.includes(t)) throw new Error(`--targets: a list of ${TARGET_KEYS.join(', ')}, not ${t}`);
  const seconds = Number(values.seconds);
  const ramp = Number(values.ramp);
  if (!(seconds >= 1) || !(ramp >= 0)) throw new Error('--seconds must be at least 1 and --ramp at least 0');
  const cache = values.cache as 'warm' | 'cold';
  if (cache !== 'warm' && cache !== 'cold') throw new Error(`--cache: warm (images stay in the page cache as written) or cold (their pages dropped before each job), not ${cache}`);
  const alExtents = values['al-extents'] === undefined ? undefined : Number(values['al-extents']);
  if (alExtents !== undefined && !(Number.isInteger(alExtents) && alExtents >= 7 && alExtents <= 65534)) {
    throw new Error(`--al-extents: an integer 7..65534 (tandem's al_extents), not ${values['al-extents']}`);
  }
  const jobKeys = values.jobs.split(',');
  const jobs = FIO_JOBS.filter((j) => jobKeys.includes(j.key));
  if (jobs.length !== jobKeys.length) throw new Error(`--jobs: a list of ${FIO_JOBS.map((j) => j.key).join(', ')}, not ${values.jobs}`);
  return {
    cache,
    jobs,
    seconds,
    ramp,
    targets,
    size: values.size,
    alExtents,
    sizeBytes: Number(m[1]) * (UNITS[m[2] as string] as number),
    syncTimeoutS: Number(values['sync-timeout']),
    retries: Number(values.retries),
    quietWaitS: Number(values['quiet-wait']),
    keepLogs: values['keep-logs'],
  };
}

const firstLine = (cmd: string[]): string => {
  try {
    return execFileSync(cmd[0] as string, cmd.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim() ?? '?';
  } catch {
    return 'not installed';
  }
};

function preflight(targets: TargetKey[]): void {
  if (process.getuid?.() !== 0) throw new Error('the benchmark builds network namespaces and needs root');
  const tools = ['fio', 'dd', 'cmp', 'ip', ...(targets.includes('nbdkit') ? ['nbdkit'] : []), ...(targets.includes('qemu') ? ['qemu-nbd', 'ss'] : [])];
  for (const tool of tools) {
    if (firstLine(['sh', '-c', `command -v ${tool}`]) === 'not installed') throw new Error(`${tool} is not installed (run scripts/setup.sh)`);
  }
  if (!firstLine(['fio', '--enghelp=nbd']).includes('uri')) throw new Error('this fio has no nbd engine (Debian\'s fio package has it)');
}

function machineFacts(cache: 'warm' | 'cold'): string {
  const commit = firstLine(['git', '-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = firstLine(['git', '-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no']) !== '' ? ' (with uncommitted changes)' : '';
  const fs = firstLine(['sh', '-c', `df -T ${tmpdir()} | tail -1 | awk '{print $2}'`]);
  return [
    `- commit ${commit}${dirty}`,
    `- ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), Linux ${release()}, ${fixed(Number(readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/)?.[1]) / 2 ** 20, 1)} GiB RAM`,
    `- images on ${fs} (${tmpdir()}), written in full with zeroes before each server starts; ${cache === 'warm' ? 'their pages stay cached as written (warm)' : 'their pages dropped from the page cache before each job (cold)'}`,
    `- ${firstLine(['fio', '--version'])}, ${firstLine(['nbdkit', '--version'])}, ${firstLine(['qemu-nbd', '--version'])}, Node.js ${process.version}`,
  ].join('\n');
}

// The tail of every log in the lab, when a target fails: what the daemons said.
function logTails(lab: Lab): string {
  const out: string[] = [];
  for (const h of lab.hosts) {
    if (!existsSync(h.dir)) continue;
    for (const f of readdirSync(h.dir).filter((n) => n.endsWith('.log'))) {
      const lines = readFileSync(join(h.dir, f), 'utf8').trimEnd().split('\n');
      out.push(`--- ${h.name}/${f} (last ${Math.min(40, lines.length)} of ${lines.length} lines)`, ...lines.slice(-40));
    }
  }
  return out.join('\n');
}

function keepLogs(lab: Lab, dir: string): void {
  for (const h of lab.hosts) {
    if (!existsSync(h.dir)) continue;
    mkdirSync(join(dir, h.name), { recursive: true });
    for (const f of readdirSync(h.dir).filter((n) => n.endsWith('.log') || n.endsWith('.yaml'))) cpSync(join(h.dir, f), join(dir, h.name, f));
  }
}

// GNU dd with iflag=nocache and count=0 asks the kernel to drop the whole file from the page cache (POSIX_FADV_DONTNEED).
async function dropCachedImages(lab: Lab): Promise<void> {
  for (const h of lab.hosts) {
    const img = imagePath(h);
    if (existsSync(img)) await execa('dd', [`if=${img}`, 'iflag=nocache', 'count=0', 'status=none']);
  }
}

async function runTarget(key: TargetKey, o: ReturnType<typeof options>): Promise<TargetResult> {
  const res: TargetResult = { key, jobs: {}, notes: [] };
  const topts: TargetOptions = { sizeBytes: o.sizeBytes, size: o.size, syncTimeoutS: o.syncTimeoutS, progress, ...(o.alExtents === undefined ? {} : { alExtents: o.alExtents }) };
  const lab = await Lab.create(nodesFor(key));
  try {
    progress(`${TARGET_LABELS[key]}: starting (lab ${lab.prefix})`);
    const p = await prepare(lab, key, topts);
    for (const n of p.notes) progress(`  ${n}`);
    res.notes.push(...p.notes);
    for (const job of o.jobs) {
      // The machine may be shared: a job during which other processes took CPU is run again (up to --retries times).
      for (let attempt = 0; ; attempt++) {
        await execa('sync'); // every job starts with nothing dirty in the page cache
        if (o.cache === 'cold') await dropCachedImages(lab);
        const quiet = await waitForQuiet(o.quietWaitS * 1000);
        if (quiet.waitedMs > 1500) progress(`  waited ${fixed(quiet.waitedMs / 1000, 0)} s for the machine to be idle (${fixed(quiet.busyPct, 0)} % busy at the start)`);
        const done = cpuMeter(p.watched);
        const fio = await runFio(lab, p.fioHost, job, p.uri, o.seconds, o.ramp);
        const run = { fio, cpu: done() };
        const cpuText = run.cpu.servers.map((c) => `${c.label} ${fixed(c.totalPct, 0)} % (main thread ${fixed(c.mainThreadPct, 0)} %)`).join(', ');
        progress(`  ${job.key}: ${fixed(fio.iops, 0)} IOPS, ${fixed(fio.mbPerS, 1)} MB/s, p99 ${fixed(fio.p99Ms, 2)} ms; CPU fio ${fixed(fio.fioCpuPct, 0)} %, ${cpuText}; machine ${fixed(run.cpu.machinePct, 0)} %, other processes ${fixed(otherPct(run), 0)} %`);
        const kept = res.jobs[job.key];
        if (kept === undefined || otherPct(run) < otherPct(kept)) res.jobs[job.key] = run;
        if (otherPct(run) <= OTHER_LOAD_LIMIT || attempt >= o.retries) break;
        progress(`  ${job.key}: other processes were busy; running it again`);
      }
    }
    if (key !== 'nbdkit' && key !== 'solo') {
      const n = await compareImages(key, p);
      progress(`  ${n}`);
      res.notes.push(n);
    }
  } catch (e) {
    res.error = (e as Error).message;
    progress(`${TARGET_LABELS[key]}: FAILED: ${res.error}\n${logTails(lab)}`);
  } finally {
    if (o.keepLogs !== undefined) keepLogs(lab, join(o.keepLogs, key));
    await destroyAndCheck(lab);
  }
  return res;
}

async function main(): Promise<void> {
  const o = options();
  preflight(o.targets);
  const started = Date.now();
  progress(`${o.targets.length} targets x ${o.jobs.length} jobs, ${o.seconds} s each after a ${o.ramp} s ramp, ${o.size} volume, ${o.cache} page cache`);
  const results: TargetResult[] = [];
  for (const key of o.targets) results.push(await runTarget(key, o));
  const busy = results.flatMap((r) => Object.entries(r.jobs).filter(([, run]) => run !== undefined && otherPct(run) > OTHER_LOAD_LIMIT).map(([job]) => `${r.key}/${job}`));
  if (busy.length > 0) progress(`WARNING: other processes used more than ${OTHER_LOAD_LIMIT} % of a core during ${busy.join(', ')}: those numbers are suspect`);
  const notes = results.flatMap((r) => [...r.notes.map((n) => `- ${TARGET_LABELS[r.key]}: ${n}`), ...(r.error ? [`- ${TARGET_LABELS[r.key]}: FAILED: ${r.error}`] : [])]);
  const out = [
    `### Block writes over NBD: fio nbd engine, iodepth 16, ${o.seconds} s per job after a ${o.ramp} s ramp, ${o.size} volume, ${o.cache} page cache${o.alExtents === undefined ? '' : `, tandem al_extents ${o.alExtents}`}`,
    '',
    resultTable(results),
    '',
    barVerdict(results),
    '',
    '### CPU during each job (% of one core; servers and machine over the whole fio run, ramp included)',
    '',
    cpuTable(results, cpus().length),
    '',
    '### Machine and notes',
    '',
    machineFacts(o.cache),
    ...notes,
    ...(busy.length > 0 ? [`- WARNING: other processes used more than ${OTHER_LOAD_LIMIT} % of a core during ${busy.join(', ')}`] : []),
    '',
  ];
  progress(`done in ${Math.round((Date.now() - started) / 1000)} s; every lab was torn down and checked`);
  process.stdout.write(out.join('\n'));
  if (results.some((r) => r.error !== undefined)) process.exitCode = 1;
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exitCode = 1;
});
