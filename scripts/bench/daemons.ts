// Starting and stopping the daemons under test, tandem or keepalived, from
// the same lab instance options, so both see identical settings.
import { execa } from 'execa';
import { startKeepalived } from '../lab/keepalived.js';
import type { Lab, LabHost, LabProcess } from '../lab/lab.js';
import { tandemConfig, type InstanceOptions } from '../lab/tandem-config.js';
import { processTree } from './procfs.js';

export type Impl = 'tandem' | 'keepalived';
export const IMPLS: readonly Impl[] = ['tandem', 'keepalived'];

// kill -9 is a crash; SIGTERM is an orderly stop (priority 0 advert, VIPs removed).
export type StopSignal = 'SIGKILL' | 'SIGTERM';

export interface Daemon {
  impl: Impl;
  host: LabHost;
  proc: LabProcess;
}

export function startDaemon(lab: Lab, impl: Impl, host: LabHost, instances: InstanceOptions[]): Daemon {
  const proc = impl === 'tandem' ? lab.startTandem(host, tandemConfig(host, instances)) : startKeepalived(lab, host, instances);
  return { impl, host, proc };
}

export function rootPid(d: Daemon): number {
  const pid = d.proc.child.pid;
  if (pid === undefined) throw new Error(`${d.impl} on ${d.host.name} did not start`);
  return pid;
}

// SIGKILL goes to every process of the daemon at once: keepalived's VRRP
// child would otherwise outlive its parent, or leave gracefully, and a crash
// would not be a crash. SIGTERM goes to the main process, as systemd sends it.
export function signalDaemon(d: Daemon, sig: StopSignal): void {
  if (sig === 'SIGTERM') {
    d.proc.child.kill('SIGTERM');
    return;
  }
  for (const pid of processTree(rootPid(d)).reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function macOf(h: LabHost): Promise<string> {
  const r = await execa('ip', ['-n', h.ns, '-j', 'link', 'show', 'dev', h.dev]);
  const rows = JSON.parse(r.stdout) as { address: string }[];
  const mac = rows[0]?.address;
  if (mac === undefined) throw new Error(`no MAC address for ${h.name}`);
  return mac.toLowerCase();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
  return Date.now() - t0;
}
