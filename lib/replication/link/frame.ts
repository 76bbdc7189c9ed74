// Frame codec of the replication peer link. Pure and synchronous: decode never
// throws on wire data; encode throws RangeError only for a programmer's mistake.
//
// Header, 20 bytes, big-endian (network order):
//   0  u32 magic 0x54444c4b ("TDLK")
//   4  u8  format version (1)
//   5  u8  frame type (frame-types.ts)
//   6  u16 flags (meaning per type; unknown bits rejected)
//   8  u64 sequence number (per direction, from 0, +1 per frame)
//   16 u32 payload length, then the payload
import { ALLOWED_FLAGS, FRAME_TYPES, type FrameType, frameTypeOf } from './frame-types.js';

export const FRAME_MAGIC = 0x54444c4b;
export const FRAME_FORMAT_VERSION = 1;
export const HEADER_LEN = 20;
export const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024; // one 8 MiB write; a frame is at most this + HEADER_LEN
const MAGIC_BYTES = Buffer.from([0x54, 0x44, 0x4c, 0x4b]);
const U64_MAX = (1n << 64n) - 1n;

export interface Frame {
  type: FrameType;
  flags: number;
  seq: bigint;
  payload: Buffer;
}

export const FRAME_ERRORS = [
  'bad-magic', // not a tandem link frame (wrong port, garbage, desynchronised stream)
  'unsupported-version', // header format version other than ours
  'unknown-type', // type code we do not know
  'bad-flags', // a flag bit this type may not carry
  'oversized', // payload length above the configured maximum
  'truncated', // stream or buffer ended inside a frame
  'trailing-bytes', // decodeFrame: bytes after the one frame
] as const;
export type FrameErrorReason = (typeof FRAME_ERRORS)[number];

export interface FrameError {
  reason: FrameErrorReason;
  detail: string;
}

export type HeaderResult =
  | { ok: true; type: FrameType; flags: number; seq: bigint; length: number }
  | { ok: false; error: FrameError }
  | { ok: 'partial' }; // fewer than HEADER_LEN bytes, and what is there looks right

function fail(reason: FrameErrorReason, detail: string): { ok: false; error: FrameError } {
  return { ok: false, error: { reason, detail } };
}

// Checks a header as far as `bytes` reaches, so garbage is rejected at its
// first byte, not only after 20 bytes arrived.
export function decodeHeader(bytes: Uint8Array, maxPayload = DEFAULT_MAX_PAYLOAD): HeaderResult {
  const n = Math.min(bytes.length, 4);
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== MAGIC_BYTES[i]) return fail('bad-magic', `byte ${i} is 0x${(bytes[i] ?? 0).toString(16)}`);
  }
  if (bytes.length > 4 && bytes[4] !== FRAME_FORMAT_VERSION) {
    return fail('unsupported-version', `format version ${bytes[4]}, want ${FRAME_FORMAT_VERSION}`);
  }
  let type: FrameType | undefined;
  if (bytes.length > 5) {
    type = frameTypeOf(bytes[5] ?? 0);
    if (type === undefined) return fail('unknown-type', `type code 0x${(bytes[5] ?? 0).toString(16)}`);
  }
  if (bytes.length < HEADER_LEN || type === undefined) return { ok: 'partial' };
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_LEN);
  const flags = view.readUInt16BE(6);
  if ((flags & ~ALLOWED_FLAGS[type]) !== 0) return fail('bad-flags', `flags 0x${flags.toString(16)} on ${type}`);
  const length = view.readUInt32BE(16);
  if (length > maxPayload) return fail('oversized', `payload ${length} bytes, limit ${maxPayload}`);
  return { ok: true, type, flags, seq: view.readBigUInt64BE(8), length };
}

export function encodeFrame(frame: { type: FrameType; flags?: number; seq: bigint; payload?: Uint8Array }): Buffer {
  const payload = frame.payload ?? Buffer.alloc(0);
  const head = encodeFrameHeader({ ...frame, length: payload.length });
  return Buffer.concat([head, payload]);
}

// The 20-byte header alone: a stream writes it and the payload's parts
// without copying them into one buffer (writev under cork).
export function encodeFrameHeader(frame: { type: FrameType; flags?: number; seq: bigint; length: number }): Buffer {
  const flags = frame.flags ?? 0;
  if ((flags & ~ALLOWED_FLAGS[frame.type]) !== 0 || flags > 0xffff) throw new RangeError(`flags 0x${flags.toString(16)} not allowed on ${frame.type}`);
  if (frame.seq < 0n || frame.seq > U64_MAX) throw new RangeError(`sequence ${frame.seq} out of u64 range`);
  if (!Number.isSafeInteger(frame.length) || frame.length < 0 || frame.length > 0xffffffff) throw new RangeError('payload above u32 length');
  const out = Buffer.allocUnsafe(HEADER_LEN);
  out.writeUInt32BE(FRAME_MAGIC, 0);
  out.writeUInt8(FRAME_FORMAT_VERSION, 4);
  out.writeUInt8(FRAME_TYPES[frame.type], 5);
  out.writeUInt16BE(flags, 6);
  out.writeBigUInt64BE(frame.seq, 8);
  out.writeUInt32BE(frame.length, 16);
  return out;
}

export type DecodeFrameResult = { ok: true; frame: Frame } | { ok: false; error: FrameError };

// Exactly one frame in `bytes` (a datagram-like use and the tests); streams use FrameDecoder.
export function decodeFrame(bytes: Uint8Array, maxPayload = DEFAULT_MAX_PAYLOAD): DecodeFrameResult {
  const h = decodeHeader(bytes, maxPayload);
  if (h.ok === false) return h;
  if (h.ok === 'partial') return fail('truncated', `${bytes.length} bytes, header needs ${HEADER_LEN}`);
  const total = HEADER_LEN + h.length;
  if (bytes.length < total) return fail('truncated', `${bytes.length} bytes, frame needs ${total}`);
  if (bytes.length > total) return fail('trailing-bytes', `${bytes.length - total} bytes after the frame`);
  const payload = Buffer.from(bytes.subarray(HEADER_LEN, total));
  return { ok: true, frame: { type: h.type, flags: h.flags, seq: h.seq, payload } };
}
