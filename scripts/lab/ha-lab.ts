// Driving HA nodes in the lab, for the demo and the end-to-end tests: start a
// node, bootstrap the pair (DRBD's initial forced Primary), ask a node for its
// status or health through the real CLI, wait for a serving MASTER, and run
// the demo's load client against the VIP from the client host.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readClientLog } from '../demo-app/client-log.js';
import { request } from '../../lib/cli/client.js';
import type { NodeStatus } from '../../lib/node/status.js';
import { CLIENT, STORE_PORT, VIP, dataPath, haConfig, type HaOptions } from './ha-config.js';
import { TANDEM_BIN, type Lab, type LabHost, type LabProcess } from './lab.js';
import { addReplicationAddresses } from './replication-config.js';
import { controlSocket } from './tandem-config.js';
import { until } from './wait.js';

export { until };

export async function nodeStatus(h: LabHost, timeoutMs = 5000): Promise<NodeStatus> {
  const r = await request(controlSocket(h), { command: 'status' }, timeoutMs);
  if (!r.ok) throw new Error(`${h.name}: status: ${r.error ?? '?'}`);
  return r.result as NodeStatus;
}

// The tandem CLI as a user runs it, in the node's namespace.
export async function cli(lab: Lab, h: LabHost, args: string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const r = await lab.exec(h, [process.execPath, TANDEM_BIN, ...args, '--socket', controlSocket(h)], { reject: false, timeoutMs });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

export function startNode(lab: Lab, h: LabHost, o: HaOptions = {}): LabProcess {
  return lab.startTandem(h, haConfig(lab, h, o));
}

// The control socket answers before the volumes are open; the resource group shows once they are.
export async function daemonUp(h: LabHost, timeoutMs = 15_000): Promise<NodeStatus> {
  return until(`${h.name}'s daemon and its resource group`, async () => {
    const s = await nodeStatus(h);
    return s.daemon === 'running' && s.ha !== null ? s : false;
  }, timeoutMs);
}

// Serving: MASTER with every step done, and the store healthy.
export async function serving(h: LabHost): Promise<boolean> {
  const s = await nodeStatus(h);
  return s.ha?.serving === true && s.ha.services.every((x) => x.state === 'running');
}

export async function waitServing(h: LabHost, timeoutMs = 30_000): Promise<void> {
  await until(`${h.name} MASTER and serving`, () => serving(h), timeoutMs);
}

// Two fresh nodes: a starts alone and is made the data's first Primary (DRBD's initial
// `primary --force`), then b; a (priority 150) becomes MASTER, b syncs.
export async function bootstrapPair(lab: Lab, o: (h: LabHost) => HaOptions = () => ({})): Promise<Map<LabHost, LabProcess>> {
  const [a, b] = lab.hosts as [LabHost, LabHost];
  await addReplicationAddresses(lab);
  const procs = new Map<LabHost, LabProcess>();
  procs.set(a, startNode(lab, a, o(a)));
  await daemonUp(a);
  for (const cmd of [['replica', 'primary', 'data', '--force'], ['replica', 'secondary', 'data']]) {
    const r = await cli(lab, a, cmd);
    if (r.exitCode !== 0) throw new Error(`${a.name}: tandem ${cmd.join(' ')}: ${r.stderr}`);
  }
  procs.set(b, startNode(lab, b, o(b)));
  await daemonUp(b);
  await waitServing(a);
  await until('b UpToDate and connected', async () => {
    const v = (await nodeStatus(b)).volumes[0];
    return v?.disk === 'UpToDate' && v.peers[0]?.replication === 'Established';
  }, 30_000);
  return procs;
}

export const STORE_URL = `http://${VIP}:${STORE_PORT}`;

export function clientLog(lab: Lab): string {
  return join(lab.client.dir, 'client.jsonl');
}

// The load client on the client host, writing to the VIP until stopped.
export function startClient(lab: Lab, intervalMs = 50): LabProcess {
  return lab.spawn(lab.client, [process.execPath, CLIENT, '--url', STORE_URL, '--log', clientLog(lab), '--interval-ms', String(intervalMs), '--timeout-ms', '2000'], 'client.log');
}

// kill -9 of a node's daemon and of its services' process groups (a crashed machine).
export async function crashNode(h: LabHost, p: LabProcess): Promise<void> {
  const pgids = ((await nodeStatus(h)).ha?.services ?? []).flatMap((s) => (s.pgid === null ? [] : [s.pgid]));
  p.child.kill('SIGKILL');
  for (const g of pgids) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // gone with the daemon
    }
  }
  await p.child;
}

// Waits until the client saw `more` further writes acknowledged.
export async function waitAcked(lab: Lab, more: number, timeoutMs = 60_000): Promise<void> {
  const base = (await readClientLog(clientLog(lab)).catch(() => ({ acked: [] }))).acked.length;
  await until(`${more} more acknowledged writes`, async () => (await readClientLog(clientLog(lab))).acked.length >= base + more, timeoutMs, 100);
}

// Every id the client saw acknowledged that is not a whole record on h.
export async function missingAcked(lab: Lab, h: LabHost): Promise<{ acked: number; missing: string[] }> {
  const log = await readClientLog(clientLog(lab));
  return { acked: log.acked.length, missing: log.acked.filter((id) => !existsSync(join(dataPath(h), 'records', id))) };
}
