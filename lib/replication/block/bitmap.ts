// Quick-sync bitmap: one bit per block of the volume, set while a peer misses
// writes to that block, cleared as resync copies it (replication.md "Resync
// and verify": one bit per 4 KiB by default, one bitmap per peer, resync in
// disk order and resumable). Pure and in memory; the metadata store persists it.
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';

export const BITMAP_MAGIC = Buffer.from('TNDMBMAP', 'latin1');
export const BITMAP_VERSION = 1;
export const BITMAP_HEADER_LEN = 32;
export const DEFAULT_GRANULARITY = 4096;
// DRBD 9.3 allows up to 1 MiB per bit; below 512 B no block device writes.
export const MIN_GRANULARITY = 512;
export const MAX_GRANULARITY = 1 << 20;
// 16 TiB at 4 KiB per bit: a 512 MiB bitmap is the most we ever hold in memory.
export const MAX_BITS = 2 ** 32;
// The words' memory is the wire's little-endian layout: copied whole, not word by word (a 1 TiB bitmap in ms, not 100 ms).
const NATIVE_LE = endianness() === 'LE';

export type BitmapDecodeReason = 'truncated' | 'magic' | 'version' | 'geometry' | 'length' | 'checksum' | 'padding';
export type BitmapDecodeResult = { ok: true; bitmap: Bitmap } | { ok: false; reason: BitmapDecodeReason; detail: string };

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

// Hamming weight of a 32-bit word (the SWAR form: no table, no loop).
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

// Why a geometry is unusable, or null; shared by the constructor and decoder.
export function geometryProblem(volumeSize: number, granularity: number): string | null {
  if (!Number.isSafeInteger(volumeSize) || volumeSize <= 0) return `volume size ${volumeSize} is not a positive integer`;
  if (!isPowerOfTwo(granularity) || granularity < MIN_GRANULARITY || granularity > MAX_GRANULARITY) {
    return `granularity ${granularity} is not a power of two in ${MIN_GRANULARITY}..${MAX_GRANULARITY}`;
  }
  if (Math.ceil(volumeSize / granularity) > MAX_BITS) return `${volumeSize} bytes at ${granularity} per bit exceed ${MAX_BITS} bits`;
  return null;
}

export class Bitmap {
  readonly volumeSize: number;
  readonly granularity: number;
  readonly bits: number; // blocks, the last one possibly partial
  private readonly words: Uint32Array;
  private set = 0; // kept in step with words so countSet is O(1)

  constructor(volumeSize: number, granularity: number = DEFAULT_GRANULARITY) {
    const problem = geometryProblem(volumeSize, granularity);
    if (problem !== null) throw new RangeError(problem);
    this.volumeSize = volumeSize;
    this.granularity = granularity;
    this.bits = Math.ceil(volumeSize / granularity);
    this.words = new Uint32Array(Math.ceil(this.bits / 32));
  }

  // Every block the byte range touches: a partial-block write dirties the block.
  setRange(offset: number, length: number): number {
    this.checkRange(offset, length);
    if (length === 0) return 0;
    return this.fill(Math.floor(offset / this.granularity), Math.floor((offset + length - 1) / this.granularity) + 1, true);
  }

  // Only blocks the range covers whole (the volume's short last block counts
  // as whole when the range reaches the end): a half-copied block stays dirty.
  clearRange(offset: number, length: number): number {
    this.checkRange(offset, length);
    const end = offset + length;
    const first = Math.ceil(offset / this.granularity);
    const last = end === this.volumeSize ? this.bits : Math.floor(end / this.granularity);
    return last > first ? this.fill(first, last, false) : 0;
  }

  setBlocks(first: number, end: number): number {
    this.checkBlocks(first, end);
    return this.fill(first, end, true);
  }

  clearBlocks(first: number, end: number): number {
    this.checkBlocks(first, end);
    return this.fill(first, end, false);
  }

