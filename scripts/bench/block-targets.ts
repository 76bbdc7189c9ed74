// The NBD servers `npm run bench:block` writes to, each in a fresh lab:
// nbdkit's file plugin (the unreplicated reference), QEMU's quorum driver
// mirroring every write to a peer's qemu-nbd (a replicating reference in C),
// tandem forced Primary with its peer down, and tandem with a connected,
// UpToDate peer under protocols C and A. Every image file is written in
// full (zeroes, fsynced) before its server starts, so no target writes into
// holes.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { request } from '../../lib/cli/client.js';
import { DEFAULT_CONGESTION_CONTROL } from '../../lib/config/replication-section.js';
import type { VolumeStatus } from '../../lib/replication/volume/status-types.js';
import type { Lab, LabHost } from '../lab/lab.js';
import { addReplicationAddresses, imagePath, nbdSocket, REPLICATION_PORT, replicationAddress, replicationConfig } from '../lab/replication-config.js';
import { controlSocket } from '../lab/tandem-config.js';
import type { Watched } from './block-cpu.js';
import { nbdUnixUri } from './block-fio.js';
import { sleep, until } from './daemons.js';

export type TargetKey = 'nbdkit' | 'qemu' | 'solo' | 'C' | 'A';
export const TARGET_KEYS: readonly TargetKey[] = ['nbdkit', 'qemu', 'solo', 'C', 'A'];

export const TARGET_LABELS: Record<TargetKey, string> = {
  nbdkit: 'nbdkit file plugin (no replication)',
  qemu: 'QEMU quorum mirror to a peer qemu-nbd',
  solo: 'tandem, peer down (forced Primary)',
  C: 'tandem + peer, protocol C',
  A: 'tandem + peer, protocol A',
};

export const VOLUME = 'db';

export interface Prepared {
  lab: Lab;
  fioHost: LabHost; // the Primary's namespace (nbdkit's for the reference)
  uri: string;
  watched: Watched[];
  notes: string[]; // e.g. how long the initial sync took
}

export interface TargetOptions {
  sizeBytes: number;
  size: string; // as the config writes it, e.g. 1GiB
  alExtents?: number; // tandem's al_extents; its default when absent
  syncTimeoutS: number;
  progress: (s: string) => void;
}

// Zeroes over the whole image, on disk before the server opens it.
async function prewrite(path: string, sizeBytes: number): Promise<void> {
  const mib = 1 << 20;
  if (sizeBytes % mib !== 0) throw new Error(`image size ${sizeBytes} is not a whole number of MiB`);
  await execa('dd', ['if=/dev/zero', `of=${path}`, 'bs=1M', `count=${sizeBytes / mib}`, 'conv=fsync', 'status=none']);
}

async function control(h: LabHost, body: Record<string, unknown>): Promise<VolumeStatus> {
  const r = await request(controlSocket(h), body);
  if (!r.ok) throw new Error(`${h.name}: ${String(body.command)}: ${r.error ?? 'failed'}`);
  return r.result as VolumeStatus;
}

export async function volumeStatus(h: LabHost): Promise<VolumeStatus> {
  const r = await request(controlSocket(h), { command: 'replica.status', volume: VOLUME });
  if (!r.ok) throw new Error(`${h.name}: replica.status: ${r.error ?? 'failed'}`);
  const v = (r.result as { volumes: VolumeStatus[] }).volumes[0];
  if (v === undefined) throw new Error(`${h.name}: replica.status lists no volume`);
  return v;
}

async function answers(h: LabHost): Promise<boolean> {
  try {
    await volumeStatus(h);
    return true;
  } catch {
    return false;
  }
}

function pidOf(p: { child: { pid?: number | undefined } }, what: string): number {
  if (p.child.pid === undefined) throw new Error(`${what} did not start`);
  return p.child.pid;
}

async function nbdkit(lab: Lab, o: TargetOptions): Promise<Prepared> {
  const a = lab.hosts[0] as LabHost;
  const img = imagePath(a);
  const sock = nbdSocket(a);
  await prewrite(img, o.sizeBytes);
  const p = lab.spawn(a, ['nbdkit', '-f', '-U', sock, 'file', img], 'nbdkit.log');
  await until('nbdkit socket', async () => existsSync(sock), 10_000);
  return { lab, fioHost: a, uri: nbdUnixUri(sock, VOLUME), watched: [{ label: 'nbdkit', pid: pidOf(p, 'nbdkit') }], notes: [] };
}

// QEMU's quorum driver with vote-threshold 2 completes a write once both
// children have: the local image and an NBD connection to qemu-nbd on the
// peer, over the replication network. That is protocol C's contract (the
// peer's page cache, not its disk), done by a mature C implementation.
async function qemuMirror(lab: Lab, o: TargetOptions): Promise<Prepared> {
  await addReplicationAddresses(lab);
  const [a, b] = lab.hosts as [LabHost, LabHost];
  for (const h of [a, b]) {
    await prewrite(imagePath(h), o.sizeBytes);
    // QEMU 7.2's NBD sockets leave Nagle's algorithm on: without quick ACKs every small request waits out a 40 ms delayed ACK.
    // And QEMU cannot choose its sockets' congestion control: the route gives it what tandem's link asks for by default.
    const addr = replicationAddress(lab, h);
    await lab.exec(h, ['ip', 'route', 'replace', '198.51.100.0/24', 'dev', h.dev, 'src', addr, 'quickack', '1', 'congctl', DEFAULT_CONGESTION_CONTROL]);
  }
  const peer = lab.spawn(b, ['qemu-nbd', '-f', 'raw', '-b', replicationAddress(lab, b), '-p', String(REPLICATION_PORT), '-t', '--cache=writeback', imagePath(b)], 'qemu-nbd.log');
  await until('qemu-nbd on the peer listening', async () => (await lab.exec(b, ['ss', '-Htln', `sport = :${REPLICATION_PORT}`])).stdout.trim() !== '', 10_000, 100);
  const sock = nbdSocket(a);
  const opts = [
    'driver=quorum,vote-threshold=2',
    `children.0.driver=raw,children.0.file.driver=file,children.0.file.filename=${imagePath(a)}`,
    'children.1.driver=raw,children.1.file.driver=nbd,children.1.file.server.type=inet',
    `children.1.file.server.host=${replicationAddress(lab, b)},children.1.file.server.port=${REPLICATION_PORT}`,
  ].join(',');
  const primary = lab.spawn(a, ['qemu-nbd', '--image-opts', '-k', sock, '-x', VOLUME, '-t', '--cache=writeback', opts], 'qemu-nbd.log');
  await until('qemu-nbd mirror socket', async () => existsSync(sock), 10_000);
  const watched = [{ label: 'primary', pid: pidOf(primary, 'qemu-nbd mirror') }, { label: 'peer', pid: pidOf(peer, 'qemu-nbd on the peer') }];
  return { lab, fioHost: a, uri: nbdUnixUri(sock, VOLUME), watched, notes: [] };
}

