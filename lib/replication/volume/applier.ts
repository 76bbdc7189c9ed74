// Applies a peer's stream on this node in stream order, with overlap: a job
// with a range starts once no running job overlaps it (up to `maxInFlight`);
// a fence (BARRIER, VERIFY_REQUEST, RESYNC_DONE, STATE) starts only when
// everything before it is done and holds back everything after it. The
// watermark is the highest sequence number with every job up to it done: what
// a cumulative WRITE_ACK reports.

export interface ApplyJob {
  seq: bigint;
  range: { offset: number; length: number } | null; // null: a fence
  run: () => Promise<void>;
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
    const live = this.running.filter((s) => !s.done);
    if (job.range === null) return live.length === 0;
    if (live.some((s) => s.fence)) return false;
    const start = job.range.offset;
    const end = start + job.range.length;
    return !live.some((s) => s.start < end && start < s.end);
  }

  private pump(): void {
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
      job.run().then(
        () => this.finish(slot),
        (err: unknown) => {
          this.active--;
          if (this.failed) return;
          this.failed = true;
          this.queue.length = 0;
          this.onError(err);
          this.wakeIdle();
        },
      );
    }
  }

  private finish(slot: Slot): void {
    this.active--;
    if (this.failed) return;
    slot.done = true;
    let mark: bigint | null = null;
    while (this.running.length > 0 && (this.running[0] as Slot).done) mark = (this.running.shift() as Slot).seq;
    if (mark !== null) this.onWatermark(mark);
    this.pump();
    if (this.backlog === 0) this.wakeIdle();
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
