// The activity log's own file, `<metadata>.al`: the extents a crash of the
// Primary must resync, written ahead of the data on the write path. It is
// a two-slot file (slot-file.ts) apart from the metadata record because the
// record carries every peer's bitmap (320 KiB per peer for 10 GiB): writing
// that at each new extent made random writes over more than al_extents x
// 4 MiB run at about 1.4k IOPS. The log is a few KiB and one fdatasync, as
// DRBD's activity-log transaction is one 4 KiB block.
//
// Payload (little-endian): u32 extent size | u32 count | count x u32 extent
// number, ascending. The slot's crc32 covers it. Pure codec, thin store.
import { extentSizeProblem } from './activity-log.js';
import { SlotFile, type StoreFailure, storeFailure } from './slot-file.js';

export interface LoggedExtents {
  extentSize: number;
  extents: number[]; // ascending when decoded; any order to encode
}

export type LoggedDecode = { ok: true; value: LoggedExtents } | { ok: false; detail: string };
export type AlStoreOpen =
  // `logged` is null when the file did not exist (a volume made before it did) and was created empty now.
  | { ok: true; store: ActivityLogStore; logged: LoggedExtents | null }
  | StoreFailure;

export function encodeLogged(extentSize: number, extents: Iterable<number>): Buffer {
  const problem = extentSizeProblem(extentSize);
  if (problem !== null) throw new RangeError(problem);
  const all: number[] = [];
  for (const e of extents) {
    if (!Number.isInteger(e) || e < 0 || e > 0xffffffff) throw new RangeError(`extent ${e} is not a u32`);
    all.push(e);
  }
  const sorted = Uint32Array.from(all).sort(); // a typed array sorts numerically, natively: this runs on the write path
  let count = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[count++] = sorted[i] as number;
  const buf = Buffer.alloc(8 + 4 * count);
  buf.writeUInt32LE(extentSize, 0);
  buf.writeUInt32LE(count, 4);
  for (let i = 0; i < count; i++) buf.writeUInt32LE(sorted[i] as number, 8 + 4 * i);
  return buf;
}

// Never throws.
export function decodeLogged(buf: Buffer): LoggedDecode {
  if (buf.length < 8) return { ok: false, detail: `${buf.length} bytes, the header has 8` };
  const extentSize = buf.readUInt32LE(0);
  const problem = extentSizeProblem(extentSize);
  if (problem !== null) return { ok: false, detail: problem };
  const count = buf.readUInt32LE(4);
  if (buf.length !== 8 + 4 * count) return { ok: false, detail: `${buf.length} bytes for ${count} extents` };
  const extents: number[] = [];
  for (let i = 0; i < count; i++) {
    const e = buf.readUInt32LE(8 + 4 * i);
    const prev = extents[i - 1];
    if (prev !== undefined && e <= prev) return { ok: false, detail: `extent ${e} after ${prev}: not ascending` };
    extents.push(e);
  }
  return { ok: true, value: { extentSize, extents } };
}

export class ActivityLogStore {
  private constructor(private readonly file: SlotFile) {}

  get sequence(): number {
    return this.file.sequence;
  }

  // Opens the file, or creates it empty when it does not exist.
  static async open(path: string, extentSize: number): Promise<AlStoreOpen> {
    const o = await SlotFile.open(path);
    if (!o.ok && o.reason === 'not-found') {
      const c = await SlotFile.create(path, encodeLogged(extentSize, []));
      return c.ok ? { ok: true, store: new ActivityLogStore(c.file), logged: null } : c;
    }
    if (!o.ok) return o;
    const d = decodeLogged(o.payload);
    if (!d.ok) {
      await o.file.close().catch(() => undefined);
      return storeFailure('invalid-record', `${path} slot ${'AB'[o.newest]} (sequence ${o.sequence}): ${d.detail}`);
    }
    return { ok: true, store: new ActivityLogStore(o.file), logged: d.value };
  }

  // Resolves once the list `current` gives when the write starts (the
  // newest; it never lacks an extent a waiting write pinned) is on stable
  // storage; its `written` runs first.
  save(current: () => LoggedExtents & { written?: () => void }): Promise<void> {
    return this.file.save(() => {
      const c = current();
      return { bytes: encodeLogged(c.extentSize, c.extents), ...(c.written ? { written: c.written } : {}) };
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
