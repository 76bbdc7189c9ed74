// Payload codecs of the volume's frames on the peer link (the frame header is
// link/frame.ts's). Pure; decoders never throw on wire data: a rejection names
// what was wrong, and the caller drops the link (issue 3 "Bad input").
//
// Integers big-endian. Offsets are u64 on the wire, safe integers here.
//   WRITE           u64 offset | data                      (FLAG_ZEROES: u64 offset | u32 length)
//   WRITE_ACK       u64 seq: every WRITE / RESYNC_DATA up to this sequence number is done
//   BARRIER(_ACK)   u64 id
//   STATE           UTF-8 JSON, see PeerState
//   BITMAP          link protocol 5: one piece of the bitmap (bitmap-chunks.ts); 3..4: a whole serialized Bitmap (bitmap.ts)
//   PEER_OUT_OF_SYNC link protocol 6: u64 offset | u32 length | UTF-8 name of the sender's peer that misses the range
//   RESYNC_REQUEST  u64 offset | u32 length | u8 hash length (0 or 32) | SHA-256 of the target's range
//   RESYNC_DATA     u64 offset | u32 length | u8 kind (0 data follows, 1 same as your hash)
//   RESYNC_DONE     empty
//   VERIFY_REQUEST  u64 offset | u32 length | 16-byte hash per block of the range
//   VERIFY_REPLY    u64 offset | u32 length | u32 count | count x u32 block index within the range
//   VERIFY_DONE     u8 finished (1) or stopped (0)
import { encodeGenerations, parseGenerations } from '../generations-json.js';
import type { Generations } from '../generations.js';
import { isDiskState, type DiskState } from '../states.js';
import { MAX_NAME_LEN, nameProblem } from '../link/messages.js';
import type { Feed } from './one-source.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; detail: string };

export const HASH_LEN = 32; // SHA-256 (csums-alg sha256)
export const BLOCK_HASH_LEN = 16; // per-block verify digest: SHA-256 truncated, collisions still 2^-64
export const MAX_REQUEST_LEN = 4 << 20; // one resync / verify request covers at most 4 MiB
export const PEER_OUT_OF_SYNC_SINCE = 6; // the link protocol version that has PEER_OUT_OF_SYNC
export const STALE_BITS_SINCE = 7; // the link protocol version whose STATE says staleBits
export const PAUSE_INTO_PRIMARY_SINCE = 8; // the link protocol version whose nodes pause data that would flow into a Primary

const fail = <T>(detail: string): Decoded<T> => ({ ok: false, detail });

function readOffset(buf: Buffer, at: number): number | null {
  const v = buf.readBigUInt64BE(at);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}

function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

// Returns a header buffer; callers send [header, data] as one payload.
export function encodeWriteHeader(offset: number): Buffer {
  return u64(offset);
}

export function encodeZeroes(offset: number, length: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigUInt64BE(BigInt(offset));
  b.writeUInt32BE(length, 8);
  return b;
}

export interface WriteMsg {
  offset: number;
  length: number;
  data: Buffer | null; // null: zeroes
}

export function decodeWrite(buf: Buffer, zeroes: boolean): Decoded<WriteMsg> {
  if (zeroes) {
    if (buf.length !== 12) return fail(`WRITE (zeroes) payload is ${buf.length} bytes, want 12`);
    const offset = readOffset(buf, 0);
    const length = buf.readUInt32BE(8);
    if (offset === null || length === 0) return fail('WRITE (zeroes) has an offset beyond 2^53 or length 0');
    return { ok: true, value: { offset, length, data: null } };
  }
  if (buf.length <= 8) return fail(`WRITE payload is ${buf.length} bytes: no data after the offset`);
  const offset = readOffset(buf, 0);
  if (offset === null) return fail('WRITE offset beyond 2^53');
  return { ok: true, value: { offset, length: buf.length - 8, data: buf.subarray(8) } };
}

export const encodeU64 = u64;

export function decodeU64(buf: Buffer, what: string): Decoded<bigint> {
  if (buf.length !== 8) return fail(`${what} payload is ${buf.length} bytes, want 8`);
  return { ok: true, value: buf.readBigUInt64BE(0) };
}

// What each side tells the other at connect and whenever it changes.
export interface PeerState {
  role: 'Primary' | 'Secondary';
  disk: DiskState;
  generations: Generations;
  size: number;
  blockSize: number;
  protocol: 'A' | 'B' | 'C';
  changedBlocks: number; // bits set in the sender's bitmap for the receiver
  discardMyData: boolean;
  // The sender's other links that move data (one-source.ts). Absent from a
  // peer older than link protocol 4, and from directory volumes: such a peer
  // neither reports nor applies the one-source rule, so neither side does.
  feeds?: Feed[];
  // The sender's bits for the receiver include marks of its own crash as Secondary (secondary-log.ts): its
  // copy of those blocks may lack writes its page cache lost. Absent is false.
  staleBits?: boolean;
  // Of changedBlocks, those only a lost Primary's marks set (reconcile.ts): the after-sb policies that weigh
  // changes leave them out. Absent is 0 (a peer before it was sent counts them).
  lostPrimaryBlocks?: number;
}

