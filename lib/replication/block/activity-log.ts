// Activity log: the bounded set of hot 4 MiB extents a Primary may write to.
// An extent is recorded (persisted) as active before any data is written to it,
// so after a Primary crash resyncing the logged extents covers every write
// that may have reached one disk and not the other (replication.md "Resync
// and verify"). Pure: the caller persists when touch() says `changed`.
//
// Write-ahead protocol for the caller:
//   1. r = al.touch(offset, length); if !r.ok wait for a release and retry.
//   2. if al.freshest(offset, length) >= 0, an extent of the range is not on
//      disk yet: persist a snapshot() taken from then on (or wait for one
//      being written whose upTo covers it), then call saved(upTo).
//   3. write the data; when every peer has it (or its bits are in the
//      bitmap), al.release(offset, length).
// An extent with writes in flight is pinned and never evicted, so a persisted
// log always covers every in-flight write. A second write to an extent whose
// save is still being written waits for that save too (step 2).
import { crc32 } from 'node:zlib';

export const AL_MAGIC = Buffer.from('TNDMACTL', 'latin1');
export const AL_VERSION = 1;
export const AL_HEADER_LEN = 32;
// The log's own file lies beside the metadata record (block/activity-log-store.ts); the config checks claim it too.
export function activityLogPath(metadataPath: string): string {
  return `${metadataPath}.al`;
}

export const DEFAULT_EXTENT_SIZE = 4 << 20; // DRBD's 4 MiB extents
// drbdsetup(8) --al-extents: default 1237 (about 4.8 GiB hot; a crash resyncs
// at most that). Fewer extents thrash metadata writes on random I/O.
export const DEFAULT_AL_EXTENTS = 1237;
export const MIN_AL_EXTENTS = 7; // DRBD's lower limit
export const MAX_AL_EXTENTS = 65534; // DRBD's upper limit (about 256 GiB resync after a crash)
// A write stream (each write starting where the last one ended) keeps this many
// extents logged ahead of it (1 GiB; at most a quarter of the log), topped up
// once half of them are used: one save per 512 MiB instead of one per 4 MiB,
// made while the stream still has 512 MiB logged. Each save
// is an fdatasync, which waits behind the device's whole queue (hundreds of
// ms while writeback is busy), so a stream that reached its last logged
// extent would stop for that long.
export const SEQUENTIAL_AHEAD = 256;

export type AlDecodeReason = 'truncated' | 'magic' | 'version' | 'geometry' | 'length' | 'checksum' | 'duplicate';
export type AlDecodeResult = { ok: true; log: ActivityLog } | { ok: false; reason: AlDecodeReason; detail: string };

export type TouchResult =
  | { ok: true; changed: boolean; added: number[]; evicted: number[] }
  // too-many-extents: one request spans more extents than the log holds (split it);
  // all-busy: every extent has writes in flight, wait for a release.
  | { ok: false; reason: 'too-many-extents' | 'all-busy'; detail: string };

// Byte ranges of extents, ascending, clipped to the volume.
export function extentRanges(extentSize: number, extents: Iterable<number>, volumeSize: number): Array<{ offset: number; length: number }> {
  const out: Array<{ offset: number; length: number }> = [];
  for (const e of [...extents].sort((a, b) => a - b)) {
    const offset = e * extentSize;
    if (offset >= volumeSize) continue;
    out.push({ offset, length: Math.min(extentSize, volumeSize - offset) });
  }
  return out;
}

// Why an extent size is unusable, or null; the log's own file checks it too (activity-log-store.ts).
export function extentSizeProblem(extentSize: number): string | null {
  if (Number.isSafeInteger(extentSize) && extentSize >= 4096 && extentSize <= 2 ** 30 && (extentSize & (extentSize - 1)) === 0) return null;
  return `extent size ${extentSize} is not a power of two in 4 KiB..1 GiB`;
}

function geometryProblem(extentSize: number, capacity: number): string | null {
  const size = extentSizeProblem(extentSize);
  if (size !== null) return size;
  if (!Number.isInteger(capacity) || capacity < MIN_AL_EXTENTS || capacity > MAX_AL_EXTENTS) {
    return `al-extents ${capacity} is not in ${MIN_AL_EXTENTS}..${MAX_AL_EXTENTS}`;
  }
  return null;
}

export class ActivityLog {
  readonly extentSize: number;
  readonly capacity: number;
  private readonly lru = new Map<number, number>(); // extent -> writes in flight; oldest first
  private readonly ahead: number;
  private lastEnd = -1; // the byte the last touch ended at: a write starting there continues a stream
  private readonly fresh = new Map<number, number>(); // extent -> epoch it was added in, until a snapshot that holds it is saved
  private epoch = 0;

