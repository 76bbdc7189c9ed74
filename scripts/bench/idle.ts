// Idle cost with many instances: node a is MASTER of N instances at a short
// advert_int, node b the BACKUP of all of them, both the same implementation.
// Once every VIP is on a and the start-up announcing is over (no helper
// process for longer than garp_master_delay), CPU time and memory of each
// daemon (its whole process tree) are sampled from /proc.
import { Lab, type LabHost } from '../lab/lab.js';
import type { InstanceOptions } from '../lab/tandem-config.js';
import { destroyAndCheck } from './cleanup.js';
import { rootPid, sleep, startDaemon, until, type Daemon, type Impl } from './daemons.js';
import { CLK_TCK, processTree, sampleTree, type TreeSample } from './procfs.js';

export interface IdleSpec {
  impl: Impl;
  instances: number;
  advertInt: number;
  seconds: number;
}

export interface Usage {
  cpuPct: number; // of one core
  rssMiB: number; // mean of the samples, VmRSS summed over the tree
  pssMiB: number;
  procs: string; // the processes measured, e.g. "node + ip"
}

export interface IdleResult {
  spec: IdleSpec;
  master: Usage;
  backup: Usage;
}

function instances(n: number, priority: number, advertInt: number): InstanceOptions[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `VI_${i + 1}`,
    vrid: i + 1,
    priority,
    advertInt,
    vips: [`192.0.2.${101 + i}/24`],
  }));
}

function usage(first: TreeSample, last: TreeSample, all: TreeSample[], wallMs: number): Usage {
  const mean = (f: (s: TreeSample) => number): number => all.reduce((t, s) => t + f(s), 0) / all.length;
  return {
    cpuPct: ((last.ticks - first.ticks) / CLK_TCK / (wallMs / 1000)) * 100,
    rssMiB: mean((s) => s.rssKb) / 1024,
    pssMiB: mean((s) => s.pssKb) / 1024,
    procs: [...new Set(all.map((s) => s.comms.join(' + ')))].join(' | '),
  };
}

async function vipCount(lab: Lab, h: LabHost): Promise<number> {
  return (await lab.addresses(h)).filter((a) => /^192\.0\.2\.(1\d\d)$/.test(a) && a !== '192.0.2.100').length;
}

// Longer than garp_master_delay (5 s), the gap between the two GARP bursts.
const QUIET_MS = 6000;

// Waits until each tree has kept its smallest size seen (the daemon without
// helpers such as arping or ip) for quietMs; returns how long that took.
async function quiet(roots: number[], quietMs: number, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const min = roots.map(() => Number.POSITIVE_INFINITY);
  let busyAt = t0;
  for (;;) {
    roots.forEach((pid, i) => {
      const n = processTree(pid).length;
      if (n > (min[i] as number)) busyAt = Date.now();
      if (n < (min[i] as number)) {
        min[i] = n;
        busyAt = Date.now();
      }
    });
    if (Date.now() - busyAt >= quietMs) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the daemons did not go quiet within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function idleRun(spec: IdleSpec, progress: (s: string) => void): Promise<IdleResult> {
  if (spec.instances > 99) throw new Error('at most 99 instances (VIPs 192.0.2.101-199)');
  const lab = await Lab.create(2);
  const [a, b] = lab.hosts as [LabHost, LabHost];
  try {
    const master: Daemon = startDaemon(lab, spec.impl, a, instances(spec.instances, 150, spec.advertInt));
    const backup: Daemon = startDaemon(lab, spec.impl, b, instances(spec.instances, 100, spec.advertInt));
    const took = await until(`a takes all ${spec.instances} VIPs`, async () => (await vipCount(lab, a)) === spec.instances, 60_000, 100);
    const roots = [rootPid(master), rootPid(backup)];
    const settled = await quiet(roots, QUIET_MS, 90_000);
    progress(`${spec.impl}: a held ${spec.instances} VIPs after ${took} ms; no helper process for ${QUIET_MS / 1000} s after ${Math.round(settled / 1000)} s more`);
    if ((await vipCount(lab, b)) !== 0) throw new Error('b holds VIPs: the election did not settle');
    const samples: TreeSample[][] = [[], []];
    const t0 = Date.now();
    for (;;) {
      roots.forEach((pid, i) => samples[i]?.push(sampleTree(pid)));
      if (Date.now() - t0 >= spec.seconds * 1000) break;
      await sleep(1000);
    }
    const wall = Date.now() - t0;
    const [sm, sb] = samples as [TreeSample[], TreeSample[]];
    if ((await vipCount(lab, a)) !== spec.instances) throw new Error('a lost VIPs while idle');
    return {
      spec,
      master: usage(sm[0] as TreeSample, sm[sm.length - 1] as TreeSample, sm, wall),
      backup: usage(sb[0] as TreeSample, sb[sb.length - 1] as TreeSample, sb, wall),
    };
  } finally {
    await destroyAndCheck(lab);
  }
}
