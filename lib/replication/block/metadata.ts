// The metadata record kept beside a volume's image, and its payload codec
// (pure). What DRBD keeps in its meta-data area: generation identifiers, one
// quick-sync bitmap per peer, the activity log, role and disk state, and
// whether the last shutdown was clean (replication.md "Generation
// identifiers", "States", "Resync and verify"). The file layout and the
// crash-safe slots are metadata-slot.ts's; the I/O is metadata-store.ts's.
//
// Payload layout: u32 LE json length | UTF-8 JSON | blobs. The JSON holds the
// scalar fields, the opaque `generations` value and, for each bitmap and the
// activity log, {at, length} of its blob (offsets from the payload start).
// Bitmaps and the log carry their own magic and crc32 (bitmap.ts, activity-log.ts).
import { ActivityLog, extentRanges } from './activity-log.js';
import type { LoggedExtents } from './activity-log-store.js';
import { isNodeName } from '../../config/names.js';
import { decodeFencedPeers, fencedPeersJson, type FencedPeers } from '../fencing.js';
import { Bitmap, geometryProblem } from './bitmap.js';

export const ROLES = ['Primary', 'Secondary'] as const;
export type Role = (typeof ROLES)[number];
// The disk states a node can persist; Diskless, Attaching and DUnknown are runtime only.
export const DISK_STATES = ['UpToDate', 'Inconsistent', 'Outdated', 'Consistent'] as const;
export type DiskState = (typeof DISK_STATES)[number];

export const MAX_JSON_BYTES = 1 << 20;
export const MAX_PEERS = 31; // DRBD 9's limit of peers per resource

export interface MetadataRecord {
  volumeSize: number;
  blockSize: number; // bitmap granularity: bytes per bit
  generations: unknown; // owned by the generation-identifier module; validated by its callback
  bitmaps: Map<string, Bitmap>; // peer name -> out-of-sync blocks towards that peer
  activityLog: ActivityLog;
  lastRole: Role;
  diskState: DiskState;
  // false while a Primary runs, or a Secondary takes a Primary's writes or tracks third peers: on open the logged
  // extents are marked out of sync towards every peer (and a Secondary forgets its entries for third peers)
  cleanShutdown: boolean;
  fencedPeers: FencedPeers; // what fencing made of absent peers (fencing.ts)
  // Peers our bits for include marks of our own crash as Secondary: our copy of those blocks may be stale, so at
  // one generation the peer's copy wins (volume-open.ts, handshake-decision.ts).
  staleBitsFor: Set<string>;
  // Per peer, the blocks whose bit only a lost Primary's marks set (volume/reconcile.ts): kept across a restart, so
  // they still count as no change of ours, and a Secondary in step with a new Primary still keeps them.
  marksOnly: Map<string, Bitmap>;
}

// A reason to refuse `generations`, or null to accept it.
export type GenerationsCheck = (generations: unknown) => string | null;

export type RecordRejection = 'truncated' | 'json' | 'field' | 'bitmap' | 'activity-log' | 'generations';
export type RecordDecodeResult = { ok: true; record: MetadataRecord } | { ok: false; reason: RecordRejection; detail: string };

interface BlobRef {
  at: number;
  length: number;
}

interface RecordJson {
  volumeSize: number;
  blockSize: number;
  lastRole: Role;
  diskState: DiskState;
  cleanShutdown: boolean;
  generations: unknown;
  bitmaps: Array<{ peer: string } & BlobRef>;
  activityLog: BlobRef;
  fencedPeers: Record<string, string>; // absent in records from before it was saved
  staleBitsFor: string[]; // absent in records from before it was saved
  marksOnly: Array<{ peer: string } & BlobRef>; // absent in records from before it was saved
}

// Why a record may not be saved, or null. Programmer errors, found before any byte is written.
export function recordProblem(r: MetadataRecord): string | null {
  const geometry = geometryProblem(r.volumeSize, r.blockSize);
  if (geometry !== null) return geometry;
  if (!(ROLES as readonly string[]).includes(r.lastRole)) return `lastRole ${String(r.lastRole)}`;
  if (!(DISK_STATES as readonly string[]).includes(r.diskState)) return `diskState ${String(r.diskState)}`;
  if (typeof r.cleanShutdown !== 'boolean') return 'cleanShutdown is not a boolean';
  for (const [what, maps] of [['bitmap', r.bitmaps], ['marks-only bitmap', r.marksOnly]] as const) {
    if (maps.size > MAX_PEERS) return `${maps.size} peers, at most ${MAX_PEERS}`;
    for (const [peer, bm] of maps) {
      if (!isNodeName(peer)) return `peer name ${JSON.stringify(peer)}`;
      if (bm.volumeSize !== r.volumeSize || bm.granularity !== r.blockSize) {
        return `${what} for ${peer} is ${bm.volumeSize}/${bm.granularity}, the volume ${r.volumeSize}/${r.blockSize}`;
      }
    }
  }
  const fenced = decodeFencedPeers(fencedPeersJson(r.fencedPeers));
  if (!fenced.ok) return fenced.detail;
  const stale = decodeStaleBitsFor([...r.staleBitsFor]);
  if (!stale.ok) return stale.detail;
  return null;
}

