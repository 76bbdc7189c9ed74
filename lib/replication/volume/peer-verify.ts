// Online verify with one peer, in either role: as VerifyS it runs a
// VerifySource over the link; as VerifyT it hashes its own blocks for each
// VERIFY_REQUEST (in stream order, so both sides hash the same generation)
// and answers which differ. Both sides mark the differing blocks out of sync
// towards the peer. The peer session owns the link and the replication state.
import type { FileBackend } from '../block/nbd/file-backend.js';
import type { PeerLink } from '../link/peer-link.js';
import type { RangeLock } from './range-lock.js';
import type { VerifyProgress } from './status-types.js';
import { VerifySource, blockRanges, differingBlocks, hashBlocks } from './verify.js';
import { encodeVerifyReply } from './wire.js';

export interface PeerVerifyOptions {
  disk: FileBackend;
  lock: RangeLock;
  size: number;
  blockSize: number;
  markOutOfSync: (offset: number, length: number) => void;
}

interface Tally {
  total: number;
  done: number;
  mismatched: number;
}

export class PeerVerify {
  private source: VerifySource | null = null;
  private target: Tally | null = null;

  constructor(private readonly o: PeerVerifyOptions) {}

  // VerifyS: hash and send every range; `onDone` gets the bytes found out of sync.
  startSource(link: PeerLink, onDone: (mismatched: number) => void): void {
    const { disk, lock, size, blockSize, markOutOfSync } = this.o;
    this.source = new VerifySource({
      link, disk, lock, size, blockSize, onMismatch: markOutOfSync,
      onDone: (mismatched) => {
        this.source = null;
        onDone(mismatched);
      },
    });
    this.source.start();
  }

  // VERIFY_REPLY: null when accepted, else why the link must drop.
  onReply(r: { offset: number; length: number; mismatched: number[] }): string | null {
    if (this.source === null) return 'VERIFY_REPLY without a verify running';
    return this.source.onReply(r) ? null : `VERIFY_REPLY ${r.offset}+${r.length} was not requested`;
  }

  // VerifyT begins with the first VERIFY_REQUEST.
  startTarget(): void {
    this.target = { total: this.o.size, done: 0, mismatched: 0 };
  }

  // One VERIFY_REQUEST, run in stream order: our hashes against theirs, and the answer.
  async answer(link: PeerLink, offset: number, length: number, theirs: Buffer, uncached: boolean): Promise<void> {
    const { disk, blockSize } = this.o;
    const data = await (uncached ? disk.readUncached(offset, length) : disk.read(offset, length));
    const bad = differingBlocks(hashBlocks(data, blockSize), theirs);
    for (const m of blockRanges(offset, length, blockSize, bad)) {
      this.o.markOutOfSync(m.offset, m.length);
      if (this.target) this.target.mismatched += m.length;
    }
    if (this.target) this.target.done += length;
    if (link.state === 'established') link.send({ type: 'VERIFY_REPLY', payload: encodeVerifyReply(offset, length, bad) });
  }

  // VERIFY_DONE: the bytes VerifyT found out of sync, or null when this side was not VerifyT.
  endTarget(): number | null {
    const t = this.target;
    this.target = null;
    return t === null ? null : t.mismatched;
  }

  // The link ended: whatever ran is over.
  stop(): void {
    this.source?.stop();
    this.source = null;
    this.target = null;
  }

  status(): VerifyProgress | null {
    const v = this.source?.progress() ?? (this.target === null ? null : { ...this.target });
    if (v === null) return null;
    return {
      direction: this.source !== null ? 'VerifyS' : 'VerifyT', total_bytes: v.total, done_bytes: v.done,
      percent: v.total === 0 ? 100 : Math.floor((1000 * v.done) / v.total) / 10, mismatched_bytes: v.mismatched,
    };
  }
}
