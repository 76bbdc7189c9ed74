// `npm run bench:files`: directory replication between two tandem daemons in
// network namespaces, against rsync on the same machine, in one run.
//  1. Initial sync: the same data set (10,000 small files and a few large
//     ones) copied to an empty peer by tandem (from `replica primary --force`
//     until the peer is UpToDate), by rsync over its daemon protocol, and by
//     rsync --fsync (tandem fsyncs every file before it counts as replicated;
//     plain rsync does not). Every copy is checked with rsync -rlpc --dry-run.
//  2. Lag: a steady writer on the Primary; for each file, the delay from its
//     close on the Primary to its rename into place on the Secondary (inotify
//     on the Secondary's directory), p50 / p99, under protocol C and A.
// Progress goes to stderr, the tables to stdout. Needs root.
import { watch } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { request } from '../../lib/cli/client.js';
import type { DirectoryVolumeStatus } from '../../lib/replication/files/dir-status.js';
import type { ReplicaStatus } from '../../lib/replication/volume/status-types.js';
import { Lab, type LabHost } from '../lab/lab.js';
import { addReplicationAddresses, directoryConfig, replicationAddress, treePath } from '../lab/replication-config.js';
import { controlSocket } from '../lab/tandem-config.js';
import { destroyAndCheck } from './cleanup.js';
import { sleep, until } from './daemons.js';
import { makeDataSet, type DataSet } from './files-data.js';
import { CLK_TCK, sampleTree } from './procfs.js';
import { fixed } from './stats.js';

const progress = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '10000' },
      large: { type: 'string', default: '4' },
      'large-mib': { type: 'string', default: '32' },
      rate: { type: 'string', default: '100' }, // files per second in the lag run
      seconds: { type: 'string', default: '20' },
    },
  });
  const n = (k: keyof typeof values, min: number): number => {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${k}: a whole number of at least ${min}, not ${values[k]}`);
    return v;
  };
  return { files: n('files', 1), large: n('large', 0), largeMiB: n('large-mib', 1), rate: n('rate', 1), seconds: n('seconds', 1) };
}

async function dirVolume(h: LabHost): Promise<DirectoryVolumeStatus> {
  const r = await request(controlSocket(h), { command: 'replica.status' }, 10_000);
  const v = r.ok ? (r.result as ReplicaStatus).volumes[0] : undefined;
  if (v?.type !== 'directory') throw new Error(`${h.name}: no directory volume (${r.error ?? 'status'})`);
  return v;
}

async function rsyncDiff(a: string, b: string): Promise<string> {
  return (await execa('rsync', ['-rlpc', '--dry-run', '--itemize-changes', '--delete', `${a}/`, `${b}/`])).stdout.trim();
}

interface SyncResult { label: string; seconds: number; cpuS: number | null; rssMiB: number | null }

async function freshLab(data: string): Promise<{ lab: Lab; a: LabHost; b: LabHost }> {
  const lab = await Lab.create(2);
  await addReplicationAddresses(lab);
  const [a, b] = lab.hosts as [LabHost, LabHost];
  await cp(data, treePath(a), { recursive: true });
  await mkdir(treePath(b), { recursive: true });
  await execa('sync');
  return { lab, a, b };
}

const cpuOf = (pids: number[]): number => pids.reduce((s, p) => s + sampleTree(p).ticks / CLK_TCK, 0);

async function tandemInitial(data: string, protocol: 'A' | 'C'): Promise<SyncResult> {
  const { lab, a, b } = await freshLab(data);
  try {
    const pa = lab.startTandem(a, directoryConfig(lab, a, { protocol }));
    const pb = lab.startTandem(b, directoryConfig(lab, b, { protocol }));
    for (const h of [a, b]) await until(`${h.name} up`, async () => (await dirVolume(h).catch(() => null)) !== null, 60_000);
    await until('connected', async () => (await dirVolume(a)).peers[0]?.replication === 'Established', 60_000);
    const pids = [pa.child.pid as number, pb.child.pid as number];
    const cpu0 = cpuOf(pids);
    const t0 = Date.now();
    const r = await request(controlSocket(a), { command: 'replica.primary', volume: 'conf', force: true }, 10_000);
    if (!r.ok) throw new Error(`promote: ${r.error ?? '?'}`);
    await until('b UpToDate and Established', async () => {
      const [va, vb] = [await dirVolume(a), await dirVolume(b)];
      return vb.disk === 'UpToDate' && va.peers[0]?.replication === 'Established' && vb.peers[0]?.replication === 'Established' && va.peers[0]?.pending_files === 0;
    }, 1_800_000, 50);
    const seconds = (Date.now() - t0) / 1000;
    const cpuS = cpuOf(pids) - cpu0;
    const rssMiB = pids.map((p) => sampleTree(p).rssKb).reduce((x, y) => Math.max(x, y), 0) / 1024;
    const diff = await rsyncDiff(treePath(a), treePath(b));
    if (diff !== '') throw new Error(`tandem (${protocol}): the trees differ after the sync:\n${diff.slice(0, 2000)}`);
    return { label: `tandem, protocol ${protocol}`, seconds, cpuS, rssMiB };
  } finally {
    await destroyAndCheck(lab);
  }
}

async function rsyncInitial(data: string, fsync: boolean): Promise<SyncResult> {
  const { lab, a, b } = await freshLab(data);
  try {
    const conf = lab.write(b, 'rsyncd.conf', [
      'use chroot = no', 'uid = root', 'gid = root', `pid file = ${join(b.dir, 'rsyncd.pid')}`,
      '[conf]', `path = ${treePath(b)}`, 'read only = no', '',
    ].join('\n'));
    const addr = replicationAddress(lab, b);
    lab.spawn(b, ['rsync', '--daemon', '--no-detach', `--config=${conf}`, `--address=${addr}`, '--port=8873'], 'rsyncd.log');
    await until('rsyncd listening', async () => (await lab.exec(a, ['rsync', `rsync://${addr}:8873/`], { reject: false })).exitCode === 0, 10_000);
    const t0 = Date.now();
    const res = await execa('/usr/bin/time', ['-f', '%U %S', 'ip', 'netns', 'exec', a.ns, 'rsync', '-a', ...(fsync ? ['--fsync'] : []), `${treePath(a)}/`, `rsync://${addr}:8873/conf/`], { timeout: 1_800_000 });
    const seconds = (Date.now() - t0) / 1000;
    const [u, s] = res.stderr.trim().split('\n').pop()?.split(' ').map(Number) ?? [NaN, NaN];
    const diff = await rsyncDiff(treePath(a), treePath(b));
    if (diff !== '') throw new Error(`rsync: the trees differ after the copy:\n${diff.slice(0, 2000)}`);
    return { label: `rsync -a${fsync ? ' --fsync' : ''} (daemon protocol)`, seconds, cpuS: Number.isFinite(u) ? (u as number) + (s as number) : null, rssMiB: null };
  } finally {
    await destroyAndCheck(lab);
  }
}

