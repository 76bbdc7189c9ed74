// Decides what a decoded request means for this export before anything
// touches the disk: an operation to run, an error reply, or the end of the
// session (proto.md "Request types", "Error values", "Block size constraints").
import {
  NBD_CMD_DISC,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  type NbdErrnoName,
} from './constants.js';
import type { RequestHeader } from './request-codec.js';

export interface ExportLimits {
  size: number;
  readOnly: boolean;
  minBlockSize: number;
}

export type NbdOp =
  | { type: 'READ'; offset: number; length: number }
  | { type: 'WRITE'; offset: number; data: Buffer; fua: boolean }
  | { type: 'FLUSH' }
  | { type: 'TRIM'; offset: number; length: number; fua: boolean }
  | { type: 'WRITE_ZEROES'; offset: number; length: number; fua: boolean; noHole: boolean };

export type Verdict =
  | { kind: 'execute'; op: NbdOp }
  | { kind: 'error'; errno: NbdErrnoName; message: string }
  | { kind: 'disconnect' };

const fail = (errno: NbdErrnoName, message: string): Verdict => ({ kind: 'error', errno, message });

export function checkRequest(h: RequestHeader, payload: Buffer | undefined, lim: ExportLimits): Verdict {
  // proto.md "NBD_CMD_DISC": no reply; offset/length are the client's concern.
  if (h.type === NBD_CMD_DISC) return { kind: 'disconnect' };
  const isWrite = h.type === NBD_CMD_WRITE || h.type === NBD_CMD_TRIM || h.type === NBD_CMD_WRITE_ZEROES;
  if (!isWrite && h.type !== NBD_CMD_READ && h.type !== NBD_CMD_FLUSH) {
    // proto.md "Error values": EINVAL for an unknown command (CACHE and BLOCK_STATUS are not offered).
    return fail('EINVAL', `unsupported command ${h.type}`);
  }
  // proto.md "Command flags": FUA is valid on every command once SEND_FUA is set;
  // NO_HOLE only on WRITE_ZEROES; anything else (DF, REQ_ONE, FAST_ZERO: not offered) is EINVAL.
  const allowed = NBD_CMD_FLAG_FUA | (h.type === NBD_CMD_WRITE_ZEROES ? NBD_CMD_FLAG_NO_HOLE : 0);
  if ((h.flags & ~allowed) !== 0) return fail('EINVAL', `command flags 0x${h.flags.toString(16)} not valid here`);
  const fua = (h.flags & NBD_CMD_FLAG_FUA) !== 0;
  if (h.type === NBD_CMD_FLUSH) {
    // proto.md "NBD_CMD_FLUSH": offset and length are reserved and MUST be zero.
    if (h.offset !== 0n || h.length !== 0) return fail('EINVAL', 'flush with nonzero offset or length');
    return { kind: 'execute', op: { type: 'FLUSH' } };
  }
  // proto.md "Error values": EPERM for a write or trim on a read-only export.
  if (isWrite && lim.readOnly) return fail('EPERM', 'export is read-only');
  // proto.md leaves zero-length requests unspecified (no disconnect): we answer EINVAL.
  if (h.length === 0) return fail('EINVAL', 'zero-length request');
  // proto.md "Block size constraints": EINVAL when not aligned to the advertised minimum.
  const min = BigInt(lim.minBlockSize);
  if (h.offset % min !== 0n || BigInt(h.length) % min !== 0n) return fail('EINVAL', `request not aligned to ${lim.minBlockSize} bytes`);
  // proto.md "Error values": ENOSPC for writes past the end, EINVAL for reads and trims.
  if (h.offset + BigInt(h.length) > BigInt(lim.size)) {
    const errno = h.type === NBD_CMD_WRITE || h.type === NBD_CMD_WRITE_ZEROES ? 'ENOSPC' : 'EINVAL';
    return fail(errno, `offset ${h.offset} + length ${h.length} beyond export size ${lim.size}`);
  }
  const offset = Number(h.offset);
  switch (h.type) {
    case NBD_CMD_READ:
      return { kind: 'execute', op: { type: 'READ', offset, length: h.length } };
    case NBD_CMD_WRITE:
      return { kind: 'execute', op: { type: 'WRITE', offset, data: payload ?? Buffer.alloc(0), fua } };
    case NBD_CMD_TRIM:
      return { kind: 'execute', op: { type: 'TRIM', offset, length: h.length, fua } };
    default:
      return { kind: 'execute', op: { type: 'WRITE_ZEROES', offset, length: h.length, fua, noHole: (h.flags & NBD_CMD_FLAG_NO_HOLE) !== 0 } };
  }
}
