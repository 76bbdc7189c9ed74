// Applies a peer's stream on this node in stream order, with overlap: a job
// with a range starts once no running job overlaps it (up to `maxInFlight`);
// a fence (BARRIER, VERIFY_REQUEST, RESYNC_DONE, STATE) starts only when
// everything before it is done and holds back everything after it. The
// watermark is the highest sequence number with every job up to it done: what
// a cumulative WRITE_ACK reports. A job whose run() returns nothing is done
// when it returns (a small write into the page cache): no promise for it.

export interface ApplyJob {
  seq: bigint;
  range: { offset: number; length: number } | null; // null: a fence
  run: () => Promise<void> | void;
}

interface Slot {
  seq: bigint;
  start: number;
  end: number;
  fence: boolean;
  done: boolean;
}

export class OrderedApplier {
  private readonly queue: ApplyJob[] = [];
  private readonly running: Slot[] = []; // in seq order, done ones removed from the head
  private active = 0;
  private failed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly maxInFlight: number,
    private readonly onWatermark: (seq: bigint) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  push(job: ApplyJob): void {
    if (this.failed) return;
    this.queue.push(job);
    this.pump();
  }

  get backlog(): number {
    return this.queue.length + this.active;
  }

  // Resolves once every job pushed so far is done (or the applier failed).
  idle(): Promise<void> {
    if (this.backlog === 0 || this.failed) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  // After an error nothing more is applied; pending jobs are dropped.
  stop(): void {
    this.failed = true;
    this.queue.length = 0;
    this.wakeIdle();
  }

  private canStart(job: ApplyJob): boolean {
    if (this.active >= this.maxInFlight) return false;
    if (job.range === null) return this.active === 0;
    const start = job.range.offset;
    const end = start + job.range.length;
    for (const s of this.running) {
      if (s.done) continue;
      if (s.fence || (s.start < end && start < s.end)) return false;
    }
    return true;
  }

  private pump(): void {
    let mark: bigint | null = null;
    while (!this.failed && this.queue.length > 0 && this.canStart(this.queue[0] as ApplyJob)) {
      const job = this.queue.shift() as ApplyJob;
      const slot: Slot = {
        seq: job.seq,
        start: job.range?.offset ?? 0,
        end: job.range === null ? 0 : job.range.offset + job.range.length,
        fence: job.range === null,
        done: false,
      };
      this.running.push(slot);
      this.active++;
      let started: Promise<void> | void;
      try {
        started = job.run();
      } catch (err) {
        this.fail(err);
        return;
      }
      if (started === undefined) mark = this.settle(slot) ?? mark;
      else started.then(() => this.finish(slot), (err: unknown) => this.fail(err));
    }
    if (mark !== null) this.onWatermark(mark);
    if (this.backlog === 0) this.wakeIdle();
  }

  private finish(slot: Slot): void {
    if (this.failed) {
      this.active--;
      return;
    }
    const mark = this.settle(slot);
    if (mark !== null) this.onWatermark(mark);
    this.pump();
  }

  // The slot is done: the new watermark when the done prefix grew, else null.
  private settle(slot: Slot): bigint | null {
    this.active--;
    slot.done = true;
    let mark: bigint | null = null;
    while (this.running.length > 0 && (this.running[0] as Slot).done) mark = (this.running.shift() as Slot).seq;
    return mark;
  }

  private fail(err: unknown): void {
    this.active--;
    if (this.failed) return;
    this.failed = true;
    this.queue.length = 0;
    this.onError(err);
    this.wakeIdle();
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
