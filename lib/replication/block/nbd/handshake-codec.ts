// Handshake codec: the server's messages of the fixed newstyle negotiation and
// the client's option payloads (proto.md "Fixed newstyle negotiation",
// "Option types", "NBD_REP_INFO"). Pure; decoders never throw on wire data.
import { decodeUtf8 } from '../../../net/utf8.js';
import {
  IHAVEOPT,
  MAX_STRING,
  NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_NO_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_DESCRIPTION,
  NBD_INFO_EXPORT,
  NBD_INFO_NAME,
  NBDMAGIC,
  NBD_REP_MAGIC,
} from './constants.js';

export const GREETING_LENGTH = 18;
export const CLIENT_FLAGS_LENGTH = 4;
export const OPTION_HEADER_LENGTH = 16;

// S: NBDMAGIC, IHAVEOPT, 16-bit handshake flags (proto.md "Newstyle negotiation").
export function encodeGreeting(): Buffer {
  const b = Buffer.alloc(GREETING_LENGTH);
  b.writeBigUInt64BE(NBDMAGIC, 0);
  b.writeBigUInt64BE(IHAVEOPT, 8);
  b.writeUInt16BE(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES, 16);
  return b;
}

export interface OptionHeader {
  magic: bigint;
  option: number;
  length: number;
}

export function decodeOptionHeader(b: Buffer): OptionHeader {
  return { magic: b.readBigUInt64BE(0), option: b.readUInt32BE(8), length: b.readUInt32BE(12) };
}

export function encodeOptionHeader(option: number, length: number): Buffer {
  const b = Buffer.alloc(OPTION_HEADER_LENGTH);
  b.writeBigUInt64BE(IHAVEOPT, 0);
  b.writeUInt32BE(option >>> 0, 8);
  b.writeUInt32BE(length >>> 0, 12);
  return b;
}

// S: reply magic, option, reply type, length, data.
export function encodeOptionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(20 + data.length);
  b.writeBigUInt64BE(NBD_REP_MAGIC, 0);
  b.writeUInt32BE(option >>> 0, 8);
  b.writeUInt32BE(type >>> 0, 12);
  b.writeUInt32BE(data.length, 16);
  data.copy(b, 20);
  return b;
}

// NBD_REP_SERVER data: 32-bit name length, name, then optional text for humans.
export function encodeServerEntry(name: string, description = ''): Buffer {
  const n = Buffer.from(name, 'utf8');
  const d = Buffer.from(description, 'utf8');
  const b = Buffer.alloc(4 + n.length + d.length);
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  d.copy(b, 4 + n.length);
  return b;
}

export function encodeInfoExport(size: number, transmissionFlags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(NBD_INFO_EXPORT, 0);
  b.writeBigUInt64BE(BigInt(size), 2);
  b.writeUInt16BE(transmissionFlags, 10);
  return b;
}

export function encodeInfoString(type: typeof NBD_INFO_NAME | typeof NBD_INFO_DESCRIPTION, text: string): Buffer {
  const t = Buffer.from(text, 'utf8');
  const b = Buffer.alloc(2 + t.length);
  b.writeUInt16BE(type, 0);
  t.copy(b, 2);
  return b;
}

export function encodeInfoBlockSize(min: number, preferred: number, max: number): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
  b.writeUInt32BE(min, 2);
  b.writeUInt32BE(preferred, 6);
  b.writeUInt32BE(max, 10);
  return b;
}

// S: size, transmission flags, 124 zeroes unless NO_ZEROES (proto.md "NBD_OPT_EXPORT_NAME").
export function encodeExportNameReply(size: number, transmissionFlags: number, noZeroes: boolean): Buffer {
  const b = Buffer.alloc(noZeroes ? 10 : 134);
  b.writeBigUInt64BE(BigInt(size), 0);
  b.writeUInt16BE(transmissionFlags, 8);
  return b;
}

export interface InfoRequest {
  name: string;
  requests: number[];
}

export type InfoDecode = { ok: true; value: InfoRequest } | { ok: false; reason: string };

// NBD_OPT_INFO / NBD_OPT_GO data: u32 name length (<= length - 6), name,
// u16 count, count x u16 (proto.md "NBD_OPT_INFO (6) and NBD_OPT_GO (7)").
export function decodeInfoRequest(data: Buffer): InfoDecode {
  if (data.length < 6) return { ok: false, reason: 'info request shorter than 6 bytes' };
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 6) return { ok: false, reason: 'name length exceeds option data' };
  if (nameLength > MAX_STRING) return { ok: false, reason: 'name longer than 4096 bytes' };
  const name = decodeString(data.subarray(4, 4 + nameLength));
  if (name === undefined) return { ok: false, reason: 'name is not valid UTF-8 without NUL' };
  const count = data.readUInt16BE(4 + nameLength);
  const rest = data.length - 6 - nameLength;
  if (rest !== count * 2) return { ok: false, reason: 'information request count does not match option length' };
  const requests: number[] = [];
  for (let i = 0; i < count; i++) requests.push(data.readUInt16BE(6 + nameLength + i * 2));
  return { ok: true, value: { name, requests } };
}

// proto.md "Conventions": strings are UTF-8 and MUST NOT contain NUL.
export function decodeString(b: Buffer): string | undefined {
  if (b.includes(0)) return undefined;
  return decodeUtf8(b) ?? undefined;
}
