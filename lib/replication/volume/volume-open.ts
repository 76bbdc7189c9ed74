// Opening a block volume's files, before any peer or client is served: the
// image (created sparse when missing) and its metadata (created for a new
// volume: Inconsistent, a fresh generation), checked against the
// configuration, with what a crash left behind folded into the bitmaps.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BlockVolumeConfig } from '../../config/types.js';
import { TandemError } from '../../errors.js';
import { ActivityLog, activityLogPath, DEFAULT_EXTENT_SIZE, SEQUENTIAL_AHEAD } from '../block/activity-log.js';
import { ActivityLogStore } from '../block/activity-log-store.js';
import { Bitmap } from '../block/bitmap.js';
import { openImage } from '../block/image.js';
import { crashedWhilePrimary, crashedWhileSecondary, markActivityLogOutOfSync, markAllOutOfSync, type MetadataRecord } from '../block/metadata.js';
import { MetadataStore } from '../block/metadata-store.js';
import { FileBackend } from '../block/nbd/file-backend.js';
import { diskAtOpen, fencedAtOpen } from '../fencing.js';
import { encodeGenerations, parseGenerations } from '../generations-json.js';
import { onNewVolume, withoutBitmapEntries, type Generations } from '../generations.js';
import type { DiskState } from '../states.js';
import type { VolumeLog } from './host.js';

export interface VolumeFiles {
  disk: FileBackend;
  store: MetadataStore;
  alStore: ActivityLogStore;
  record: MetadataRecord;
  generations: Generations;
  diskState: DiskState;
}