const MAX_FEEDS = 64;

const MAX_STATE_JSON = 64 * 1024;

export function encodeState(s: PeerState): Buffer {
  return Buffer.from(JSON.stringify({ ...s, generations: JSON.parse(encodeGenerations(s.generations)) as unknown }), 'utf8');
}

export function decodeState(buf: Buffer): Decoded<PeerState> {
  if (buf.length > MAX_STATE_JSON) return fail(`STATE is ${buf.length} bytes, at most ${MAX_STATE_JSON}`);
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    return fail(`STATE is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('STATE is not an object');
  const o = raw as Record<string, unknown>;
  if (o.role !== 'Primary' && o.role !== 'Secondary') return fail(`STATE role ${JSON.stringify(o.role)} is not Primary or Secondary`);
  if (!isDiskState(o.disk)) return fail(`STATE disk ${JSON.stringify(o.disk)} is not a disk state`);
  if (o.protocol !== 'A' && o.protocol !== 'B' && o.protocol !== 'C') return fail(`STATE protocol ${JSON.stringify(o.protocol)} is not A, B or C`);
  for (const k of ['size', 'blockSize', 'changedBlocks'] as const) {
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 0) return fail(`STATE ${k} ${JSON.stringify(o[k])} is not a non-negative integer`);
  }
  if (typeof o.discardMyData !== 'boolean') return fail('STATE discardMyData is not a boolean');
  const g = parseGenerations(o.generations);
  if (!g.ok) return fail(`STATE generations: ${g.reason}`);
  const feeds = o.feeds === undefined ? undefined : parseFeeds(o.feeds);
  if (typeof feeds === 'string') return fail(`STATE feeds: ${feeds}`);
  if (o.staleBits !== undefined && typeof o.staleBits !== 'boolean') return fail('STATE staleBits is not a boolean');
  const lost = o.lostPrimaryBlocks;
  if (lost !== undefined && (!Number.isSafeInteger(lost) || (lost as number) < 0 || (lost as number) > (o.changedBlocks as number))) {
    return fail(`STATE lostPrimaryBlocks ${JSON.stringify(lost)} is not an integer 0..changedBlocks (${String(o.changedBlocks)})`);
  }
  return {
    ok: true,
    value: {
      role: o.role, disk: o.disk, protocol: o.protocol, generations: g.generations,
      size: o.size as number, blockSize: o.blockSize as number, changedBlocks: o.changedBlocks as number,
      discardMyData: o.discardMyData, ...(feeds === undefined ? {} : { feeds }), ...(o.staleBits === true ? { staleBits: true } : {}),
      ...(typeof lost === 'number' && lost > 0 ? { lostPrimaryBlocks: lost } : {}),
    },
  };
}

// A list of { peer, replication }: the feeds, or what is wrong with it.
function parseFeeds(v: unknown): Feed[] | string {
  if (!Array.isArray(v) || v.length > MAX_FEEDS) return `not a list of at most ${MAX_FEEDS} entries`;
  const out: Feed[] = [];
  for (const e of v as unknown[]) {
    const f = e as Record<string, unknown> | null;
    if (typeof f !== 'object' || f === null || typeof f.peer !== 'string' || f.peer.length === 0 || f.peer.length > MAX_NAME_LEN) return `an entry has no peer name of 1..${MAX_NAME_LEN} characters`;
    if (f.replication !== 'SyncSource' && f.replication !== 'SyncTarget' && f.replication !== 'Established') {
      return `replication ${JSON.stringify(f.replication)} is not SyncSource, SyncTarget or Established`;
    }
    out.push({ peer: f.peer, replication: f.replication });
  }
  return out;
}

export interface RangeMsg {
  offset: number;
  length: number;
}

function readRange(buf: Buffer, what: string): Decoded<RangeMsg> {
  if (buf.length < 12) return fail(`${what} payload is ${buf.length} bytes, under 12`);
  const offset = readOffset(buf, 0);
  const length = buf.readUInt32BE(8);
  if (offset === null) return fail(`${what} offset beyond 2^53`);
  if (length === 0 || length > MAX_REQUEST_LEN) return fail(`${what} length ${length} is not 1..${MAX_REQUEST_LEN}`);
  return { ok: true, value: { offset, length } };
}

function rangeHead(offset: number, length: number, extra: number): Buffer {
  const b = Buffer.alloc(12 + extra);
  b.writeBigUInt64BE(BigInt(offset));
  b.writeUInt32BE(length, 8);
  return b;
}

export function encodeResyncRequest(offset: number, length: number, hash: Buffer | null): Buffer {
  const b = rangeHead(offset, length, 1);
  b[12] = hash === null ? 0 : HASH_LEN;
  return hash === null ? b : Buffer.concat([b, hash]);
}

export function decodeResyncRequest(buf: Buffer): Decoded<RangeMsg & { hash: Buffer | null }> {
  const r = readRange(buf, 'RESYNC_REQUEST');
  if (!r.ok) return r;
  const hl = buf[12];
  if (hl !== 0 && hl !== HASH_LEN) return fail(`RESYNC_REQUEST hash length ${String(hl)} is not 0 or ${HASH_LEN}`);
  if (buf.length !== 13 + hl) return fail(`RESYNC_REQUEST payload is ${buf.length} bytes, want ${13 + hl}`);
  return { ok: true, value: { ...r.value, hash: hl === 0 ? null : buf.subarray(13) } };
}

export const RESYNC_KIND_DATA = 0;
export const RESYNC_KIND_SAME = 1;

export function encodeResyncDataHeader(offset: number, length: number, same: boolean): Buffer {
  const b = rangeHead(offset, length, 1);
  b[12] = same ? RESYNC_KIND_SAME : RESYNC_KIND_DATA;
  return b;
}

export function decodeResyncData(buf: Buffer): Decoded<RangeMsg & { data: Buffer | null }> {
  const r = readRange(buf, 'RESYNC_DATA');
  if (!r.ok) return r;
  const kind = buf[12];
  if (kind === RESYNC_KIND_SAME) {
    if (buf.length !== 13) return fail('RESYNC_DATA "same" carries data');
    return { ok: true, value: { ...r.value, data: null } };
  }
  if (kind !== RESYNC_KIND_DATA) return fail(`RESYNC_DATA kind ${String(kind)} is not 0 or 1`);
  if (buf.length !== 13 + r.value.length) return fail(`RESYNC_DATA carries ${buf.length - 13} bytes for a ${r.value.length}-byte range`);
  return { ok: true, value: { ...r.value, data: buf.subarray(13) } };
}

export function encodeVerifyRequest(offset: number, length: number, hashes: Buffer): Buffer {
  return Buffer.concat([rangeHead(offset, length, 0), hashes]);
}

export function decodeVerifyRequest(buf: Buffer, blockSize: number): Decoded<RangeMsg & { hashes: Buffer }> {
  const r = readRange(buf, 'VERIFY_REQUEST');
  if (!r.ok) return r;
  const blocks = Math.ceil(r.value.length / blockSize);
  if (buf.length !== 12 + blocks * BLOCK_HASH_LEN) return fail(`VERIFY_REQUEST has ${buf.length - 12} hash bytes, want ${blocks * BLOCK_HASH_LEN}`);
  return { ok: true, value: { ...r.value, hashes: buf.subarray(12) } };
}

export function encodeVerifyReply(offset: number, length: number, mismatched: readonly number[]): Buffer {
  const b = rangeHead(offset, length, 4 + 4 * mismatched.length);
  b.writeUInt32BE(mismatched.length, 12);
  mismatched.forEach((m, i) => b.writeUInt32BE(m, 16 + 4 * i));
  return b;
}

export function decodeVerifyReply(buf: Buffer, blockSize: number): Decoded<RangeMsg & { mismatched: number[] }> {
  const r = readRange(buf, 'VERIFY_REPLY');
  if (!r.ok) return r;
  if (buf.length < 16) return fail('VERIFY_REPLY has no count');
  const count = buf.readUInt32BE(12);
  const blocks = Math.ceil(r.value.length / blockSize);
  if (count > blocks || buf.length !== 16 + 4 * count) return fail(`VERIFY_REPLY count ${count} does not match its ${buf.length} bytes or the ${blocks}-block range`);
  const mismatched: number[] = [];
  for (let i = 0; i < count; i++) {
    const m = buf.readUInt32BE(16 + 4 * i);
    if (m >= blocks) return fail(`VERIFY_REPLY block ${m} is outside the ${blocks}-block range`);
    mismatched.push(m);
  }
  return { ok: true, value: { ...r.value, mismatched } };
}

// A range the sending Primary's peer `peer` missed (generations.ts followPrimary).
export interface PeerOutOfSyncMsg extends RangeMsg {
  peer: string;
}

export function encodePeerOutOfSync(m: PeerOutOfSyncMsg): Buffer {
  const problem = nameProblem(m.peer);
  if (problem !== null) throw new RangeError(`${JSON.stringify(m.peer)}: ${problem}`);
  return Buffer.concat([rangeHead(m.offset, m.length, 0), Buffer.from(m.peer, 'utf8')]);
}

export function decodePeerOutOfSync(buf: Buffer): Decoded<PeerOutOfSyncMsg> {
  if (buf.length < 13) return fail(`PEER_OUT_OF_SYNC payload is ${buf.length} bytes, want 12 and a name`);
  const offset = readOffset(buf, 0);
  const length = buf.readUInt32BE(8);
  if (offset === null || length === 0) return fail('PEER_OUT_OF_SYNC has an offset beyond 2^53 or length 0');
  const peer = buf.toString('utf8', 12);
  // A name that does not survive UTF-8 decoding, or that no configuration allows, names no peer.
  const problem = Buffer.from(peer, 'utf8').equals(buf.subarray(12)) ? nameProblem(peer) : 'name is not UTF-8';
  if (problem !== null) return fail(`PEER_OUT_OF_SYNC peer: ${problem}`);
  return { ok: true, value: { offset, length, peer } };
}
