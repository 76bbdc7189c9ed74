// The out-of-sync bitmap as it crosses the link at connect (link protocol 5;
// DRBD's P_BITMAP and P_COMPRESSED_BITMAP with RLE_VLI_Bits): in pieces of
// at most CHUNK_BITS blocks, in disk order, each coded as plain words or as
// run lengths, whichever is smaller. A bitmap then travels in frames of at
// most about 4 MiB whatever the volume's size (a whole one in one frame
// stopped at 256 GiB), and a bitmap that is mostly clear or mostly set in a
// few bytes. Pure: encode returns payloads, BitmapAssembly checks each piece.
//
// Piece layout (little-endian):
//   0  u8   coding: 1 plain words, 2 runs
//   1  u8   flags: bit 0 = the last piece
//   2  u16  0
//   4  u32  granularity (bytes per block)
//   8  u64  volume size (bytes)
//   16 u64  first block (a multiple of 32)
//   24 u64  end block (exclusive; a multiple of 32 unless it is the last piece)
//   32 u32  crc32 of the whole piece with this field taken as zero
//   36 u32  0
//   40      plain: the words covering [first, end) as u32, bits past `end` clear
//           runs: LEB128 lengths (shortest form) of alternating clear and set
//           runs, clear first (only the first may be 0), summing to end - first
// A piece covers at most CHUNK_BITS blocks, so each costs bounded work to check.
import { crc32 } from 'node:zlib';
import { Bitmap } from '../block/bitmap.js';

export const PIECE_HEADER_LEN = 40;
export const CHUNK_BITS = 1 << 25; // 4 MiB of plain words
const PLAIN = 1;
const RUNS = 2;
const LAST = 1;
const MAX_VARINT_BYTES = 5; // 35 bits: more than any run in a piece

// Every piece of `bm`, in order; `chunkBits` (a multiple of 32) is for tests.
export function encodeBitmapPieces(bm: Bitmap, chunkBits = CHUNK_BITS): Buffer[] {
  if (!Number.isSafeInteger(chunkBits) || chunkBits <= 0 || chunkBits % 32 !== 0 || chunkBits > CHUNK_BITS) {
    throw new RangeError(`chunk of ${chunkBits} blocks is not a multiple of 32 in 32..${CHUNK_BITS}`);
  }
  const out: Buffer[] = [];
  for (let first = 0; first < bm.bits; first += chunkBits) {
    const end = Math.min(bm.bits, first + chunkBits);
    const plainLen = Math.ceil((end - first) / 32) * 4;
    // Each run takes at least a byte: with as many runs as plain bytes, plain wins without trying.
    const runs = bm.transitions(first, end) + 1 < plainLen ? encodeRuns(bm, first, end, plainLen) : null;
    const piece = Buffer.alloc(PIECE_HEADER_LEN + (runs === null ? plainLen : runs.length));
    piece.writeUInt8(runs === null ? PLAIN : RUNS, 0);
    piece.writeUInt8(end === bm.bits ? LAST : 0, 1);
    piece.writeUInt32LE(bm.granularity, 4);
    piece.writeBigUInt64LE(BigInt(bm.volumeSize), 8);
    piece.writeBigUInt64LE(BigInt(first), 16);
    piece.writeBigUInt64LE(BigInt(end), 24);
    (runs ?? bm.wordBytes(first / 32, plainLen / 4)).copy(piece, PIECE_HEADER_LEN);
    piece.writeUInt32LE(crc32(piece), 32);
    out.push(piece);
  }
  return out;
}

