// Writes sent to one peer and not yet acknowledged, in sequence order. A
// WRITE_ACK is cumulative (every write up to its sequence number); a write is
// "received" (protocol B) at a plain ack and done at an ON_DISK ack. When the
// link drops, the writes still pending are handed back so their blocks can be
// marked out of sync (DRBD: unacknowledged requests go to the bitmap).

export interface PendingWrite {
  seq: bigint;
  offset: number;
  length: number;
  sentAt: number;
  received: boolean;
  settle: (acked: boolean) => void; // ON_DISK ack (true) or link lost (false)
  settleReceived: () => void;
}

export class PendingWrites {
  private readonly queue: PendingWrite[] = [];
  private head = 0;
  bytes = 0;

  get count(): number {
    return this.queue.length - this.head;
  }

  // Resolves `received` at the first ack, `done` at ON_DISK or loss (false).
  add(seq: bigint, offset: number, length: number, now: number): { received: Promise<void>; done: Promise<boolean> } {
    let settle!: (acked: boolean) => void;
    let settleReceived!: () => void;
    const done = new Promise<boolean>((r) => (settle = r));
    const received = new Promise<void>((r) => (settleReceived = r));
    this.queue.push({ seq, offset, length, sentAt: now, received: false, settle, settleReceived });
    this.bytes += length;
    return { received, done };
  }

  // Returns the number of writes completed (ON_DISK).
  ack(seq: bigint, onDisk: boolean): number {
    let completed = 0;
    for (let i = this.head; i < this.queue.length; i++) {
      const w = this.queue[i] as PendingWrite;
      if (w.seq > seq) break;
      if (!w.received) {
        w.received = true;
        w.settleReceived();
      }
    }
    if (!onDisk) return 0;
    while (this.head < this.queue.length && (this.queue[this.head] as PendingWrite).seq <= seq) {
      const w = this.queue[this.head++] as PendingWrite;
      this.bytes -= w.length;
      w.settle(true);
      completed++;
    }
    this.compact();
    return completed;
  }

  oldestSentAt(): number | null {
    return this.head < this.queue.length ? (this.queue[this.head] as PendingWrite).sentAt : null;
  }

  // The link is gone: every pending write, oldest first; the caller marks
  // their blocks out of sync and then calls settle(false).
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
