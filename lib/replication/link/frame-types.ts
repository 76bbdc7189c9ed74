// Frame types of the replication peer link, their wire codes and the flags
// each may carry. Codes are grouped: 0x0_ handshake, 0x1_ write stream,
// 0x2_ liveness / state, 0x3_ resync, 0x4_ directory volumes. An unknown code drops the link (no
// silent skipping: both ends run the same protocol version, checked in HELLO).

export const FRAME_TYPES = {
  // Handshake (DRBD 9 guide "cram-hmac-alg" / replication.md "Peer authentication")
  HELLO: 0x01, // protocol version, node name, volume name, 64-byte random challenge
  RESPONSE: 0x02, // HMAC-SHA256(secret, peer's challenge + transcript binding), see auth.ts
  AUTH_OK: 0x03, // "I verified your RESPONSE"; a side is authenticated once it verified AND got AUTH_OK
  ERROR: 0x0f, // reason + detail, sent just before closing (payload: messages.ts)
  // Write stream (DRBD protocols A/B/C, replication.md "DRBD replication protocols")
  WRITE: 0x10, // one block write; flag FUA asks the peer for stable storage before its on-disk ack
  WRITE_ACK: 0x11, // ack of a WRITE by sequence: flag ON_DISK = on stable storage (C), absent = received (B)
  BARRIER: 0x12, // epoch boundary: the peer flushes everything before it (DRBD P_BARRIER)
  BARRIER_ACK: 0x13, // the epoch before the BARRIER is on the peer's stable storage
  PEER_OUT_OF_SYNC: 0x14, // Primary: a third peer missed this range; the Secondary marks it too (link protocol 6; DRBD 9's peer-acks do this job)
  // Liveness and state
  PING: 0x20, // heartbeat; answered by PONG with the same payload (DRBD ping-int)
  PONG: 0x21, // heartbeat answer; any received frame also counts as liveness
  STATE: 0x22, // role, disk state, generation identifiers (payload owned by the volume layer)
  PROMOTE_REQUEST: 0x23, // "may I become Primary?" (DRBD 9 P_TWOPC_PREPARE for a role change)
  PROMOTE_REPLY: 0x24, // granted, or refused with the reason (P_TWOPC_YES / P_TWOPC_NO)
  PROMOTE_ABORT: 0x25, // the requester gave up: release the grant (P_TWOPC_ABORT)
  // Resync (replication.md "Resync and verify")
  RESYNC_REQUEST: 0x30, // SyncTarget asks for a block range (optionally with a checksum, csums-alg)
  RESYNC_DATA: 0x31, // SyncSource answers with data, or "same" for a matching checksum
  BITMAP: 0x32, // at connect, before a resync: the sender's out-of-sync bitmap for the receiver (DRBD P_BITMAP)
  RESYNC_DONE: 0x33, // SyncTarget: every requested block is applied; both sides finish the resync
  VERIFY_REQUEST: 0x34, // VerifyS: a range and the hash of each block in it (DRBD P_OV_REQUEST)
  VERIFY_REPLY: 0x35, // VerifyT: which blocks of that range differ (DRBD P_OV_REPLY)
  VERIFY_DONE: 0x36, // VerifyS: the verify ended (finished or stopped)
  // Directory volumes (issue 4; payloads in files/wire.ts)
  DIR_SCAN: 0x40, // source: "send me your manifest" (starts a reconcile)
  DIR_MANIFEST: 0x41, // target: a batch of its manifest entries; FLAG_LAST on the final batch
  DIR_OP: 0x42, // source: mkdir, symlink, remove or meta, with an id to acknowledge
  DIR_FILE: 0x43, // source: a file's content follows (DIR_DATA..., DIR_END); delta asks for DIR_SIGS first
  DIR_SIGS: 0x44, // target: block hashes of its copy of that file
  DIR_DATA: 0x45, // source: bytes of the file at an offset
  DIR_END: 0x46, // source: size, hash, mode, mtime: commit; FLAG_ABORT: the file changed while read, discard
  DIR_ACK: 0x47, // target: an op or file is applied and on stable storage, or why not
  DIR_SYNCED: 0x48, // source: the reconcile is complete (the target is UpToDate once it applied all before)
} as const;

export type FrameType = keyof typeof FRAME_TYPES;

const BY_CODE = new Map<number, FrameType>(
  (Object.entries(FRAME_TYPES) as [FrameType, number][]).map(([name, code]) => [code, name]),
);

export function frameTypeOf(code: number): FrameType | undefined {
  return BY_CODE.get(code);
}

// Flag bits; their meaning depends on the frame type.
export const FLAG_FUA = 0x0001; // WRITE: ack ON_DISK only once on stable storage (NBD proto.md "NBD_CMD_FLAG_FUA")
export const FLAG_ON_DISK = 0x0001; // WRITE_ACK: written to the peer's disk (A, C), else only received (B)
export const FLAG_ZEROES = 0x0002; // WRITE: the range reads as zeroes afterwards; the payload has no data (NBD_CMD_WRITE_ZEROES)
export const FLAG_LAST = 0x0001; // DIR_MANIFEST: the final batch
export const FLAG_ABORT = 0x0001; // DIR_END: discard the file (it changed on the source while being read)

// Bits each type may carry; any other set bit is a protocol error, so a newer
// peer's flag is never silently ignored.
export const ALLOWED_FLAGS: Readonly<Record<FrameType, number>> = {
  HELLO: 0, RESPONSE: 0, AUTH_OK: 0, ERROR: 0,
  WRITE: FLAG_FUA | FLAG_ZEROES, WRITE_ACK: FLAG_ON_DISK, BARRIER: 0, BARRIER_ACK: 0, PEER_OUT_OF_SYNC: 0,
  PING: 0, PONG: 0, STATE: 0, PROMOTE_REQUEST: 0, PROMOTE_REPLY: 0, PROMOTE_ABORT: 0, RESYNC_REQUEST: 0, RESYNC_DATA: 0,
  BITMAP: 0, RESYNC_DONE: 0, VERIFY_REQUEST: 0, VERIFY_REPLY: 0, VERIFY_DONE: 0,
  DIR_SCAN: 0, DIR_MANIFEST: FLAG_LAST, DIR_OP: 0, DIR_FILE: 0, DIR_SIGS: 0, DIR_DATA: 0, DIR_END: FLAG_ABORT, DIR_ACK: 0, DIR_SYNCED: 0,
};

// Frames the handshake owns; PeerLink.send refuses them.
export const HANDSHAKE_TYPES: ReadonlySet<FrameType> = new Set<FrameType>(['HELLO', 'RESPONSE', 'AUTH_OK']);
