// A volume's metadata as it is kept: the record (generations, disk state,
// per-peer bitmaps, fenced peers, last role) and its activity log, each in a
// store of its own, and when each is saved. The volume owns the values it
// puts in; this decides how they reach the disk.
import type { ActivityLog } from '../block/activity-log.js';
import type { ActivityLogStore } from '../block/activity-log-store.js';
import type { Bitmap } from '../block/bitmap.js';
import type { MetadataRecord } from '../block/metadata.js';
import type { MetadataStore } from '../block/metadata-store.js';
import { encodeGenerations } from '../generations-json.js';
import type { Generations } from '../generations.js';
import type { DiskState } from '../states.js';
import type { VolumeLog } from './host.js';
import { LeavingExtents } from './leaving-extents.js';
import { UnsavedBits } from './unsaved-bits.js';

// What the volume holds that the record saves.
export interface RecordValues {
  generations: Generations;
  diskState: DiskState;
  fencedPeers: MetadataRecord['fencedPeers'];
}

// The image's flushes, as far as the log needs them (file-backend.ts).
export interface FlushedImage {
  readonly flushesBegun: number;
  readonly durableThrough: number;
  readonly flushFailure: string | null;
  flush(): Promise<void>;
}

export class VolumeRecord {
  private readonly unsavedBits: UnsavedBits;
  private readonly leaving = new LeavingExtents();
  private savingBits = false;
  private flushing = false;
  private alWriting: { upTo: number; done: Promise<void> } | null = null; // the activity-log save being written

  constructor(
    readonly record: MetadataRecord,
    private readonly store: MetadataStore,
    private readonly alStore: ActivityLogStore,
    private readonly o: { volume: string; alExtents: number; log: VolumeLog; values: () => RecordValues; disk: FlushedImage },
  ) {
    this.unsavedBits = new UnsavedBits(record.activityLog.extentSize);
  }

  get activityLog(): ActivityLog {
    return this.record.activityLog;
  }

  // Extents that left the log since the last image flush that worked (leaving-extents.ts): with the log's
  // own, what a failed flush may have lost.
  leavingExtents(): number[] {
    return this.leaving.extents();
  }

  bitmapFor(peer: string): Bitmap {
    const b = this.record.bitmaps.get(peer);
    if (b === undefined) throw new Error(`no bitmap for ${peer}`);
    return b;
  }

  save(): Promise<void> {
    const { generations, diskState, fencedPeers } = this.o.values();
    this.record.generations = JSON.parse(encodeGenerations(generations)) as unknown;
    // The record keeps disk states that survive a restart; the others come back Inconsistent.
    this.record.diskState = diskState === 'UpToDate' || diskState === 'Outdated' || diskState === 'Consistent' ? diskState : 'Inconsistent';
    this.record.fencedPeers = fencedPeers;
    const token = this.unsavedBits.saving();
    const saved = this.store.save(this.record); // encodes now
    saved.then(() => this.unsavedBits.saved(token), () => {});
    return saved;
  }

  // Bits set for a write a peer did not acknowledge: they reach the disk with the log or the next record save.
  bitsSet(offset: number, length: number): void {
    this.unsavedBits.note(offset, length);
    this.saveBitsSoon();
  }

  // Resolves once the activity log's extents added up to epoch `need` are
  // on disk (write-path.ts). Its file lists the log's extents, those with
  // bits the saved record lacks (an evicted extent's bits reach the disk in a
  // record saved later, not at eviction, so a new extent costs a few KiB
  // here instead of every bitmap), and those evicted since the last image
  // flush (leaving-extents.ts).
  logActivity(need: number): Promise<void> {
    const w = this.alWriting;
    if (w !== null && w.upTo >= need) return w.done; // the save being written holds it
    const al = this.activityLog;
    const done: Promise<void> = this.alStore.save(() => {
      const snap = al.snapshot();
      this.alWriting = { upTo: snap.upTo, done };
      const { disk } = this.o;
      const leaving = this.leaving.snapshot(snap.extents, disk.flushesBegun, disk.durableThrough);
      if (this.leaving.size > this.o.alExtents) this.flushSoon();
      return { extentSize: al.extentSize, extents: [...snap.extents, ...this.unsavedBits.extents(), ...leaving], written: () => al.saved(snap.upTo) };
    });
    return done;
  }

  // Bounds the extents listed as leaving when nothing else flushes the image (no FLUSH, protocol A). Not
  // after a failed flush: nothing counts as flushed any more, so the list only grows (each extent once).
  private flushSoon(): void {
    if (this.flushing || this.o.disk.flushFailure !== null) return;
    this.flushing = true;
    this.o.disk.flush()
      .catch((e: unknown) => this.o.log.error(`${this.o.volume}: flushing the image: ${(e as Error).message}`))
      .finally(() => (this.flushing = false));
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.alStore.close();
  }

  // Bounds what a crash resyncs beyond the log, and the log file's size: about one record save per al_extents extents written.
  private saveBitsSoon(): void {
    if (this.unsavedBits.size <= this.o.alExtents || this.savingBits) return;
    this.savingBits = true;
    this.save()
      .catch((e: unknown) => this.o.log.error(`${this.o.volume}: saving the bitmaps: ${(e as Error).message}`))
      .finally(() => (this.savingBits = false));
  }
}
