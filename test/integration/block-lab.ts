// What the block replication tests in namespaces share: control-socket
// requests to a lab host's daemon, a cluster of daemons with its first host
// Primary and every peer in sync, image checksums and qemu-io on the export.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from '../../lib/cli/client.js';
import type { ReplicaStatus, VolumeStatus } from '../../lib/replication/volume/status-types.js';
import type { Lab, LabHost, LabProcess } from '../../scripts/lab/lab.js';
import { addReplicationAddresses, imagePath, nbdSocket, replicationConfig, type VolumeOptions } from '../../scripts/lab/replication-config.js';
import { controlSocket } from '../../scripts/lab/tandem-config.js';
import { waitFor } from '../helpers/env.js';

export async function replica(h: LabHost, command: string, extra: Record<string, unknown> = {}): Promise<VolumeStatus> {
  const r = await request(controlSocket(h), { command: `replica.${command}`, volume: 'db', ...extra }, 15000);
  if (!r.ok) throw new Error(`${h.name}: replica.${command}: ${r.error ?? '?'}`);
  return r.result as VolumeStatus;
}

export async function volume(h: LabHost): Promise<VolumeStatus> {
  const r = await request(controlSocket(h), { command: 'replica.status' }, 5000);
  if (!r.ok) throw new Error(r.error);
  const v = (r.result as ReplicaStatus).volumes[0];
  if (v?.type !== 'block') throw new Error(`${h.name} has no block volume`);
  return v;
}

export const uri = (h: LabHost): string => `nbd+unix:///db?socket=${nbdSocket(h)}`;
export const sha = async (h: LabHost): Promise<string> => createHash('sha256').update(await readFile(imagePath(h))).digest('hex');
export const log = (p: LabProcess): Promise<string> => readFile(p.logFile, 'utf8');

export async function qemuIo(lab: Lab, h: LabHost, ...cmds: string[]): Promise<string> {
  const r = await lab.exec(h, ['qemu-io', '-f', 'raw', ...cmds.flatMap((c) => ['-c', c]), uri(h)], { timeoutMs: 30000 });
  return r.stdout;
}

export async function daemonUp(h: LabHost): Promise<void> {
  await waitFor(`${h.name}'s control socket`, async () => (await volume(h).catch(() => undefined)) !== undefined, 15000);
}

// Every daemon running, `first` forced Primary, every Secondary UpToDate.
export async function cluster(lab: Lab, o: VolumeOptions = {}, first?: LabHost): Promise<Map<LabHost, LabProcess>> {
  await addReplicationAddresses(lab);
  const procs = new Map<LabHost, LabProcess>();
  for (const h of lab.hosts) procs.set(h, lab.startTandem(h, replicationConfig(lab, h, o)));
  for (const h of lab.hosts) await daemonUp(h);
  const p = first ?? (lab.hosts[0] as LabHost);
  await replica(p, 'primary', { force: true });
  await inSync(lab, p);
  return procs;
}

export async function inSync(lab: Lab, primary: LabHost, timeoutMs = 30000): Promise<void> {
  await waitFor('every peer UpToDate and Established', async () => {
    const v = await volume(primary);
    return v.peers.every((p) => p.disk === 'UpToDate' && p.replication === 'Established' && p.pending === 0);
  }, timeoutMs);
  for (const h of lab.hosts.filter((x) => x !== primary)) {
    await waitFor(`${h.name} UpToDate`, async () => (await volume(h)).disk === 'UpToDate', timeoutMs);
  }
}

export async function sameImages(lab: Lab): Promise<void> {
  const want = await sha(lab.hosts[0] as LabHost);
  for (const h of lab.hosts.slice(1)) expect(await sha(h), `${h.name}'s image`).to.equal(want);
}
