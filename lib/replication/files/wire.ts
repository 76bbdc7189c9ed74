// Payload codecs of a directory volume's frames (link/frame-types.ts 0x4_).
// Pure; decoders never throw on wire data: a rejection names what was wrong
// and the caller drops the link (issue 4 "Hostile frames ... are refused").
// Every path goes through checkWirePath here, so nothing later sees one that
// escapes the root.
//
//   DIR_MANIFEST  JSON [[path, type, size, mtimeMs, mode, target | null, sha256 | null], ...]
//   DIR_OP        JSON {id, kind: mkdir | symlink | remove | meta, path, mode?, mtimeMs?, target?}
//   DIR_FILE      JSON {id, path, delta, size}   (size: when the source opened it; DIR_END has the final)
//   DIR_SIGS      u32 id | u32 blockSize | u64 length | 16-byte hash per block
//   DIR_DATA      u32 id | u64 offset | bytes
//   DIR_END       JSON {id, size, sha256, mode, mtimeMs}   (FLAG_ABORT: {id, reason})
//   DIR_ACK       JSON {id, ok: true} | {id, ok: false, code, message, transient}
//   DIR_SCAN, DIR_SYNCED  empty
import { BLOCK_HASH_BYTES, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, type Signatures } from './delta.js';
import type { EntryType, Manifest, ManifestEntry } from './manifest.js';
import { checkWirePath } from './paths.js';
import type { Decoded } from '../volume/wire.js';

export type { Decoded };

export const MAX_JSON_FRAME = 1 << 20; // one manifest batch or message
export const MAX_TARGET_BYTES = 4096; // PATH_MAX: a symlink's text
export const MAX_DATA_CHUNK = 1 << 20; // bytes of file content per DIR_DATA
const MAX_ERROR_TEXT = 1024;

const fail = <T>(detail: string): Decoded<T> => ({ ok: false, detail });

export type DirOp =
  | { kind: 'mkdir'; path: string; mode: number; mtimeMs: number }
  | { kind: 'symlink'; path: string; target: string; mtimeMs: number }
  | { kind: 'remove'; path: string }
  | { kind: 'meta'; path: string; mode: number; mtimeMs: number };

export type OpMsg = DirOp & { id: number };
export interface FileMsg { id: number; path: string; delta: boolean; size: number }
export interface SigsMsg { id: number; sigs: Signatures }
export interface DataMsg { id: number; offset: number; data: Buffer }
export type EndMsg =
  | { id: number; abort: false; size: number; sha256: string; mode: number; mtimeMs: number }
  | { id: number; abort: true; reason: string };
export type AckMsg =
  | { id: number; ok: true }
  | { id: number; ok: false; code: string; message: string; transient: boolean };

// ---- field checks ----

type Obj = Record<string, unknown>;

function parseJson(buf: Buffer, what: string): Decoded<unknown> {
  if (buf.length > MAX_JSON_FRAME) return fail(`${what} is ${buf.length} bytes, at most ${MAX_JSON_FRAME}`);
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) as unknown };
  } catch (e) {
    return fail(`${what} is not JSON: ${(e as Error).message}`);
  }
}

function object(v: unknown, what: string): Decoded<Obj> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`${what} is not a JSON object`);
  return { ok: true, value: v as Obj };
}

const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
const isMode = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0o7777;
// An mtime in ms since the epoch, within what a Date holds: files from before 1970 (an old archive) have negative ones.
const MAX_TIME_MS = 8.64e15;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= MAX_TIME_MS;
const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isSha = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

function checkTarget(t: unknown): string | null {
  if (typeof t !== 'string' || t.length === 0) return 'a symlink target must be a non-empty string';
  if (t.includes('\0')) return 'a symlink target contains a NUL byte';
  if (Buffer.byteLength(t, 'utf8') > MAX_TARGET_BYTES) return `a symlink target is longer than ${MAX_TARGET_BYTES} bytes`;
  return null;
}

