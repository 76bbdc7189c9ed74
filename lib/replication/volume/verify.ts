// Online verify (drbdadm verify). VerifyS hashes each block of a range under
// the range lock and sends the hashes in the write stream, so the peer hashes
// the same data generation; VerifyT answers which blocks differ, and both
// sides mark them out of sync.
import { createHash } from 'node:crypto';
import type { FileBackend } from '../block/nbd/file-backend.js';
import type { PeerLink } from '../link/peer-link.js';
import type { RangeLock } from './range-lock.js';
import { BLOCK_HASH_LEN, encodeVerifyRequest } from './wire.js';

const WINDOW = 4;
const CHUNK = 1 << 20;

// One truncated SHA-256 per block of `data`.
export function hashBlocks(data: Buffer, blockSize: number): Buffer {
  const n = Math.ceil(data.length / blockSize);
  const out = Buffer.alloc(n * BLOCK_HASH_LEN);
  for (let i = 0; i < n; i++) {
    createHash('sha256').update(data.subarray(i * blockSize, (i + 1) * blockSize)).digest().copy(out, i * BLOCK_HASH_LEN, 0, BLOCK_HASH_LEN);
  }
  return out;
}

// VerifyT: the indexes of the blocks whose hashes differ.
export function differingBlocks(mine: Buffer, theirs: Buffer): number[] {
  const bad: number[] = [];
  for (let i = 0; i * BLOCK_HASH_LEN < theirs.length; i++) {
    const at = i * BLOCK_HASH_LEN;
    if (at + BLOCK_HASH_LEN > mine.length || mine.compare(theirs, at, at + BLOCK_HASH_LEN, at, at + BLOCK_HASH_LEN) !== 0) bad.push(i);
  }
  return bad;
}

// The byte ranges of blocks `blocks` of the range at `offset` (the volume's last block may be short).
export function blockRanges(offset: number, length: number, blockSize: number, blocks: readonly number[]): Array<{ offset: number; length: number }> {
  return blocks.map((b) => ({ offset: offset + b * blockSize, length: Math.min(blockSize, length - b * blockSize) }));
}

export interface VerifySourceOptions {
  link: PeerLink;
  disk: FileBackend;
  lock: RangeLock;
  size: number;
  blockSize: number;
  onMismatch: (offset: number, length: number) => void;
  onDone: (mismatchedBytes: number) => void;
}

export class VerifySource {
  private next = 0;
  private readonly asked = new Map<number, number>(); // offset -> length of requests awaiting a reply
  private done = 0;
  private mismatched = 0;
  private stopped = false;
  private issuing = false;

  constructor(private readonly o: VerifySourceOptions) {}

  start(): void {
    void this.pump();
  }

  stop(): void {
    this.stopped = true;
  }

  progress(): { total: number; done: number; mismatched: number } {
    return { total: this.o.size, done: this.done, mismatched: this.mismatched };
  }

  // False: not a reply to a request of ours (the caller drops the link).
  onReply(r: { offset: number; length: number; mismatched: number[] }): boolean {
    if (this.asked.get(r.offset) !== r.length) return false;
    this.asked.delete(r.offset);
    for (const m of blockRanges(r.offset, r.length, this.o.blockSize, r.mismatched)) {
      this.o.onMismatch(m.offset, m.length);
      this.mismatched += m.length;
    }
    this.done += r.length;
    void this.pump();
    return true;
  }

  private async pump(): Promise<void> {
    if (this.issuing) return;
    this.issuing = true;
    try {
      while (!this.stopped && this.asked.size < WINDOW && this.next < this.o.size) {
        const offset = this.next;
        const length = Math.min(CHUNK, this.o.size - offset);
        this.next += length;
        this.asked.set(offset, length);
        const release = await this.o.lock.acquire(offset, length);
        try {
          const hashes = hashBlocks(await this.o.disk.read(offset, length), this.o.blockSize);
          if (this.stopped || this.o.link.state !== 'established') return;
          this.o.link.send({ type: 'VERIFY_REQUEST', payload: encodeVerifyRequest(offset, length, hashes) });
        } finally {
          release();
        }
      }
    } catch (e) {
      this.o.link.fail(`verify: reading the local disk: ${(e as Error).message}`);
      return;
    } finally {
      this.issuing = false;
    }
    if (!this.stopped && this.asked.size === 0 && this.next >= this.o.size) {
      this.stopped = true;
      this.o.onDone(this.mismatched);
    }
  }
}