// From a record's JSON; absent (a record saved before it was) is none.
function decodeStaleBitsFor(x: unknown): { ok: true; value: Set<string> } | { ok: false; detail: string } {
  if (x === undefined) return { ok: true, value: new Set() };
  if (!Array.isArray(x) || x.length > MAX_PEERS) return { ok: false, detail: `staleBitsFor is not a list of at most ${MAX_PEERS} peers` };
  const value = new Set<string>();
  for (const peer of x as unknown[]) {
    if (typeof peer !== 'string' || !isNodeName(peer) || value.has(peer)) return { ok: false, detail: `staleBitsFor names ${JSON.stringify(String(peer).slice(0, 80))}: not a node name, or twice` };
    value.add(peer);
  }
  return { ok: true, value };
}

export function encodeRecord(r: MetadataRecord): Buffer {
  return Buffer.concat(encodeRecordParts(r));
}

// The payload in parts (the JSON head, then each bitmap and the log as serialized, not copied again).
export function encodeRecordParts(r: MetadataRecord): Buffer[] {
  const problem = recordProblem(r);
  if (problem !== null) throw new RangeError(`metadata record: ${problem}`);
  const blobs: Buffer[] = [];
  let at = 0; // relative to the blob area; fixed up below
  const place = (b: Buffer): BlobRef => {
    blobs.push(b);
    const ref = { at, length: b.length };
    at += b.length;
    return ref;
  };
  const bitmaps = [...r.bitmaps].map(([peer, bm]) => ({ peer, ...place(bm.serialize()) }));
  const activityLog = place(r.activityLog.serialize());
  const marksOnly = [...r.marksOnly].map(([peer, bm]) => ({ peer, ...place(bm.serialize()) }));
  const doc: RecordJson = {
    volumeSize: r.volumeSize,
    blockSize: r.blockSize,
    lastRole: r.lastRole,
    diskState: r.diskState,
    cleanShutdown: r.cleanShutdown,
    generations: r.generations,
    bitmaps,
    activityLog,
    fencedPeers: fencedPeersJson(r.fencedPeers),
    staleBitsFor: [...r.staleBitsFor].sort(),
    marksOnly,
  };
  // Offsets count from the payload start; the JSON length depends on them, so
  // pad them to a fixed width by shifting once with a generous upper bound.
  let json = Buffer.from(JSON.stringify(doc), 'utf8');
  const refs = [...bitmaps, activityLog, ...marksOnly];
  const base = 4 + json.length + 16 * refs.length; // each offset grows by at most 16 digits
  for (const b of refs) b.at += base;
  json = Buffer.from(JSON.stringify(doc), 'utf8');
  if (json.length > MAX_JSON_BYTES) throw new RangeError(`metadata JSON is ${json.length} bytes, at most ${MAX_JSON_BYTES}`);
  const head = Buffer.alloc(base);
  head.writeUInt32LE(json.length, 0);
  json.copy(head, 4);
  return [head, ...blobs];
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function blob(payload: Buffer, ref: unknown): Buffer | null {
  if (!isObject(ref)) return null;
  const { at, length } = ref;
  if (!Number.isSafeInteger(at) || !Number.isSafeInteger(length)) return null;
  const a = at as number;
  const l = length as number;
  return a >= 0 && l >= 0 && a + l <= payload.length ? payload.subarray(a, a + l) : null;
}

// Never throws, whatever the bytes or the callback's opinion.
export function decodeRecord(payload: Buffer, checkGenerations?: GenerationsCheck): RecordDecodeResult {
  if (payload.length < 4) return { ok: false, reason: 'truncated', detail: `${payload.length} bytes` };
  const jsonLen = payload.readUInt32LE(0);
  if (jsonLen > MAX_JSON_BYTES || 4 + jsonLen > payload.length) return { ok: false, reason: 'truncated', detail: `JSON of ${jsonLen} bytes` };
  let doc: unknown;
  try {
    doc = JSON.parse(payload.subarray(4, 4 + jsonLen).toString('utf8'));
  } catch (e) {
    return { ok: false, reason: 'json', detail: (e as Error).message };
  }
  if (!isObject(doc)) return { ok: false, reason: 'json', detail: 'not an object' };
  const { volumeSize, blockSize, lastRole, diskState, cleanShutdown, generations, bitmaps, activityLog, fencedPeers, staleBitsFor, marksOnly } = doc;
  if (typeof volumeSize !== 'number' || typeof blockSize !== 'number') return { ok: false, reason: 'field', detail: 'volumeSize / blockSize' };
  if (typeof lastRole !== 'string' || !(ROLES as readonly string[]).includes(lastRole)) return { ok: false, reason: 'field', detail: `lastRole ${String(lastRole)}` };
  if (typeof diskState !== 'string' || !(DISK_STATES as readonly string[]).includes(diskState)) return { ok: false, reason: 'field', detail: `diskState ${String(diskState)}` };
  if (typeof cleanShutdown !== 'boolean') return { ok: false, reason: 'field', detail: 'cleanShutdown' };
  const fenced = decodeFencedPeers(fencedPeers);
  if (!fenced.ok) return { ok: false, reason: 'field', detail: fenced.detail };
  const stale = decodeStaleBitsFor(staleBitsFor);
  if (!stale.ok) return { ok: false, reason: 'field', detail: stale.detail };
  const maps = decodeBitmaps(payload, bitmaps, 'bitmap', volumeSize, blockSize);
  if (!maps.ok) return maps;
  // Absent in a record saved before it was: none.
  const only = decodeBitmaps(payload, marksOnly ?? [], 'marks-only bitmap', volumeSize, blockSize);
  if (!only.ok) return only;
  const alBytes = blob(payload, activityLog);
  if (alBytes === null) return { ok: false, reason: 'activity-log', detail: 'blob out of bounds' };
  const al = ActivityLog.deserialize(alBytes);
  if (!al.ok) return { ok: false, reason: 'activity-log', detail: `${al.reason}: ${al.detail}` };
  if (checkGenerations !== undefined) {
    let why: string | null;
    try {
      why = checkGenerations(generations);
    } catch (e) {
      why = `check threw: ${(e as Error).message}`;
    }
    if (why !== null) return { ok: false, reason: 'generations', detail: why };
  }
  const record: MetadataRecord = {
    volumeSize,
    blockSize,
    generations,
    bitmaps: maps.value,
    activityLog: al.log,
    lastRole: lastRole as Role,
    diskState: diskState as DiskState,
    cleanShutdown,
    fencedPeers: fenced.value,
    staleBitsFor: stale.value,
    marksOnly: only.value,
  };
  const problem = recordProblem(record);
  return problem === null ? { ok: true, record } : { ok: false, reason: 'field', detail: problem };
}

// A list of {peer, at, length} entries, each a serialized bitmap of the volume's geometry.
function decodeBitmaps(payload: Buffer, list: unknown, what: string, volumeSize: number, blockSize: number): { ok: true; value: Map<string, Bitmap> } | { ok: false; reason: RecordRejection; detail: string } {
  if (!Array.isArray(list) || list.length > MAX_PEERS) return { ok: false, reason: 'field', detail: `${what}s: not a list of at most ${MAX_PEERS}` };
  const value = new Map<string, Bitmap>();
  for (const entry of list as unknown[]) {
    const peer = isObject(entry) ? entry.peer : undefined;
    if (typeof peer !== 'string' || !isNodeName(peer) || value.has(peer)) return { ok: false, reason: 'field', detail: `${what} peer ${String(peer)}` };
    const bytes = blob(payload, entry);
    if (bytes === null) return { ok: false, reason: 'bitmap', detail: `${what} blob of ${peer} is out of bounds` };
    const bm = Bitmap.deserialize(bytes);
    if (!bm.ok) return { ok: false, reason: 'bitmap', detail: `${what} of ${peer}: ${bm.reason}: ${bm.detail}` };
    if (bm.bitmap.volumeSize !== volumeSize || bm.bitmap.granularity !== blockSize) {
      return { ok: false, reason: 'bitmap', detail: `${what} of ${peer}: geometry differs from the volume's` };
    }
    value.set(peer, bm.bitmap);
  }
  return { ok: true, value };
}

// After a crash (cleanShutdown false) writes in the logged extents may be on
// one disk and not another: mark them out of sync towards every peer
// (replication.md "Resync and verify": "after a primary crash all hot
// extents are resynced"; a Secondary logs its Primary's writes, see
// volume/secondary-log.ts). `logged` is the activity
// log's own file (activity-log-store.ts), newer than the record's copy; both
// count. Returns the bits newly set.
export function markActivityLogOutOfSync(record: MetadataRecord, logged: LoggedExtents | null = null): number {
  const ranges = record.activityLog.ranges(record.volumeSize);
  if (logged !== null) ranges.push(...extentRanges(logged.extentSize, logged.extents, record.volumeSize));
  let changed = 0;
  for (const bm of record.bitmaps.values()) {
    for (const { offset, length } of ranges) changed += bm.setRange(offset, length);
  }
  return changed;
}

export function crashedWhilePrimary(record: MetadataRecord): boolean {
  return !record.cleanShutdown && record.lastRole === 'Primary';
}

// A Secondary saves cleanShutdown false before it logs its Primary's writes or tracks third peers' misses
// (volume/unclean-record.ts).
export function crashedWhileSecondary(record: MetadataRecord): boolean {
  return !record.cleanShutdown && record.lastRole === 'Secondary';
}

// Every block out of sync towards every peer (DRBD sets the whole bitmap): the local data is not to be trusted.
export function markAllOutOfSync(record: MetadataRecord): void {
  for (const bm of record.bitmaps.values()) bm.setAll();
}