function path(v: unknown, what: string): Decoded<string> {
  if (typeof v !== 'string') return fail(`${what}: path is not a string`);
  const c = checkWirePath(v);
  return c.ok ? { ok: true, value: c.path } : fail(`${what}: ${c.reason}`);
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');

// ---- manifest batches ----

const ENTRY_TYPES: readonly EntryType[] = ['file', 'dir', 'symlink'];

export function encodeManifestBatch(entries: Iterable<[string, ManifestEntry]>): Buffer {
  return json([...entries].map(([p, e]) => [p, e.type, e.size, e.mtimeMs, e.mode, e.target ?? null, e.sha256 ?? null]));
}

// Splits a manifest into batches that each fit a frame (at least one, possibly empty).
export function manifestBatches(m: Manifest, maxBytes = MAX_JSON_FRAME): Buffer[] {
  const out: Buffer[] = [];
  let batch: Array<[string, ManifestEntry]> = [];
  let bytes = 2;
  for (const item of m) {
    const size = Buffer.byteLength(item[0], 'utf8') * 6 + (item[1].target ? Buffer.byteLength(item[1].target) * 6 : 0) + 160; // worst-case JSON escaping
    if (batch.length > 0 && bytes + size > maxBytes) {
      out.push(encodeManifestBatch(batch));
      batch = [];
      bytes = 2;
    }
    batch.push(item);
    bytes += size;
  }
  out.push(encodeManifestBatch(batch));
  return out;
}

export function decodeManifestBatch(buf: Buffer): Decoded<Array<[string, ManifestEntry]>> {
  const j = parseJson(buf, 'DIR_MANIFEST');
  if (!j.ok) return j;
  if (!Array.isArray(j.value)) return fail('DIR_MANIFEST is not a JSON array');
  const out: Array<[string, ManifestEntry]> = [];
  for (const [i, row] of (j.value as unknown[]).entries()) {
    const at = `DIR_MANIFEST entry ${i}`;
    if (!Array.isArray(row) || row.length !== 7) return fail(`${at} is not a 7-element array`);
    const [p, type, size, mtimeMs, mode, target, sha256] = row as unknown[];
    const rel = path(p, at);
    if (!rel.ok) return rel;
    if (!ENTRY_TYPES.includes(type as EntryType)) return fail(`${at}: type ${JSON.stringify(type)} is not file, dir or symlink`);
    if (!isSize(size) || !isTime(mtimeMs) || !isMode(mode)) return fail(`${at}: size, mtime or mode is out of range`);
    const e: ManifestEntry = { type: type as EntryType, size, mtimeMs, mode };
    if (type === 'symlink') {
      const bad = checkTarget(target);
      if (bad !== null) return fail(`${at}: ${bad}`);
      e.target = target as string;
    } else if (target !== null) return fail(`${at}: only a symlink has a target`);
    if (sha256 !== null) {
      if (type !== 'file' || !isSha(sha256)) return fail(`${at}: sha256 must be 64 hex digits, on files only`);
      e.sha256 = sha256;
    }
    out.push([rel.value, e]);
  }
  return { ok: true, value: out };
}

// ---- ops, files, acks ----

export const encodeOp = (m: OpMsg): Buffer => json(m);

export function decodeOp(buf: Buffer): Decoded<OpMsg> {
  const j = parseJson(buf, 'DIR_OP');
  if (!j.ok) return j;
  const o = object(j.value, 'DIR_OP');
  if (!o.ok) return o;
  const { id, kind } = o.value;
  if (!isId(id)) return fail('DIR_OP id is not a u32');
  const p = path(o.value.path, 'DIR_OP');
  if (!p.ok) return p;
  const { mode, mtimeMs, target } = o.value;
  switch (kind) {
    case 'remove':
      return { ok: true, value: { id, kind, path: p.value } };
    case 'mkdir':
    case 'meta':
      if (!isMode(mode) || !isTime(mtimeMs)) return fail(`DIR_OP ${kind}: mode must be 0..0o7777 and mtimeMs a time within ±8.64e15 ms of 1970`);
      return { ok: true, value: { id, kind, path: p.value, mode, mtimeMs } };
    case 'symlink': {
      const bad = checkTarget(target);
      if (bad !== null || !isTime(mtimeMs)) return fail(`DIR_OP symlink: ${bad ?? 'mtimeMs must be a time within ±8.64e15 ms of 1970'}`);
      return { ok: true, value: { id, kind, path: p.value, target: target as string, mtimeMs } };
    }
    default:
      return fail(`DIR_OP kind ${JSON.stringify(kind)} is not mkdir, symlink, remove or meta`);
  }
}

export const encodeFile = (m: FileMsg): Buffer => json(m);

export function decodeFile(buf: Buffer): Decoded<FileMsg> {
  const j = parseJson(buf, 'DIR_FILE');
  if (!j.ok) return j;
  const o = object(j.value, 'DIR_FILE');
  if (!o.ok) return o;
  if (!isId(o.value.id) || typeof o.value.delta !== 'boolean' || !isSize(o.value.size)) return fail('DIR_FILE needs a u32 id, a boolean delta and a size');
  const p = path(o.value.path, 'DIR_FILE');
  if (!p.ok) return p;
  return { ok: true, value: { id: o.value.id, path: p.value, delta: o.value.delta, size: o.value.size } };
}

export function encodeSigs(id: number, sigs: Signatures): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(id, 0);
  head.writeUInt32BE(sigs.blockSize, 4);
  head.writeBigUInt64BE(BigInt(sigs.length), 8);
  return Buffer.concat([head, ...sigs.blocks.map((b) => b.hash)]);
}