  // Full sync of a new or Inconsistent peer (replication.md "Resync").
  setAll(): void {
    this.fill(0, this.bits, true);
  }

  clearAll(): void {
    this.words.fill(0);
    this.set = 0;
  }

  isSet(block: number): boolean {
    if (!Number.isInteger(block) || block < 0 || block >= this.bits) return false;
    return ((this.words[block >>> 5] ?? 0) & (1 << (block & 31))) !== 0;
  }

  countSet(): number {
    return this.set;
  }

  // Bytes a resync must move: the short last block counts only its real bytes.
  outOfSyncBytes(): number {
    const tail = this.volumeSize - (this.bits - 1) * this.granularity;
    return this.set * this.granularity - (this.isSet(this.bits - 1) ? this.granularity - tail : 0);
  }

  // First set block at or after `from` and before `end`, or -1: resync walks in disk order and resumes here.
  nextSet(from = 0, end = this.bits): number {
    return this.scan(from, 0, end);
  }

  // First clear block at or after `from` (or `end`, `bits` unless given): the end of a dirty run.
  nextClear(from = 0, end = this.bits): number {
    const r = this.scan(from, 0xffffffff, end);
    return r === -1 ? Math.min(end, this.bits) : r;
  }

  // Blocks in (first, end) whose bit differs from the one before: a range holds this + 1 runs.
  transitions(first: number, end: number): number {
    this.checkBlocks(first, end);
    const lo = first + 1; // positions compared with their predecessor: [lo, end)
    if (lo >= end) return 0;
    let count = 0;
    let w = lo >>> 5;
    let carry = w > 0 ? (this.words[w - 1] ?? 0) >>> 31 : 0;
    for (; w * 32 < end; w++) {
      const word = this.words[w] ?? 0;
      let d = (word ^ ((word << 1) | carry)) >>> 0; // bit j: block 32w + j differs from the block before it
      carry = word >>> 31;
      const base = w * 32;
      if (lo > base) d = (d & (0xffffffff << (lo - base))) >>> 0;
      if (end - base < 32) d = (d & ((1 << (end - base)) - 1)) >>> 0;
      count += popcount32(d);
    }
    return count;
  }

  // Byte range of blocks [first, end), clipped at the volume end.
  blockRange(first: number, end: number): { offset: number; length: number } {
    const offset = first * this.granularity;
    return { offset, length: Math.min(end * this.granularity, this.volumeSize) - offset };
  }

  // OR in another peer's or an older copy's bits; geometry must match.
  merge(other: Bitmap): number {
    if (other.volumeSize !== this.volumeSize || other.granularity !== this.granularity) {
      throw new RangeError(`cannot merge a ${other.volumeSize}/${other.granularity} bitmap into ${this.volumeSize}/${this.granularity}`);
    }
    const before = this.set;
    let count = 0;
    for (let i = 0; i < this.words.length; i++) {
      const w = ((this.words[i] ?? 0) | (other.words[i] ?? 0)) >>> 0;
      this.words[i] = w;
      count += popcount32(w);
    }
    this.set = count;
    return count - before;
  }

  // Keeps only the blocks also set in `other` (geometry must match); returns the blocks left.
  intersect(other: Bitmap): number {
    if (other.volumeSize !== this.volumeSize || other.granularity !== this.granularity) {
      throw new RangeError(`cannot intersect a ${this.volumeSize}/${this.granularity} bitmap with ${other.volumeSize}/${other.granularity}`);
    }
    let count = 0;
    for (let i = 0; i < this.words.length; i++) {
      const w = ((this.words[i] ?? 0) & (other.words[i] ?? 0)) >>> 0;
      this.words[i] = w;
      count += popcount32(w);
    }
    this.set = count;
    return count;
  }

  // Clears every block the byte range touches (setRange's blocks, unlike clearRange's whole ones).
  clearTouched(offset: number, length: number): number {
    this.checkRange(offset, length);
    if (length === 0) return 0;
    return this.fill(Math.floor(offset / this.granularity), Math.floor((offset + length - 1) / this.granularity) + 1, false);
  }

