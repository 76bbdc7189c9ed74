// Payloads of the promotion agreement (promote-arbiter.ts). Pure; a
// rejection names what was wrong and the caller drops the link.
//   PROMOTE_REQUEST  u64 id
//   PROMOTE_REPLY    u64 id | u8 granted (1) or refused (0) | UTF-8 reason, refused only, at most 240 bytes
//   PROMOTE_ABORT    u64 id (the requester gave up: release its grant)
import { decodeUtf8, utf8Prefix } from '../../net/utf8.js';
import type { PromoteVerdict } from './promote-arbiter.js';
import type { Decoded } from './wire.js';

export const MAX_REASON = 240;

export interface PromoteReply {
  id: bigint;
  verdict: PromoteVerdict;
}

export function encodePromoteReply(id: bigint, verdict: PromoteVerdict): Buffer {
  const reason = verdict.grant ? Buffer.alloc(0) : utf8Prefix(verdict.reason, MAX_REASON);
  const b = Buffer.alloc(9 + reason.length);
  b.writeBigUInt64BE(id);
  b.writeUInt8(verdict.grant ? 1 : 0, 8);
  reason.copy(b, 9);
  return b;
}

export function decodePromoteReply(buf: Buffer): Decoded<PromoteReply> {
  if (buf.length < 9) return { ok: false, detail: `PROMOTE_REPLY payload is ${buf.length} bytes, want at least 9` };
  const id = buf.readBigUInt64BE(0);
  const granted = buf.readUInt8(8);
  if (granted > 1) return { ok: false, detail: `PROMOTE_REPLY verdict is ${granted}, want 0 (refused) or 1 (granted)` };
  const reason = buf.subarray(9);
  if (granted === 1 && reason.length > 0) return { ok: false, detail: `PROMOTE_REPLY grants with a ${reason.length}-byte reason, want none` };
  if (reason.length > MAX_REASON) return { ok: false, detail: `PROMOTE_REPLY reason is ${reason.length} bytes, at most ${MAX_REASON}` };
  const text = decodeUtf8(reason);
  if (text === null) return { ok: false, detail: 'PROMOTE_REPLY reason is not UTF-8' };
  return { ok: true, value: { id, verdict: granted === 1 ? { grant: true } : { grant: false, reason: text || 'no reason given' } } };
}