// The run lengths of blocks [first, end), or null once they would not be shorter than `limit` bytes.
function encodeRuns(bm: Bitmap, first: number, end: number, limit: number): Buffer | null {
  const out = Buffer.allocUnsafe(limit);
  let n = 0;
  let at = first;
  let set = false;
  while (at < end) {
    const found = set ? bm.nextClear(at, end) : bm.nextSet(at, end);
    const stop = found === -1 ? end : found;
    let v = stop - at;
    for (;;) {
      if (n >= limit) return null;
      if (v < 0x80) {
        out[n++] = v;
        break;
      }
      out[n++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    at = stop;
    set = !set;
  }
  return n >= limit ? null : out.subarray(0, n);
}

// The receiving side: pieces in order until the last; each checked before a bit of it is taken.
export class BitmapAssembly {
  private bm: Bitmap | null = null; // made with the first piece: a link that never sends one costs no bitmap
  private next = 0; // the first block the next piece must start at
  private done = false;
  private readonly bits: number;

  constructor(readonly volumeSize: number, readonly granularity: number) {
    this.bits = Math.ceil(volumeSize / granularity);
  }

  get complete(): boolean {
    return this.done;
  }

  get bitmap(): Bitmap {
    this.bm ??= new Bitmap(this.volumeSize, this.granularity);
    return this.bm;
  }

  // Null when the piece is taken, else what is wrong with it (the link drops).
  add(payload: Uint8Array): string | null {
    const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (this.done) return 'a bitmap piece after the last one';
    if (b.length < PIECE_HEADER_LEN) return `bitmap piece of ${b.length} bytes, the header alone has ${PIECE_HEADER_LEN}`;
    const coding = b.readUInt8(0);
    const flags = b.readUInt8(1);
    if (coding !== PLAIN && coding !== RUNS) return `bitmap piece coding ${coding}, want ${PLAIN} (plain) or ${RUNS} (runs)`;
    if ((flags & ~LAST) !== 0 || b.readUInt16LE(2) !== 0 || b.readUInt32LE(36) !== 0) return 'bitmap piece: reserved bits are not zero';
    const granularity = b.readUInt32LE(4);
    const size = b.readBigUInt64LE(8);
    if (granularity !== this.granularity || size !== BigInt(this.volumeSize)) {
      return `bitmap piece geometry ${size}/${granularity} is not the volume's ${this.volumeSize}/${this.granularity}`;
    }
    const bits = this.bits;
    const first = b.readBigUInt64LE(16);
    const end = b.readBigUInt64LE(24);
    if (first !== BigInt(this.next)) return `bitmap piece starts at block ${first}, want ${this.next} (pieces come in order)`;
    if (end <= first || end > BigInt(bits)) return `bitmap piece ends at block ${end}, want ${this.next + 1}..${bits}`;
    const last = (flags & LAST) !== 0;
    const stop = Number(end);
    if (last !== (stop === bits)) return last ? `the last bitmap piece ends at block ${stop}, before the volume's ${bits}` : `bitmap piece reaching block ${bits} is not marked last`;
    if (!last && stop % 32 !== 0) return `bitmap piece ends at block ${stop}, not a multiple of 32`;
    if (stop - this.next > CHUNK_BITS) return `bitmap piece covers ${stop - this.next} blocks, at most ${CHUNK_BITS}`;
    const head = Buffer.from(b.subarray(0, PIECE_HEADER_LEN));
    head.writeUInt32LE(0, 32); // the crc covers the piece with its own field as zero
    if (crc32(b.subarray(PIECE_HEADER_LEN), crc32(head)) !== b.readUInt32LE(32)) return 'bitmap piece: crc32 mismatch';
    const data = b.subarray(PIECE_HEADER_LEN);
    const error = coding === PLAIN ? this.takePlain(this.next, stop, data) : this.takeRuns(this.next, stop, data);
    if (error !== null) return error;
    this.next = stop;
    this.done = last;
    return null;
  }

  private takePlain(first: number, end: number, data: Buffer): string | null {
    const count = Math.ceil((end - first) / 32);
    if (data.length !== count * 4) return `plain bitmap piece of ${data.length} bytes, blocks ${first}..${end} need ${count * 4}`;
    const spare = count * 32 - (end - first);
    if (spare > 0 && data.readUInt32LE(4 * (count - 1)) >>> (32 - spare) !== 0) return `plain bitmap piece: bits past block ${end} are set`;
    this.bitmap.orWordBytes(first / 32, data);
    return null;
  }

  // Checked whole before any bit is set (a first pass), so a bad piece leaves the bitmap as it was.
  private takeRuns(first: number, end: number, data: Buffer): string | null {
    const error = walkRuns(data, end - first, null);
    if (error !== null) return error;
    const bm = this.bitmap;
    let block = first;
    walkRuns(data, end - first, (n, set) => {
      if (set) bm.setBlocks(block, block + n);
      block += n;
    });
    return null;
  }
}

// Decodes the run lengths of a piece of `span` blocks, handing each to `take` (clear run first): null when they are sound.
function walkRuns(data: Buffer, span: number, take: ((n: number, set: boolean) => void) | null): string | null {
  let total = 0;
  let runs = 0;
  let at = 0;
  while (at < data.length) {
    let v = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (at >= data.length) return 'bitmap piece: a run length is cut off';
      if (i === MAX_VARINT_BYTES) return `bitmap piece: a run length longer than ${MAX_VARINT_BYTES} bytes`;
      const byte = data[at++] as number;
      if (byte === 0 && i > 0) return 'bitmap piece: a run length not in its shortest form';
      v += (byte & 0x7f) * scale;
      scale *= 0x80;
      if ((byte & 0x80) === 0) break;
    }
    if (v === 0 && runs > 0) return `bitmap piece: run ${runs + 1} is empty (only the first may be)`;
    total += v;
    if (total > span) return `bitmap piece: runs cover more than its ${span} blocks`;
    take?.(v, runs % 2 === 1);
    runs++;
  }
  return total === span ? null : `bitmap piece: runs cover ${total} of its ${span} blocks`;
}