async function tandem(lab: Lab, key: 'solo' | 'A' | 'C', o: TargetOptions): Promise<Prepared> {
  await addReplicationAddresses(lab);
  const [a, b] = lab.hosts as [LabHost, LabHost];
  const protocol = key === 'A' ? 'A' : 'C';
  const running = key === 'solo' ? [a] : [a, b];
  const watched: Watched[] = [];
  for (const h of running) {
    await prewrite(imagePath(h), o.sizeBytes);
    const p = lab.startTandem(h, replicationConfig(lab, h, { size: o.size, protocol, ...(o.alExtents === undefined ? {} : { alExtents: o.alExtents }) }));
    watched.push({ label: h === a ? 'primary' : 'secondary', pid: pidOf(p, `tandem on ${h.name}`) });
  }
  for (const h of running) await until(`tandem on ${h.name} answering on its control socket`, () => answers(h), 20_000, 100);
  const notes: string[] = [];
  if (key !== 'solo') {
    // The initial sync as with DRBD: both connected, then one forced Primary.
    await until(`${a.name} connected to ${b.name}`, async () => (await volumeStatus(a)).peers[0]?.connection === 'Connected', 20_000, 100);
  }
  await control(a, { command: 'replica.primary', volume: VOLUME, force: true });
  if (key !== 'solo') notes.push(await initialSync(a, o));
  const st = await volumeStatus(a);
  const sock = st.nbd?.socket;
  if (st.role !== 'Primary' || sock === null || sock === undefined) throw new Error(`${a.name} is ${st.role} with NBD ${JSON.stringify(st.nbd)} after replica.primary`);
  return { lab, fioHost: a, uri: nbdUnixUri(sock, VOLUME), watched, notes };
}

async function initialSync(a: LabHost, o: TargetOptions): Promise<string> {
  const t0 = Date.now();
  let lastReport = t0;
  for (;;) {
    const peer = (await volumeStatus(a)).peers[0];
    if (peer === undefined) throw new Error(`${a.name} has no peer in its status`);
    if (peer.disk === 'UpToDate' && peer.replication === 'Established') break;
    const secs = (Date.now() - t0) / 1000;
    if (secs > o.syncTimeoutS) throw new Error(`initial sync not done after ${o.syncTimeoutS} s: peer ${JSON.stringify(peer)}`);
    if (Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      const r = peer.resync;
      o.progress(`  initial sync: ${peer.connection}/${peer.replication}, peer disk ${peer.disk}${r ? `, ${r.percent} % at ${(r.rate_bytes_per_s / 1e6).toFixed(1)} MB/s` : ''}`);
    }
    await sleep(200);
  }
  const secs = (Date.now() - t0) / 1000;
  return `initial full sync of ${o.size}: ${secs.toFixed(1)} s (${(o.sizeBytes / 1e6 / secs).toFixed(0)} MB/s)`;
}

export const nodesFor = (key: TargetKey): number => (key === 'nbdkit' ? 1 : 2);

// Starts the target's server(s) in a lab made with nodesFor(key) hosts; the caller destroys the lab.
export function prepare(lab: Lab, key: TargetKey, o: TargetOptions): Promise<Prepared> {
  if (key === 'nbdkit') return nbdkit(lab, o);
  return key === 'qemu' ? qemuMirror(lab, o) : tandem(lab, key, o);
}

async function sameImages(p: Prepared): Promise<string> {
  const [a, b] = p.lab.hosts as [LabHost, LabHost];
  const r = await execa('cmp', ['-s', imagePath(a), imagePath(b)], { reject: false });
  return r.exitCode === 0 ? 'identical' : r.exitCode === 1 ? 'DIFFERENT' : `not compared (cmp exit ${r.exitCode})`;
}

// After the load the two images must be byte for byte the same: tandem's
// Primary steps down first (its writes drained to the peer); QEMU's quorum
// answered every write only once both children had it.
export async function compareImages(key: TargetKey, p: Prepared): Promise<string> {
  if (key === 'qemu') return `images after the load: ${await sameImages(p)}`;
  const a = p.lab.hosts[0] as LabHost;
  await control(a, { command: 'replica.secondary', volume: VOLUME });
  const st = (await volumeStatus(a)).peers[0];
  return `images after demote: ${await sameImages(p)}; peer ${st?.connection}/${st?.replication}, disk ${st?.disk}, out of sync ${st?.out_of_sync_bytes ?? '?'} B, writes sent ${st?.writes_sent ?? '?'}`;
}