export function decodeSigs(buf: Buffer): Decoded<SigsMsg> {
  if (buf.length < 16) return fail(`DIR_SIGS is ${buf.length} bytes, under 16`);
  const id = buf.readUInt32BE(0);
  const blockSize = buf.readUInt32BE(4);
  const big = buf.readBigUInt64BE(8);
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) return fail(`DIR_SIGS block size ${blockSize} is not ${MIN_BLOCK_SIZE}..${MAX_BLOCK_SIZE}`);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return fail('DIR_SIGS length beyond 2^53');
  const length = Number(big);
  const count = Math.ceil(length / blockSize);
  if (buf.length !== 16 + count * BLOCK_HASH_BYTES) return fail(`DIR_SIGS carries ${buf.length - 16} hash bytes; a ${length}-byte file in ${blockSize}-byte blocks needs ${count * BLOCK_HASH_BYTES}`);
  const blocks = Array.from({ length: count }, (_, index) => ({ index, hash: buf.subarray(16 + index * BLOCK_HASH_BYTES, 16 + (index + 1) * BLOCK_HASH_BYTES) }));
  return { ok: true, value: { id, sigs: { blockSize, length, blocks } } };
}

export function encodeDataHeader(id: number, offset: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(id, 0);
  head.writeBigUInt64BE(BigInt(offset), 4);
  return head;
}

export function decodeData(buf: Buffer): Decoded<DataMsg> {
  if (buf.length < 12) return fail(`DIR_DATA is ${buf.length} bytes, under 12`);
  const big = buf.readBigUInt64BE(4);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return fail('DIR_DATA offset beyond 2^53');
  const data = buf.subarray(12);
  if (data.length === 0 || data.length > MAX_DATA_CHUNK) return fail(`DIR_DATA carries ${data.length} bytes, want 1..${MAX_DATA_CHUNK}`);
  return { ok: true, value: { id: buf.readUInt32BE(0), offset: Number(big), data } };
}

export const encodeEnd = (m: EndMsg): Buffer => json(m.abort ? { id: m.id, reason: m.reason } : { id: m.id, size: m.size, sha256: m.sha256, mode: m.mode, mtimeMs: m.mtimeMs });

export function decodeEnd(buf: Buffer, abort: boolean): Decoded<EndMsg> {
  const j = parseJson(buf, 'DIR_END');
  if (!j.ok) return j;
  const o = object(j.value, 'DIR_END');
  if (!o.ok) return o;
  const { id, size, sha256, mode, mtimeMs, reason } = o.value;
  if (!isId(id)) return fail('DIR_END id is not a u32');
  if (abort) return { ok: true, value: { id, abort: true, reason: typeof reason === 'string' ? reason.slice(0, MAX_ERROR_TEXT) : 'aborted' } };
  if (!isSize(size) || !isSha(sha256) || !isMode(mode) || !isTime(mtimeMs)) return fail('DIR_END needs size, sha256 (64 hex digits), mode 0..0o7777 and mtimeMs');
  return { ok: true, value: { id, abort: false, size, sha256, mode, mtimeMs } };
}

export const encodeAck = (m: AckMsg): Buffer => json(m);

export function decodeAck(buf: Buffer): Decoded<AckMsg> {
  const j = parseJson(buf, 'DIR_ACK');
  if (!j.ok) return j;
  const o = object(j.value, 'DIR_ACK');
  if (!o.ok) return o;
  const { id, ok, code, message, transient } = o.value;
  if (!isId(id) || typeof ok !== 'boolean') return fail('DIR_ACK needs a u32 id and a boolean ok');
  if (ok) return { ok: true, value: { id, ok } };
  if (typeof code !== 'string' || typeof message !== 'string' || typeof transient !== 'boolean') return fail('a failed DIR_ACK needs code, message and transient');
  return { ok: true, value: { id, ok, code: code.slice(0, 64), message: message.slice(0, MAX_ERROR_TEXT), transient } };
}
