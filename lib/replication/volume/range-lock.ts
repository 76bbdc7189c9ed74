// Mutual exclusion over byte ranges of a volume. A resync or verify read and
// the frame that carries its result must not interleave with an application
// write to the same blocks, or the peer would apply stale data after newer
// data (both travel in one ordered stream). Waiters are served in arrival
// order, so a busy range cannot starve a resync.

interface Held {
  start: number;
  end: number;
}

interface Waiter extends Held {
  grant: () => void;
}

export class RangeLock {
  private readonly held = new Set<Held>();
  private readonly waiting: Waiter[] = [];

  // Resolves with the release function once [offset, offset+length) is free.
  acquire(offset: number, length: number): Promise<() => void> {
    const range: Held = { start: offset, end: offset + length };
    return new Promise((resolve) => {
      // FIFO: an earlier waiter on an overlapping range goes first.
      if (this.free(range, this.waiting.length)) resolve(this.hold(range));
      else this.waiting.push({ ...range, grant: () => resolve(this.hold(range)) });
    });
  }

  // The release function at once when acquire() would grant now; null when it would wait.
  tryAcquire(offset: number, length: number): (() => void) | null {
    const range: Held = { start: offset, end: offset + length };
    return this.free(range, this.waiting.length) ? this.hold(range) : null;
  }

  private hold(range: Held): () => void {
    this.held.add(range);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(range);
      this.pump();
    };
  }

  get busy(): number {
    return this.held.size + this.waiting.length;
  }

  private free(r: Held, waitersBefore: number): boolean {
    for (const h of this.held) if (h.start < r.end && r.start < h.end) return false;
    for (let i = 0; i < waitersBefore; i++) {
      const w = this.waiting[i] as Waiter;
      if (w.start < r.end && r.start < w.end) return false;
    }
    return true;
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i] as Waiter;
      if (this.free(w, i)) {
        this.waiting.splice(i, 1);
        w.grant();
      } else i++;
    }
  }
}
