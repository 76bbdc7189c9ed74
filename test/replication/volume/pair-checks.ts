// What the in-process volume tests check again and again: test data, a
// node's session with a peer, both sides Established and UpToDate, identical
// images, a resync slowed down so something can happen during it, and a
// disk that lost a write or fails a flush.
import { expect } from 'chai';
import { open } from 'node:fs/promises';
import type { PeerSession } from '../../../lib/replication/volume/peer.js';
import type { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';
import { waitFor } from '../../helpers/env.js';
import { rng } from '../../helpers/random.js';
import type { Cluster } from './pair-harness.js';

export const MiB = 1 << 20;

// A 4 KiB block of `name`'s image set to `byte` behind the volume: a write its disk lost, or one it never got.
export async function overwriteBlock(c: Cluster, name: string, offset: number, byte: number): Promise<void> {
  const fh = await open(c.config(name).device, 'r+');
  await fh.write(Buffer.alloc(4096, byte), 0, 4096, offset);
  await fh.close();
}

// The volume's next image flush fails with EIO (as Linux reports a failed write-back), the ones after it work.
export function failNextImageFlush(v: ReplicatedVolume): void {
  const fh = (v.disk as unknown as { fh: { datasync: () => Promise<void> } }).fh;
  const datasync = fh.datasync.bind(fh);
  fh.datasync = async () => { fh.datasync = datasync; throw new Error('EIO'); };
}

// `length` bytes of seeded noise (a multiple of 4).
export function pattern(seed: number, length: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) b.writeUInt32LE(Math.floor(r() * 2 ** 32), i);
  return b;
}

export const peerOf = (c: Cluster, node: string, other: string): PeerSession => c.get(node).peers.get(other) as PeerSession;

export async function established(c: Cluster, a: string, b: string, timeoutMs = 30000): Promise<void> {
  await waitFor(`${a} and ${b} Established and UpToDate`, async () =>
    peerOf(c, a, b)?.replication === 'Established' && peerOf(c, b, a)?.replication === 'Established'
    && c.get(a).diskState === 'UpToDate' && c.get(b).diskState === 'UpToDate', timeoutMs);
}

// Every image equals the first; a difference is named by its first byte and block.
export async function sameImages(c: Cluster, ...names: string[]): Promise<void> {
  const first = await c.image(names[0] as string);
  for (const n of names.slice(1)) {
    const other = await c.image(n);
    if (other.equals(first)) continue;
    let at = 0;
    while (at < first.length && first[at] === other[at]) at++;
    expect.fail(`${n} and ${names[0]} differ, first at byte ${at} (4 KiB block ${Math.floor(at / 4096)})`);
  }
}

// Two nodes, node-a Primary, node-b in sync.
export async function pairInSync(c: Cluster): Promise<[ReplicatedVolume, ReplicatedVolume]> {
  const v: [ReplicatedVolume, ReplicatedVolume] = [await c.start('node-a'), await c.start('node-b')];
  await waitFor('connected', async () => v[0].peers.get('node-b')?.connected === true, 10000);
  await v[0].promote(true);
  await established(c, 'node-a', 'node-b');
  return v;
}

// Three nodes in a mesh, node-a Primary, both others in sync.
export async function meshOfThree(c: Cluster): Promise<[ReplicatedVolume, ReplicatedVolume, ReplicatedVolume]> {
  const v: [ReplicatedVolume, ReplicatedVolume, ReplicatedVolume] = [await c.start('node-a'), await c.start('node-b'), await c.start('node-c')];
  await waitFor('mesh', async () => [...v[0].peers.values()].every((p) => p.connected), 10000);
  await v[0].promote(true);
  await established(c, 'node-a', 'node-b');
  await established(c, 'node-a', 'node-c');
  return v;
}

// A planned handover: `from` demotes, and `to` promotes once it has seen that.
export async function handOver(c: Cluster, from: string, to: string): Promise<ReplicatedVolume> {
  await c.get(from).demote();
  const v = c.get(to);
  await waitFor(`${to} sees ${from} Secondary`, async () => v.peers.get(from)?.peerRole === 'Secondary', 10000);
  await v.promote(false);
  return v;
}

// `name` stops, and node-a has seen it go.
export async function away(c: Cluster, name: string): Promise<void> {
  await c.stop(name);
  await waitFor(`${name} gone`, async () => !c.get('node-a').peers.get(name)?.connected, 10000);
}

type Disk = { writeUncached: (o: number, d: Buffer) => Promise<void> };

// Resync data reaches the target's disk slowly (`ms` per request), so something can happen mid-resync; returns the undo.
export function slowResyncWrites(v: ReplicatedVolume, ms: number): () => void {
  const disk = v.disk as unknown as Disk;
  const real = disk.writeUncached.bind(v.disk);
  disk.writeUncached = async (o, d) => {
    await new Promise((r) => setTimeout(r, ms));
    return real(o, d);
  };
  return () => { disk.writeUncached = real; };
}
