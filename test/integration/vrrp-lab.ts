// Shared steps of the VRRP namespace suites: start nodes, find who holds a
// VIP, read a node's status through the real control socket.
import { request } from '../../lib/cli/client.js';
import type { NodeStatus } from '../../lib/node/status.js';
import type { InstanceStatus } from '../../lib/vrrp/engine/engine.js';
import { Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { controlSocket, tandemConfig, type InstanceOptions } from '../../scripts/lab/tandem-config.js';
import { waitFor } from '../helpers/env.js';

export async function holders(lab: Lab, vip: string): Promise<LabHost[]> {
  const out: LabHost[] = [];
  for (const h of lab.hosts) if ((await lab.addresses(h)).includes(vip)) out.push(h);
  return out;
}

export async function status(h: LabHost): Promise<NodeStatus> {
  const r = await request(controlSocket(h), { command: 'status' }, 3000);
  if (!r.ok) throw new Error(r.error);
  return r.result as NodeStatus;
}

export async function instance(h: LabHost, name = 'VI_1'): Promise<InstanceStatus> {
  const s = await status(h);
  const i = s.vrrp.find((x) => x.name === name);
  if (i === undefined) throw new Error(`${h.name} has no instance ${name}`);
  return i;
}

export function start(lab: Lab, h: LabHost, opts: InstanceOptions | InstanceOptions[]): LabProcess {
  return lab.startTandem(h, tandemConfig(h, Array.isArray(opts) ? opts : [opts]));
}

export async function waitState(h: LabHost, state: string, timeoutMs: number, name = 'VI_1'): Promise<InstanceStatus> {
  return waitFor(`${h.name} ${name} to be ${state}`, async () => {
    const i = await instance(h, name);
    return i.state === state ? i : undefined;
  }, timeoutMs);
}

// Waits until exactly `who` holds the VIP; returns the time it took.
export async function waitHolder(lab: Lab, vip: string, who: LabHost, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  await waitFor(`only ${who.name} to hold ${vip}`, async () => {
    const hs = await holders(lab, vip);
    return hs.length === 1 && hs[0] === who;
  }, timeoutMs, 10);
  return Date.now() - t0;
}

// RFC 5798 6.1: Master_Down_Interval = 3 * interval + (256 - P) * interval / 256.
export async function macOf(lab: Lab, h: LabHost): Promise<string> {
  const r = await lab.exec(h, ['ip', '-j', 'link', 'show', 'dev', h.dev]);
  return (JSON.parse(r.stdout) as { address: string }[])[0]?.address ?? '';
}

// The MAC `h` has in its neighbour table for `ip` (ARP or ND), if any.
export async function neighbourMac(lab: Lab, h: LabHost, ip: string): Promise<string | undefined> {
  const r = await lab.exec(h, ['ip', '-j', 'neigh', 'show', 'to', ip, 'dev', h.dev]);
  return (JSON.parse(r.stdout || '[]') as { lladdr?: string }[])[0]?.lladdr;
}

export function masterDownMs(advertIntS: number, priority: number): number {
  return 3 * advertIntS * 1000 + ((256 - priority) * advertIntS * 1000) / 256;
}
export function skewMs(advertIntS: number, priority: number): number {
  return ((256 - priority) * advertIntS * 1000) / 256;
}

// The usual pair: a (priority 150) MASTER holding `vip`, b (100) BACKUP, with the same options.
export async function electedPair(
  lab: Lab,
  opts: Omit<InstanceOptions, 'priority'>,
  vip: string,
): Promise<{ a: LabHost; b: LabHost; pa: LabProcess; pb: LabProcess }> {
  const [a, b] = lab.hosts as [LabHost, LabHost];
  const pa = start(lab, a, { ...opts, priority: 150 });
  const pb = start(lab, b, { ...opts, priority: 100 });
  await waitHolder(lab, vip, a, 10_000);
  await waitState(b, 'BACKUP', 5000);
  return { a, b, pa, pb };
}