  clone(): Bitmap {
    const copy = new Bitmap(this.volumeSize, this.granularity);
    copy.words.set(this.words);
    copy.set = this.set;
    return copy;
  }

  equals(other: Bitmap): boolean {
    if (other.volumeSize !== this.volumeSize || other.granularity !== this.granularity || other.set !== this.set) return false;
    for (let i = 0; i < this.words.length; i++) if (this.words[i] !== other.words[i]) return false;
    return true;
  }

  // Words [first, first + count) as little-endian u32 bytes (bit i of word w is block 32w + i): a copy.
  wordBytes(first: number, count: number): Buffer {
    this.checkWords(first, count);
    const out = Buffer.allocUnsafe(4 * count);
    this.copyWordsLE(out, 0, first, count);
    return out;
  }

  // OR in little-endian u32 words from word `first` on (a bitmap arriving in pieces); bits past the last block must be clear.
  orWordBytes(first: number, bytes: Buffer): void {
    if (bytes.length % 4 !== 0) throw new RangeError(`${bytes.length} bytes are not whole words`);
    const count = bytes.length / 4;
    this.checkWords(first, count);
    const spare = this.words.length * 32 - this.bits;
    if (count > 0 && first + count === this.words.length && spare > 0 && bytes.readUInt32LE(bytes.length - 4) >>> (32 - spare) !== 0) {
      throw new RangeError('bits past the last block are set');
    }
    for (let i = 0; i < count; i++) {
      const old = this.words[first + i] ?? 0;
      const next = (old | bytes.readUInt32LE(4 * i)) >>> 0;
      this.words[first + i] = next;
      this.set += popcount32(next) - popcount32(old);
    }
  }

  // Layout (all little-endian): magic "TNDMBMAP" | u16 version | u16 0 |
  // u32 granularity | u64 volume size | u32 crc32 | u32 0 | words as u32.
  // The crc covers the whole buffer with its own field taken as zero.
  serialize(): Buffer {
    const buf = Buffer.allocUnsafe(BITMAP_HEADER_LEN + this.words.length * 4);
    buf.fill(0, 0, BITMAP_HEADER_LEN);
    BITMAP_MAGIC.copy(buf, 0);
    buf.writeUInt16LE(BITMAP_VERSION, 8);
    buf.writeUInt32LE(this.granularity, 12);
    buf.writeBigUInt64LE(BigInt(this.volumeSize), 16);
    this.copyWordsLE(buf, BITMAP_HEADER_LEN, 0, this.words.length);
    buf.writeUInt32LE(crc32(buf), 24);
    return buf;
  }

