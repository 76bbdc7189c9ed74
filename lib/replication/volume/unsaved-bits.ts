// The extents in which out-of-sync bits were set since the metadata record
// holding them was saved. The activity log's file keeps them listed until
// that record is on disk, so the record (every bitmap) need not be written
// when such an extent leaves the log (volume-record.ts logActivity). Pure.
export class UnsavedBits {
  private readonly stamps = new Map<number, number>(); // extent -> save epoch its last bit was set in
  private epoch = 0;

  constructor(private readonly extentSize: number) {}

  get size(): number {
    return this.stamps.size;
  }

  extents(): IterableIterator<number> {
    return this.stamps.keys();
  }

  // Bits were set in this byte range.
  note(offset: number, length: number): void {
    const last = Math.floor((offset + Math.max(length, 1) - 1) / this.extentSize);
    for (let e = Math.floor(offset / this.extentSize); e <= last; e++) this.stamps.set(e, this.epoch);
  }

  // A record save encodes the bitmaps now; the token says what it holds.
  saving(): number {
    return this.epoch++;
  }

  // That record is on disk: forget the extents it holds, not those with bits set after it was encoded.
  saved(token: number): void {
    for (const [e, at] of this.stamps) if (at <= token) this.stamps.delete(e);
  }
}
