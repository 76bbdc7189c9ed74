// The SyncTarget's side of a resync: walks the out-of-sync bitmap in disk
// order and pulls runs of dirty blocks from the SyncSource with a window of
// requests in flight, so the resync runs at link speed but queues little
// ahead of application writes (resync-window.ts; DRBD's P_RS_DATA_REQUEST;
// with csums, P_CSUM_RS_REQUEST and "same" replies), and no faster than a
// configured rate when there is one (resync-limit.ts).
import { createHash } from 'node:crypto';
import type { Bitmap } from '../block/bitmap.js';
import type { FileBackend } from '../block/nbd/file-backend.js';
import type { PeerLink } from '../link/peer-link.js';
import { ResyncLimit } from './resync-limit.js';
import { ArrivalRate, resyncWindow } from './resync-window.js';
import { encodeResyncRequest, MAX_REQUEST_LEN } from './wire.js';

const CHUNK = 1 << 20;
// Progress is made durable (flush, then the bits cleared and saved) after this many bytes and at least this
// long: what a crash here costs to move again, against one fdatasync and record save each time.
const CHECKPOINT_BYTES = 16 * CHUNK;
const CHECKPOINT_MS = 1000;

export interface SyncedRange {
  offset: number;
  length: number;
}

export interface ResyncTargetOptions {
  link: PeerLink;
  disk: FileBackend;
  bitmap: Bitmap; // blocks to fetch; cleared as they arrive
  csums: boolean;
  maxRate: number | null; // bytes per second asked for at most (resync_max_rate), or no limit
  appBusy: () => boolean; // application writes arrived lately: leave them the bandwidth
  onProgress: (bytes: number) => void;
  // Written here, not yet known to be on stable storage: make them durable, then clear them in the saved bitmap.
  onCheckpoint: (ranges: SyncedRange[]) => void;
  onDone: () => void;
}

export class ResyncTarget {
  private cursor = 0; // next block to look at
  private readonly outstanding = new Map<number, number>(); // offset -> length
  private outstandingBytes = 0;
  private readonly arrivals = new ArrivalRate(Date.now());
  private stopped = false;
  private issuing = false;
  private finished = false;
  private synced: SyncedRange[] = [];
  private syncedBytes = 0;
  private lastCheckpoint = Date.now();
  private readonly limit: ResyncLimit | null;
  private limitTimer: NodeJS.Timeout | null = null; // asks again once the rate limit allows

  constructor(private readonly o: ResyncTargetOptions) {
    this.limit = o.maxRate === null ? null : new ResyncLimit(o.maxRate, Date.now());
  }

  start(): void {
    void this.pump();
  }

  stop(): void {
    this.stopped = true;
    if (this.limitTimer !== null) clearTimeout(this.limitTimer);
    this.limitTimer = null;
  }

  expects(offset: number, length: number): boolean {
    return this.outstanding.get(offset) === length;
  }

  // Called once the data of a reply is written (in stream order).
  onData(offset: number, length: number): void {
    this.outstanding.delete(offset);
    this.outstandingBytes -= length;
    this.arrivals.add(length, Date.now());
    this.o.bitmap.clearRange(offset, length);
    this.o.onProgress(length);
    this.synced.push({ offset, length });
    this.syncedBytes += length;
    if (this.syncedBytes >= CHECKPOINT_BYTES && Date.now() - this.lastCheckpoint >= CHECKPOINT_MS) this.o.onCheckpoint(this.takeSynced());
    void this.pump();
  }

  // What arrived since the last checkpoint (the link ends: the caller saves it once more).
  takeSynced(): SyncedRange[] {
    const r = this.synced;
    this.synced = [];
    this.syncedBytes = 0;
    this.lastCheckpoint = Date.now();
    return r;
  }

  // Over the rate limit: true, and the pump runs again once the limit allows.
  private limited(): boolean {
    const wait = this.limit?.wait(Date.now()) ?? 0;
    if (wait === 0) return false;
    this.limitTimer ??= setTimeout(() => {
      this.limitTimer = null;
      void this.pump();
    }, wait);
    return true;
  }

  private nextRun(maxLength: number): { offset: number; length: number } | null {
    const bm = this.o.bitmap;
    const first = bm.nextSet(this.cursor);
    if (first === -1) return null;
    const maxBlocks = Math.max(1, Math.floor(Math.min(maxLength, MAX_REQUEST_LEN) / bm.granularity));
    const end = Math.min(bm.nextClear(first), first + maxBlocks);
    this.cursor = end;
    return bm.blockRange(first, end);
  }

  private async pump(): Promise<void> {
    if (this.issuing) return;
    this.issuing = true;
    try {
      for (;;) {
        const window = resyncWindow(this.arrivals.rate(Date.now()), this.o.appBusy(), this.o.link.roundTripMs ?? 0);
        // Whole requests only (no slivers to top the window up); one is always allowed.
        const size = Math.min(CHUNK, window, this.limit?.burst ?? CHUNK);
        if (this.stopped || (this.outstandingBytes > 0 && this.outstandingBytes + size > window)) break;
        if (this.limit !== null && this.o.bitmap.nextSet(this.cursor) !== -1 && this.limited()) break;
        const run = this.nextRun(size);
        if (run === null) break;
        this.limit?.take(run.length, Date.now());
        let hash: Buffer | null = null;
        if (this.o.csums) hash = createHash('sha256').update(await this.o.disk.readUncached(run.offset, run.length)).digest();
        if (this.stopped || this.o.link.state !== 'established') return;
        this.outstanding.set(run.offset, run.length);
        this.outstandingBytes += run.length;
        this.o.link.send({ type: 'RESYNC_REQUEST', payload: encodeResyncRequest(run.offset, run.length, hash) });
      }
    } catch (e) {
      this.o.link.fail(`resync: reading the local disk: ${(e as Error).message}`);
      return;
    } finally {
      this.issuing = false;
    }
    if (!this.stopped && !this.finished && this.outstanding.size === 0 && this.o.bitmap.nextSet(this.cursor) === -1) {
      this.finished = true;
      this.o.onDone();
    }
  }
}
