// The `<device>.meta` file: two checksummed slots, A at 0 and B at `capacity`,
// each holding a whole record with a sequence number. A save overwrites the
// slot *not* holding the newest record and fsyncs it, so a crash mid-write
// tears only that slot and the other still holds the previous record.
// Why slots and not write-new + rename: a save is then one pwrite and one
// fdatasync, no rename and no directory fsync, which matters because the
// activity log is saved on the write path (replication.md "Activity log: ...
// too few extents thrash metadata writes"). Rename is kept for the rare
// re-layout when a record outgrows its slot (metadata-store.ts).
//
// Slot header (little-endian, 32 bytes) then the payload (metadata.ts):
//   0 magic "TNDMMETA" | 8 u16 format version | 10 u16 0 | 12 u32 slot capacity |
//   16 u64 sequence | 24 u32 payload length | 28 u32 crc32 of header (crc = 0) + payload
// Pure; never throws on file bytes.
import { crc32 } from 'node:zlib';

export const META_MAGIC = Buffer.from('TNDMMETA', 'latin1');
export const META_VERSION = 1;
export const SLOT_HEADER_LEN = 32;
export const SLOT_ALIGN = 4096; // slots never share a page or sector
export const MAX_SLOT_CAPACITY = 1 << 30;

export type SlotRejection = 'empty' | 'truncated' | 'magic' | 'version' | 'geometry' | 'checksum';
export type SlotVerdict =
  | { ok: true; sequence: number; capacity: number; payload: Buffer }
  | { ok: false; reason: SlotRejection; detail: string };

export function slotCapacityFor(payloadLength: number): number {
  // Headroom so generation history or an extra peer rarely forces a re-layout.
  const want = SLOT_HEADER_LEN + payloadLength + Math.max(64 << 10, payloadLength >>> 2);
  return Math.ceil(want / SLOT_ALIGN) * SLOT_ALIGN;
}

// A payload whole, or in parts that are written one after the other.
export type SlotBytes = Buffer | readonly Buffer[];

export function slotBytesLength(b: SlotBytes): number {
  return Buffer.isBuffer(b) ? b.length : b.reduce((n, p) => n + p.length, 0);
}

// The slot as its header followed by the payload's parts, which are not
// copied: a 1 TiB volume's record holds 32 MiB per peer bitmap, and each
// copy of it is event-loop time at every save.
export function encodeSlotParts(sequence: number, capacity: number, payload: SlotBytes): Buffer[] {
  const parts = Buffer.isBuffer(payload) ? [payload] : [...payload];
  const length = slotBytesLength(parts);
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError(`sequence ${sequence}`);
  if (capacity % SLOT_ALIGN !== 0 || capacity > MAX_SLOT_CAPACITY || SLOT_HEADER_LEN + length > capacity) {
    throw new RangeError(`${length}-byte payload in a ${capacity}-byte slot`);
  }
  const head = Buffer.alloc(SLOT_HEADER_LEN);
  META_MAGIC.copy(head, 0);
  head.writeUInt16LE(META_VERSION, 8);
  head.writeUInt32LE(capacity, 12);
  head.writeBigUInt64LE(BigInt(sequence), 16);
  head.writeUInt32LE(length, 24);
  // The crc of header (crc field 0) + payload, carried from part to part; an empty part is skipped, as
  // zlib.crc32 answers 0 for an empty buffer without a backing store instead of the value carried in.
  head.writeUInt32LE(parts.reduce((crc, p) => (p.length === 0 ? crc : crc32(p, crc)), crc32(head)), 28);
  return [head, ...parts];
}

export function encodeSlot(sequence: number, capacity: number, payload: SlotBytes): Buffer {
  return Buffer.concat(encodeSlotParts(sequence, capacity, payload));
}

