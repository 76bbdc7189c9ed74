// Writes sent to one peer and not yet acknowledged, in sequence order. A
// WRITE_ACK is cumulative (every write up to its sequence number); a write is
// "received" (protocol B) at a plain ack and done at an ON_DISK ack. When the
// link drops, the writes still pending are handed back so their blocks can be
// marked out of sync (DRBD: unacknowledged requests go to the bitmap).
// Each frame tells its waiter directly, with no promise per frame: this is
// the hot path of every replicated write.

// Told the fate of each frame it waits for: received() once, then done() once.
export interface AckWaiter {
  received(): void; // the peer has it (first ack), or the link lost it: protocol B's answer
  done(acked: boolean): void; // on the peer's disk (ON_DISK ack: true), or lost with the link (false)
}

export interface PendingWrite {
  seq: bigint;
  offset: number;
  length: number;
  sentAt: number;
  received: boolean;
  waiter: AckWaiter;
}

// A write the link lost: once its blocks are in the bitmap, its waiter hears it.
export function settleLost(w: PendingWrite): void {
  if (!w.received) {
    w.received = true;
    w.waiter.received();
  }
  w.waiter.done(false);
}

export class PendingWrites {
  private readonly queue: PendingWrite[] = [];
  private head = 0;
  bytes = 0;

  get count(): number {
    return this.queue.length - this.head;
  }

  add(seq: bigint, offset: number, length: number, now: number, waiter: AckWaiter): void {
    this.queue.push({ seq, offset, length, sentAt: now, received: false, waiter });
    this.bytes += length;
  }

  // Returns the number of writes completed (ON_DISK).
  ack(seq: bigint, onDisk: boolean): number {
    let completed = 0;
    for (let i = this.head; i < this.queue.length; i++) {
      const w = this.queue[i] as PendingWrite;
      if (w.seq > seq) break;
      if (!w.received) {
        w.received = true;
        w.waiter.received();
      }
    }
    if (!onDisk) return 0;
    while (this.head < this.queue.length && (this.queue[this.head] as PendingWrite).seq <= seq) {
      const w = this.queue[this.head++] as PendingWrite;
      this.bytes -= w.length;
      w.waiter.done(true);
      completed++;
    }
    this.compact();
    return completed;
  }

  oldestSentAt(): number | null {
    return this.head < this.queue.length ? (this.queue[this.head] as PendingWrite).sentAt : null;
  }

  // The link is gone: every pending write, oldest first; the caller marks
  // their blocks out of sync and then calls settleLost().
  drain(): PendingWrite[] {
    const left = this.queue.slice(this.head);
    this.queue.length = 0;
    this.head = 0;
    this.bytes = 0;
    return left;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
