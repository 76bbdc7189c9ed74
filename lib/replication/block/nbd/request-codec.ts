// Transmission codec: request headers in, simple and structured replies out
// (proto.md "Request message", "Simple reply message", "Structured reply chunk message").
import {
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REQUEST_MAGIC,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
} from './constants.js';

export const REQUEST_HEADER_LENGTH = 28;
export const SIMPLE_REPLY_LENGTH = 16;
export const STRUCTURED_HEADER_LENGTH = 20;

export interface RequestHeader {
  flags: number;
  type: number;
  cookie: bigint; // "handle" in older versions of proto.md
  offset: bigint; // u64: may exceed Number.MAX_SAFE_INTEGER on the wire
  length: number;
}

export type RequestDecode = { ok: true; header: RequestHeader } | { ok: false; reason: 'bad-request-magic'; detail: string };

export function decodeRequestHeader(b: Buffer): RequestDecode {
  const magic = b.readUInt32BE(0);
  if (magic !== NBD_REQUEST_MAGIC) return { ok: false, reason: 'bad-request-magic', detail: `request magic 0x${magic.toString(16)}` };
  return {
    ok: true,
    header: {
      flags: b.readUInt16BE(4),
      type: b.readUInt16BE(6),
      cookie: b.readBigUInt64BE(8),
      offset: b.readBigUInt64BE(16),
      length: b.readUInt32BE(24),
    },
  };
}

export function encodeRequestHeader(h: RequestHeader): Buffer {
  const b = Buffer.alloc(REQUEST_HEADER_LENGTH);
  b.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  b.writeUInt16BE(h.flags, 4);
  b.writeUInt16BE(h.type, 6);
  b.writeBigUInt64BE(h.cookie, 8);
  b.writeBigUInt64BE(h.offset, 16);
  b.writeUInt32BE(h.length, 24);
  return b;
}

// Header only; READ data follows as its own buffer so it is never copied.
export function encodeSimpleReply(error: number, cookie: bigint): Buffer {
  const b = Buffer.alloc(SIMPLE_REPLY_LENGTH);
  b.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  b.writeUInt32BE(error, 4);
  b.writeBigUInt64BE(cookie, 8);
  return b;
}

function structuredHeader(flags: number, type: number, cookie: bigint, length: number): Buffer {
  const b = Buffer.alloc(STRUCTURED_HEADER_LENGTH);
  b.writeUInt32BE(NBD_STRUCTURED_REPLY_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(cookie, 8);
  b.writeUInt32BE(length, 16);
  return b;
}

// NBD_REPLY_TYPE_OFFSET_DATA header + offset; the data (>= 1 byte) follows.
// One chunk with DONE: the whole read is in hand before the header is sent.
export function encodeOffsetDataHeader(cookie: bigint, offset: bigint, dataLength: number, done: boolean): Buffer {
  const h = structuredHeader(done ? NBD_REPLY_FLAG_DONE : 0, NBD_REPLY_TYPE_OFFSET_DATA, cookie, 8 + dataLength);
  const o = Buffer.alloc(8);
  o.writeBigUInt64BE(offset, 0);
  return Buffer.concat([h, o]);
}

// NBD_REPLY_TYPE_ERROR with DONE: error u32, message length u16, message.
export function encodeStructuredError(cookie: bigint, error: number, message: string): Buffer {
  const m = Buffer.from(message, 'utf8').subarray(0, 4096);
  const h = structuredHeader(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, cookie, 6 + m.length);
  const p = Buffer.alloc(6);
  p.writeUInt32BE(error, 0);
  p.writeUInt16BE(m.length, 4);
  return Buffer.concat([h, p, m]);
}