  // `ahead`: extents logged ahead of a sequential stream (SEQUENTIAL_AHEAD; 0: none),
  // never past `lastExtent`, the volume's last (extents past it would only take room).
  constructor(capacity: number = DEFAULT_AL_EXTENTS, extentSize: number = DEFAULT_EXTENT_SIZE, ahead = 0, private readonly lastExtent = 0xffffffff) {
    const problem = geometryProblem(extentSize, capacity);
    if (problem !== null) throw new RangeError(problem);
    if (!Number.isInteger(ahead) || ahead < 0) throw new RangeError(`ahead ${ahead} is not a whole number`);
    this.extentSize = extentSize;
    this.capacity = capacity;
    this.ahead = Math.min(ahead, Math.floor(capacity / 4));
  }

  // The most bytes one write may pin: half the log's extents, less one, so it always fits beside the writes
  // in flight (the NBD export takes requests of up to 32 MiB, and WRITE_ZEROES of any size).
  get partSpan(): number {
    return Math.max(1, Math.floor(this.capacity / 2) - 1) * this.extentSize;
  }

  // A byte range as extent-aligned parts of at most partSpan bytes, in order (a block device promises no
  // atomicity beyond a sector either); one part when it fits.
  *parts(offset: number, length: number): Generator<{ offset: number; length: number }> {
    const span = this.partSpan;
    const end = offset + length;
    for (let at = offset; at < end;) {
      // Up to the extent boundary `span` bytes on, so a part never touches one extent more than it must.
      const next = Math.min(end, Math.floor((at + span) / this.extentSize) * this.extentSize);
      const to = next > at ? next : Math.min(end, at + span);
      yield { offset: at, length: to - at };
      at = to;
    }
  }