export async function openVolumeFiles(cfg: BlockVolumeConfig, log: VolumeLog): Promise<VolumeFiles> {
  await mkdir(dirname(cfg.device), { recursive: true });
  await mkdir(dirname(cfg.metadata), { recursive: true, mode: 0o700 });
  const img = await openImage(cfg.device, cfg.size);
  if (!img.ok) throw img.error;
  const disk = FileBackend.fromHandle(img.image.fd, cfg.size);
  const check = (g: unknown): string | null => { const r = parseGenerations(g); return r.ok ? null : r.reason; };
  let opened = await MetadataStore.open(cfg.metadata, { checkGenerations: check });
  const newMetadata = !opened.ok && opened.reason === 'not-found';
  if (newMetadata) {
    const fresh = freshRecord(cfg);
    const created = await MetadataStore.create(cfg.metadata, fresh);
    if (!created.ok) { await disk.close(); throw created.error; }
    await created.store.close();
    opened = await MetadataStore.open(cfg.metadata, { checkGenerations: check });
  }
  if (!opened.ok) { await disk.close(); throw opened.error; }
  const { store, record } = opened;
  if (record.volumeSize !== cfg.size || record.blockSize !== cfg.blockSize) {
    await store.close(); await disk.close();
    throw new TandemError('VOLUME_GEOMETRY', `${cfg.metadata} describes a ${record.volumeSize}-byte volume with ${record.blockSize}-byte blocks; the configuration says ${cfg.size} / ${cfg.blockSize}: resizing is not supported`);
  }
  const g = parseGenerations(record.generations);
  if (!g.ok) { await store.close(); await disk.close(); throw new TandemError('METADATA_INVALID', g.reason); }
  let generations = g.generations;
  // A Secondary's bits for third peers have no activity log behind them (third-peer-marks.ts): after a crash they
  // may miss the newest marks, so no resync may rely on them; those peers are matched through the history (a full sync).
  const tracked = Object.keys(generations.bitmap);
  if (crashedWhileSecondary(record) && tracked.length > 0) {
    generations = withoutBitmapEntries(generations, tracked);
    log.warn(`${cfg.name}: the last run ended while Secondary without a clean shutdown: the bitmaps for ${tracked.join(', ')} may lack the newest marks, so they are not trusted (those peers resync in full)`);
  }
  const known = fencedAtOpen(record.fencedPeers, cfg.peers.map((p) => p.name));
  record.fencedPeers = known.fenced;
  let diskState = diskAtOpen(record.diskState, cfg.fencing, known.every);
  // An image made now under old metadata holds none of the data the metadata describes.
  if (img.image.created && !g.generations.fresh) {
    log.warn(`${cfg.name}: ${cfg.device} was missing and is created empty; its metadata describes data: disk marked Inconsistent`);
    diskState = 'Inconsistent';
  }
  for (const p of cfg.peers) if (!record.bitmaps.has(p.name)) record.bitmaps.set(p.name, new Bitmap(cfg.size, cfg.blockSize));
  for (const bits of [record.bitmaps, record.marksOnly]) {
    for (const name of [...bits.keys()]) if (!cfg.peers.some((p) => p.name === name)) bits.delete(name);
  }
  // An empty image under metadata that outlived it lacks every block, also towards a peer whose resync would
  // otherwise move only the bits (a cut initial sync's record is fresh and holds progress).
  if (img.image.created && !newMetadata) markAllOutOfSync(record);
  const al = await ActivityLogStore.open(activityLogPath(cfg.metadata), DEFAULT_EXTENT_SIZE);
  if (!al.ok) { await store.close(); await disk.close(); throw al.error; }
  // After a crash, writes in the logged extents may be on one disk only: a Primary's own (replication.md "Resync
  // and verify"), or a Secondary's from its Primary's stream, lost with it maybe ("A lost Primary's last writes").
  if (crashedWhilePrimary(record) || crashedWhileSecondary(record)) {
    const fresh = markActivityLogOutOfSync(record, al.logged);
    const logged = new Set([...record.activityLog.extents(), ...(al.logged?.extents ?? [])]);
    const extents = logged.size;
    // What the extents cover (the last one may be short), and how many bits that newly set over all the bitmaps.
    let bytes = 0;
    for (const e of logged) bytes += Math.max(0, Math.min(DEFAULT_EXTENT_SIZE, cfg.size - e * DEFAULT_EXTENT_SIZE));
    const covered = `${Math.ceil(bytes / cfg.blockSize)} block(s), ${fresh} bit(s) newly set over ${record.bitmaps.size} bitmap(s)`;
    // A Primary's copy of its logged extents is the newest; a Secondary's may lack writes its page cache lost.
    if (crashedWhileSecondary(record) && extents > 0) for (const p of cfg.peers) record.staleBitsFor.add(p.name);
    log.warn(`${cfg.name}: the last run ended while ${record.lastRole} without a clean shutdown: ${extents} activity-log extent(s) (${covered}) marked out of sync towards every peer${crashedWhileSecondary(record) && extents > 0 ? ', whose copy of them wins at one generation' : ''}`);
  }
  for (const p of record.staleBitsFor) if (!cfg.peers.some((q) => q.name === p)) record.staleBitsFor.delete(p);
  // The logged extents are in the bitmaps now; this run starts with an empty log, as Secondary.
  record.activityLog = new ActivityLog(cfg.alExtents, DEFAULT_EXTENT_SIZE, SEQUENTIAL_AHEAD, Math.ceil(cfg.size / DEFAULT_EXTENT_SIZE) - 1);
  record.lastRole = 'Secondary';
  record.cleanShutdown = true;
  return { disk, store, alStore: al.store, record, generations, diskState };
}

function freshRecord(cfg: BlockVolumeConfig): MetadataRecord {
  return {
    volumeSize: cfg.size,
    blockSize: cfg.blockSize,
    generations: JSON.parse(encodeGenerations(onNewVolume())) as unknown,
    bitmaps: new Map(cfg.peers.map((p) => [p.name, new Bitmap(cfg.size, cfg.blockSize)])),
    activityLog: new ActivityLog(cfg.alExtents),
    lastRole: 'Secondary',
    diskState: 'Inconsistent',
    cleanShutdown: true,
    fencedPeers: new Map(),
    staleBitsFor: new Set(),
    marksOnly: new Map(),
  };
}