// `bytes` starts at the slot and may run past it (or stop short, when torn).
export function decodeSlot(bytes: Buffer, expectCapacity?: number): SlotVerdict {
  if (bytes.length < SLOT_HEADER_LEN) return { ok: false, reason: 'truncated', detail: `${bytes.length} bytes, a slot header has ${SLOT_HEADER_LEN}` };
  const head = bytes.subarray(0, SLOT_HEADER_LEN);
  if (head.every((b) => b === 0)) return { ok: false, reason: 'empty', detail: 'never written' };
  if (!head.subarray(0, 8).equals(META_MAGIC)) return { ok: false, reason: 'magic', detail: `magic ${head.subarray(0, 8).toString('hex')}` };
  const version = head.readUInt16LE(8);
  if (version !== META_VERSION) return { ok: false, reason: 'version', detail: `format version ${version}, this build reads ${META_VERSION}` };
  const capacity = head.readUInt32LE(12);
  const seq = head.readBigUInt64LE(16);
  const length = head.readUInt32LE(24);
  if (capacity % SLOT_ALIGN !== 0 || capacity === 0 || capacity > MAX_SLOT_CAPACITY || SLOT_HEADER_LEN + length > capacity) {
    return { ok: false, reason: 'geometry', detail: `${length}-byte payload in a ${capacity}-byte slot` };
  }
  if (expectCapacity !== undefined && capacity !== expectCapacity) {
    return { ok: false, reason: 'geometry', detail: `slot says capacity ${capacity}, its place says ${expectCapacity}` };
  }
  if (seq < 1n || seq > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'geometry', detail: `sequence ${seq}` };
  if (bytes.length < SLOT_HEADER_LEN + length) {
    return { ok: false, reason: 'truncated', detail: `${bytes.length - SLOT_HEADER_LEN} of ${length} payload bytes` };
  }
  const zeroed = Buffer.from(head);
  zeroed.writeUInt32LE(0, 28);
  if (crc32(bytes.subarray(SLOT_HEADER_LEN, SLOT_HEADER_LEN + length), crc32(zeroed)) !== head.readUInt32LE(28)) {
    return { ok: false, reason: 'checksum', detail: 'crc32 mismatch: torn or corrupt' };
  }
  return { ok: true, sequence: Number(seq), capacity, payload: Buffer.from(bytes.subarray(SLOT_HEADER_LEN, SLOT_HEADER_LEN + length)) };
}

export interface FileVerdict {
  slots: [SlotVerdict, SlotVerdict]; // A, B
  capacity: number | null; // slot size, when either slot tells it
  newest: 0 | 1 | null; // the valid slot with the higher sequence
}

// Read both slots of a whole file. B sits at A's capacity; when A is torn,
// B is found by its own header, which must name its offset as its capacity.
export function readSlots(file: Buffer): FileVerdict {
  const a = decodeSlot(file);
  let b: SlotVerdict = { ok: false, reason: 'truncated', detail: 'file ends before slot B' };
  if (a.ok) {
    if (file.length > a.capacity) b = decodeSlot(file.subarray(a.capacity), a.capacity);
  } else {
    for (let at = SLOT_ALIGN; at + SLOT_HEADER_LEN <= file.length && at <= MAX_SLOT_CAPACITY; at += SLOT_ALIGN) {
      const v = decodeSlot(file.subarray(at), at);
      if (v.ok) {
        b = v;
        break;
      }
    }
    // Nothing valid found: report what sits where B would be in a two-slot file.
    const half = file.length / 2;
    if (!b.ok && half >= SLOT_ALIGN && half % SLOT_ALIGN === 0) b = decodeSlot(file.subarray(half), half);
  }
  const capacity = a.ok ? a.capacity : b.ok ? b.capacity : null;
  let newest: 0 | 1 | null = null;
  if (a.ok && b.ok) newest = b.sequence > a.sequence ? 1 : 0;
  else if (a.ok) newest = 0;
  else if (b.ok) newest = 1;
  return { slots: [a, b], capacity, newest };
}
