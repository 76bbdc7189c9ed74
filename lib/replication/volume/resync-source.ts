// The SyncSource's side of a resync: each RESYNC_REQUEST is answered with the
// blocks, or with "same" when the SyncTarget's checksum matches ours (DRBD's
// csums-alg: unchanged blocks cross the link as a hash only).
import { createHash } from 'node:crypto';
import type { FileBackend } from '../block/nbd/file-backend.js';
import type { PeerLink } from '../link/peer-link.js';
import type { RangeLock } from './range-lock.js';
import { encodeResyncDataHeader } from './wire.js';

// Resolves true once the answer is sent, false when the link ended first.
// `sent` runs at once after the send, still under the lock: a write to these
// blocks that the link then loses marks them again after it, never before.
export async function serveResyncRequest(
  link: PeerLink, source: { disk: FileBackend; lock: RangeLock }, offset: number, length: number, hash: Buffer | null, sent: () => void,
): Promise<boolean> {
  // Read and send under the range lock: an application write to these blocks goes before or after, never between.
  const release = await source.lock.acquire(offset, length);
  try {
    const data = await source.disk.read(offset, length);
    if (link.state !== 'established') return false;
    const same = hash !== null && createHash('sha256').update(data).digest().equals(hash);
    const head = encodeResyncDataHeader(offset, length, same);
    link.send({ type: 'RESYNC_DATA', payload: same ? head : [head, data] });
    sent();
    return true;
  } finally {
    release();
  }
}
