// Chooses the reply form for one request's outcome (proto.md "Simple reply
// message", "Structured reply chunk message", "NBD_CMD_READ").
import { NBD_ERRNO, type NbdErrnoName } from './constants.js';
import { encodeOffsetDataHeader, encodeSimpleReply, encodeStructuredError } from './request-codec.js';

export type Outcome = { ok: true; data?: Buffer } | { ok: false; errno: NbdErrnoName; message: string };

// Buffers to write in order; READ data is passed through, never copied.
export function encodeReply(cookie: bigint, isRead: boolean, offset: bigint, structured: boolean, outcome: Outcome): Buffer[] {
  if (!structured) {
    // proto.md "Simple reply message": data only for a successful READ.
    if (!outcome.ok) return [encodeSimpleReply(NBD_ERRNO[outcome.errno], cookie)];
    return outcome.data !== undefined && isRead ? [encodeSimpleReply(0, cookie), outcome.data] : [encodeSimpleReply(0, cookie)];
  }
  // proto.md "Structured reply chunk message": SHOULD prefer structured errors (they carry a message).
  if (!outcome.ok) return [encodeStructuredError(cookie, NBD_ERRNO[outcome.errno], outcome.message)];
  // READ MUST use a structured reply once negotiated; other successes MAY stay simple.
  if (isRead && outcome.data !== undefined && outcome.data.length > 0) {
    return [encodeOffsetDataHeader(cookie, offset, outcome.data.length, true), outcome.data];
  }
  return [encodeSimpleReply(0, cookie)];
}
