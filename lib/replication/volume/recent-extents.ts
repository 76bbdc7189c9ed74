// The extents a Secondary received its Primary's writes in lately (pure): the
// last `capacity` distinct 4 MiB extents, the size of the Primary's activity
// log. Every write that may have been in flight when the Primary was lost is
// in the Primary's activity log, and so among the extents its stream touched
// last: after such a loss these are the blocks the Secondaries may hold
// differently, and the next Primary resyncs them to the others.
export class RecentExtents {
  private readonly order = new Map<number, true>(); // oldest first (a Map keeps insertion order)

  constructor(private readonly extentSize: number, private readonly capacity: number) {
    if (!(extentSize > 0) || !(capacity > 0)) throw new RangeError(`extent size ${extentSize} and capacity ${capacity} must be positive`);
  }

  touch(offset: number, length: number): void {
    const first = Math.floor(offset / this.extentSize);
    const last = Math.floor((offset + Math.max(1, length) - 1) / this.extentSize);
    for (let e = first; e <= last; e++) {
      this.order.delete(e);
      this.order.set(e, true);
    }
    // A request wider than the capacity keeps its last extents, as a Primary's log cannot hold more at once.
    for (const e of this.order.keys()) {
      if (this.order.size <= this.capacity) break;
      this.order.delete(e);
    }
  }

  extents(): number[] {
    return [...this.order.keys()];
  }

  clear(): void {
    this.order.clear();
  }
}