interface LagResult { protocol: 'A' | 'C'; files: number; seen: number; p50: number; p99: number; max: number }

async function lagRun(protocol: 'A' | 'C', rate: number, seconds: number): Promise<LagResult> {
  const lab = await Lab.create(2);
  try {
    await addReplicationAddresses(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    for (const h of [a, b]) await mkdir(join(treePath(h), 'lag'), { recursive: true });
    lab.startTandem(a, directoryConfig(lab, a, { protocol }));
    lab.startTandem(b, directoryConfig(lab, b, { protocol }));
    for (const h of [a, b]) await until(`${h.name} up`, async () => (await dirVolume(h).catch(() => null)) !== null, 60_000);
    await request(controlSocket(a), { command: 'replica.primary', volume: 'conf', force: true }, 10_000);
    await until('in sync', async () => (await dirVolume(b)).disk === 'UpToDate' && (await dirVolume(a)).peers[0]?.replication === 'Established', 60_000);
    const closed = new Map<string, number>();
    const arrived = new Map<string, number>();
    // The receiver renames each file into place: inotify reports the final name then.
    const w = watch(join(treePath(b), 'lag'), (_ev, name) => {
      if (typeof name === 'string' && name.startsWith('f') && !arrived.has(name)) arrived.set(name, performance.now());
    });
    const total = rate * seconds;
    const body = Buffer.alloc(4096, 7);
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      await writeFile(join(treePath(a), 'lag', `f${i}`), body);
      closed.set(`f${i}`, performance.now());
    }
    await until('every file arrived', async () => arrived.size >= total, 60_000).catch(() => undefined);
    w.close();
    const delays = [...closed].flatMap(([n, t]) => (arrived.has(n) ? [(arrived.get(n) as number) - t] : [])).sort((x, y) => x - y);
    const q = (p: number): number => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] ?? NaN;
    return { protocol, files: total, seen: delays.length, p50: q(0.5), p99: q(0.99), max: delays[delays.length - 1] ?? NaN };
  } finally {
    await destroyAndCheck(lab);
  }
}

async function main(): Promise<void> {
  const o = options();
  const work = await mkdtemp(join(tmpdir(), 'tandem-bench-files-'));
  try {
    progress(`making the data set: ${o.files} small files, ${o.large} x ${o.largeMiB} MiB`);
    const data = join(work, 'data');
    const ds: DataSet = await makeDataSet(data, o.files, o.large, o.largeMiB);
    const runs: SyncResult[] = [];
    for (const step of [() => rsyncInitial(data, false), () => rsyncInitial(data, true), () => tandemInitial(data, 'C'), () => tandemInitial(data, 'A')]) {
      const r = await step();
      progress(`${r.label}: ${fixed(r.seconds, 2)} s`);
      runs.push(r);
    }
    const lags: LagResult[] = [];
    for (const p of ['C', 'A'] as const) {
      progress(`lag under protocol ${p}: ${o.rate} files/s for ${o.seconds} s`);
      lags.push(await lagRun(p, o.rate, o.seconds));
    }
    const ref = runs[0]?.seconds ?? NaN;
    const mb = ds.bytes / 1e6;
    const out = [
      `Initial sync of ${ds.files} files (${fixed(mb, 0)} MB) to an empty peer in another namespace:`,
      '',
      '| copy | seconds | files/s | MB/s | time vs rsync -a | CPU s (both ends) | daemon RSS MiB |',
      '|---|---|---|---|---|---|---|',
      ...runs.map((r) => `| ${r.label} | ${fixed(r.seconds, 2)} | ${fixed(ds.files / r.seconds, 0)} | ${fixed(mb / r.seconds, 1)} | ${fixed(r.seconds / ref, 2)}x | ${r.cpuS === null ? '-' : fixed(r.cpuS, 1)} | ${r.rssMiB === null ? '-' : fixed(r.rssMiB, 0)} |`),
      '',
      `Delay from close on the Primary to rename on the Secondary, ${o.rate} files of 4 KiB per second for ${o.seconds} s:`,
      '',
      '| protocol | files | arrived | p50 ms | p99 ms | max ms |',
      '|---|---|---|---|---|---|',
      ...lags.map((l) => `| ${l.protocol} | ${l.files} | ${l.seen} | ${fixed(l.p50, 1)} | ${fixed(l.p99, 1)} | ${fixed(l.max, 1)} |`),
      '',
    ];
    process.stdout.write(out.join('\n'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
