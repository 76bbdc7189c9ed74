// Extents that left the activity log while writes to them may still be in
// the page cache only: the log's file keeps listing them until an image
// flush that began after they left is done, so after a power loss their
// blocks still count as possibly different on each node (a crash marks every
// listed extent, volume-open.ts). DRBD flushes the backing disk before each
// activity-log transaction instead; here the flushes the stream makes anyway
// (FLUSH, BARRIER, resync checkpoints) do it, and a full list asks for one.
// Pure.
export class LeavingExtents {
  private readonly leaving = new Map<number, number>(); // extent -> flushes begun when it was found gone
  private listed = new Set<number>(); // the log's own extents in the last snapshot

  get size(): number {
    return this.leaving.size;
  }

  extents(): number[] {
    return [...this.leaving.keys()];
  }

  // A snapshot of the log lists `extents`; `begun` image flushes have started so far and flush `durable` is the
  // newest done (file-backend.ts). Returns the extents it must list besides: those gone since, not yet flushed.
  snapshot(extents: readonly number[], begun: number, durable: number): number[] {
    const now = new Set(extents);
    for (const e of this.listed) if (!now.has(e) && !this.leaving.has(e)) this.leaving.set(e, begun);
    for (const e of now) this.leaving.delete(e); // back in the log
    // Every write to a gone extent completed before it left, so before `at`: a flush begun later covers it.
    for (const [e, at] of this.leaving) if (durable > at) this.leaving.delete(e);
    this.listed = now;
    return [...this.leaving.keys()];
  }
}