  // Never throws: whatever the bytes, a bitmap or a reason.
  static deserialize(buf: Uint8Array): BitmapDecodeResult {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (b.length < BITMAP_HEADER_LEN) return { ok: false, reason: 'truncated', detail: `${b.length} bytes, the header has ${BITMAP_HEADER_LEN}` };
    if (!b.subarray(0, 8).equals(BITMAP_MAGIC)) return { ok: false, reason: 'magic', detail: `magic ${b.subarray(0, 8).toString('hex')}` };
    const version = b.readUInt16LE(8);
    if (version !== BITMAP_VERSION) return { ok: false, reason: 'version', detail: `format version ${version}, this build reads ${BITMAP_VERSION}` };
    const granularity = b.readUInt32LE(12);
    const size = b.readBigUInt64LE(16);
    const volumeSize = size > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(size);
    const problem = b.readUInt16LE(10) !== 0 || b.readUInt32LE(28) !== 0 ? 'reserved fields are not zero' : geometryProblem(volumeSize, granularity);
    if (problem !== null) return { ok: false, reason: 'geometry', detail: problem };
    const words = Math.ceil(Math.ceil(volumeSize / granularity) / 32);
    const want = BITMAP_HEADER_LEN + words * 4;
    if (b.length !== want) return { ok: false, reason: 'length', detail: `${b.length} bytes, ${volumeSize}/${granularity} needs ${want}` };
    const head = Buffer.from(b.subarray(0, BITMAP_HEADER_LEN));
    head.writeUInt32LE(0, 24); // the crc covers the buffer with its own field as zero
    if (crc32(b.subarray(BITMAP_HEADER_LEN), crc32(head)) !== b.readUInt32LE(24)) return { ok: false, reason: 'checksum', detail: 'crc32 mismatch' };
    const bm = new Bitmap(volumeSize, granularity);
    if (NATIVE_LE) Buffer.from(bm.words.buffer, bm.words.byteOffset, bm.words.byteLength).set(b.subarray(BITMAP_HEADER_LEN));
    else for (let i = 0; i < words; i++) bm.words[i] = b.readUInt32LE(BITMAP_HEADER_LEN + i * 4);
    let count = 0;
    for (let i = 0; i < words; i++) count += popcount32(bm.words[i] ?? 0);
    const spare = words * 32 - bm.bits;
    if (spare > 0 && (bm.words[words - 1] ?? 0) >>> (32 - spare) !== 0) {
      return { ok: false, reason: 'padding', detail: 'bits past the last block are set' };
    }
    bm.set = count;
    return { ok: true, bitmap: bm };
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.volumeSize) {
      throw new RangeError(`range ${offset}+${length} is outside the ${this.volumeSize}-byte volume`);
    }
  }

  // Words [first, first + count) into `out` at byte `at`, little-endian.
  private copyWordsLE(out: Buffer, at: number, first: number, count: number): void {
    if (NATIVE_LE) Buffer.from(this.words.buffer, this.words.byteOffset + 4 * first, 4 * count).copy(out, at);
    else for (let i = 0; i < count; i++) out.writeUInt32LE(this.words[first + i] ?? 0, at + 4 * i);
  }

  private checkWords(first: number, count: number): void {
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 0 || first + count > this.words.length) {
      throw new RangeError(`words [${first}, ${first + count}) are outside 0..${this.words.length}`);
    }
  }

  private checkBlocks(first: number, end: number): void {
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(end) || first < 0 || end < first || end > this.bits) {
      throw new RangeError(`blocks [${first}, ${end}) are outside 0..${this.bits}`);
    }
  }

  // Set or clear blocks [first, end), a word at a time; returns bits changed.
  private fill(first: number, end: number, value: boolean): number {
    let changed = 0;
    let i = first;
    while (i < end) {
      const w = i >>> 5;
      const lo = i & 31;
      const hi = Math.min(32, lo + (end - i));
      const mask = hi - lo === 32 ? 0xffffffff : (((1 << (hi - lo)) - 1) << lo) >>> 0;
      const old = this.words[w] ?? 0;
      const next = (value ? old | mask : old & ~mask) >>> 0;
      if (next !== old) {
        this.words[w] = next;
        changed += popcount32((old ^ next) >>> 0);
      }
      i += hi - lo;
    }
    this.set += value ? changed : -changed;
    return changed;
  }

  // First block in [from, end) whose bit differs from `skip` (0: find set, ~0: find clear), or -1.
  private scan(from: number, skip: number, end: number): number {
    if (!Number.isInteger(from) || from < 0) from = 0;
    const stop = Math.min(end, this.bits);
    if (from >= stop) return -1;
    const lastWord = (stop - 1) >>> 5; // words past the end are not looked at
    let w = from >>> 5;
    let word = ((this.words[w] ?? 0) ^ skip) & (0xffffffff << (from & 31));
    while (word === 0) {
      w++;
      if (w > lastWord) return -1;
      word = (this.words[w] ?? 0) ^ skip;
    }
    const found = w * 32 + ctz32(word);
    return found < stop ? found : -1;
  }
}