  // Extent numbers a byte range touches, in order; [] when there are more than fit.
  extentsOf(offset: number, length: number): number[] {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`bad range ${offset}+${length}`);
    }
    if (length === 0) return [];
    const first = Math.floor(offset / this.extentSize);
    const last = Math.floor((offset + length - 1) / this.extentSize);
    // Extent numbers are u32 on disk; a bigger count would not fit the log anyway.
    if (last > 0xffffffff || last - first >= this.capacity) return [];
    const out: number[] = [];
    for (let e = first; e <= last; e++) out.push(e);
    return out;
  }

  // Mark the range's extents active and pin them for one write in flight.
  touch(offset: number, length: number): TouchResult {
    const wanted = this.extentsOf(offset, length);
    if (wanted.length === 0 && length > 0) {
      return { ok: false, reason: 'too-many-extents', detail: `${offset}+${length} spans more than the ${this.capacity} extents the log holds` };
    }
    const added = wanted.filter((e) => !this.lru.has(e));
    const end = wanted[wanted.length - 1] ?? -1;
    // Checked as a stream enters an extent: within one, nothing ahead of it changes.
    const entering = end !== Math.floor((this.lastEnd - 1) / this.extentSize);
    const missing = offset === this.lastEnd && entering ? this.aheadOf(end) : [];
    const ahead = added.length > 0 || missing.length > this.ahead / 2 ? missing : [];
    const overflow = this.lru.size + added.length - this.capacity;
    const evicted: number[] = [];
    if (overflow + ahead.length > 0) {
      // Only idle extents the request does not need may go, oldest first.
      const want = new Set(wanted);
      for (const [e, pins] of this.lru) {
        if (evicted.length === overflow + ahead.length) break;
        if (pins === 0 && !want.has(e)) evicted.push(e);
      }
      if (evicted.length < overflow) {
        return { ok: false, reason: 'all-busy', detail: `${added.length} new extents, only ${evicted.length} idle to evict` };
      }
      ahead.length = Math.min(ahead.length, this.capacity - (this.lru.size - evicted.length + added.length)); // logging ahead never fails a write
    }
    for (const e of evicted) {
      this.lru.delete(e);
      this.fresh.delete(e);
    }
    for (const e of [...added, ...ahead]) this.fresh.set(e, this.epoch);
    for (const e of wanted) {
      const pins = this.lru.get(e) ?? 0;
      this.lru.delete(e); // re-insert: most recently used goes last
      this.lru.set(e, pins + 1);
    }
    for (const e of ahead) this.lru.set(e, 0);
    if (wanted.length > 0) this.lastEnd = offset + length;
    return { ok: true, changed: added.length + ahead.length > 0, added: [...added, ...ahead], evicted };
  }

  // The extents after `end` a sequential stream will want next, not logged yet.
  private aheadOf(end: number): number[] {
    const out: number[] = [];
    for (let e = end + 1; e <= end + this.ahead && e <= this.lastExtent; e++) if (!this.lru.has(e)) out.push(e);
    return out;
  }

  // One write in the range has completed everywhere; its extents may be evicted later.
  release(offset: number, length: number): void {
    for (const e of this.extentsOf(offset, length)) {
      const pins = this.lru.get(e);
      if (pins === undefined || pins === 0) throw new RangeError(`extent ${e} released more often than touched`);
      this.lru.set(e, pins - 1);
    }
  }

  // Every extent of the range is in the log and on disk: a write there needs no save and no wait.
  hot(offset: number, length: number): boolean {
    const first = Math.floor(offset / this.extentSize);
    const last = Math.floor((offset + length - 1) / this.extentSize);
    for (let e = first; e <= last; e++) if (!this.lru.has(e) || this.fresh.has(e)) return false;
    return length > 0;
  }

  // The newest epoch among the range's extents not yet on disk, or -1 when all are.
  freshest(offset: number, length: number): number {
    return this.freshestOf(this.extentsOf(offset, length));
  }

  freshestOf(extents: Iterable<number>): number {
    let newest = -1;
    for (const e of extents) newest = Math.max(newest, this.fresh.get(e) ?? -1);
    return newest;
  }

  // What to persist now: the extents, and `upTo`, every epoch the snapshot holds (for saved()).
  snapshot(): { extents: number[]; upTo: number } {
    return { extents: this.extents(), upTo: this.epoch++ };
  }

  // The snapshot with this upTo is on disk.
  saved(upTo: number): void {
    for (const [e, at] of this.fresh) if (at <= upTo) this.fresh.delete(e);
  }

  has(extent: number): boolean {
    return this.lru.has(extent);
  }

  inFlight(extent: number): number {
    return this.lru.get(extent) ?? 0;
  }

  // Oldest first.
  extents(): number[] {
    return [...this.lru.keys()];
  }

  // Byte ranges to resync after a Primary crash, clipped to the volume.
  ranges(volumeSize: number): Array<{ offset: number; length: number }> {
    return extentRanges(this.extentSize, this.lru.keys(), volumeSize);
  }

  // Layout (little-endian): magic "TNDMACTL" | u16 version | u16 0 |
  // u32 extent size | u32 capacity | u32 count | u32 crc32 | u32 0 |
  // count x u32 extent number, oldest first. In-flight pins are not stored:
  // after a restart nothing is in flight. The crc covers all with its field zero.
  serialize(): Buffer {
    const list = this.extents();
    const buf = Buffer.alloc(AL_HEADER_LEN + list.length * 4);
    AL_MAGIC.copy(buf, 0);
    buf.writeUInt16LE(AL_VERSION, 8);
    buf.writeUInt32LE(this.extentSize, 12);
    buf.writeUInt32LE(this.capacity, 16);
    buf.writeUInt32LE(list.length, 20);
    list.forEach((e, i) => buf.writeUInt32LE(e, AL_HEADER_LEN + i * 4));
    buf.writeUInt32LE(crc32(buf), 24);
    return buf;
  }

  // Never throws.
  static deserialize(buf: Uint8Array): AlDecodeResult {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (b.length < AL_HEADER_LEN) return { ok: false, reason: 'truncated', detail: `${b.length} bytes, the header has ${AL_HEADER_LEN}` };
    if (!b.subarray(0, 8).equals(AL_MAGIC)) return { ok: false, reason: 'magic', detail: `magic ${b.subarray(0, 8).toString('hex')}` };
    const version = b.readUInt16LE(8);
    if (version !== AL_VERSION) return { ok: false, reason: 'version', detail: `format version ${version}, this build reads ${AL_VERSION}` };
    const extentSize = b.readUInt32LE(12);
    const capacity = b.readUInt32LE(16);
    const count = b.readUInt32LE(20);
    const problem = b.readUInt16LE(10) !== 0 || b.readUInt32LE(28) !== 0 ? 'reserved fields are not zero' : geometryProblem(extentSize, capacity);
    if (problem !== null) return { ok: false, reason: 'geometry', detail: problem };
    if (count > capacity) return { ok: false, reason: 'geometry', detail: `${count} extents in a log of ${capacity}` };
    if (b.length !== AL_HEADER_LEN + count * 4) return { ok: false, reason: 'length', detail: `${b.length} bytes for ${count} extents` };
    const copy = Buffer.from(b);
    copy.writeUInt32LE(0, 24);
    if (crc32(copy) !== b.readUInt32LE(24)) return { ok: false, reason: 'checksum', detail: 'crc32 mismatch' };
    const log = new ActivityLog(capacity, extentSize);
    for (let i = 0; i < count; i++) {
      const e = b.readUInt32LE(AL_HEADER_LEN + i * 4);
      if (log.lru.has(e)) return { ok: false, reason: 'duplicate', detail: `extent ${e} appears twice` };
      log.lru.set(e, 0);
    }
    return { ok: true, log };
  }
}
