// Which parsed requests may run now. proto.md "Ordering of messages and
// writes" lets a server run and answer requests out of order; we keep one
// rule on top: a request never overtakes an earlier one whose byte range
// overlaps it when either of them writes (WRITE, TRIM, WRITE_ZEROES), so
// overlapping writes reach the backend, and are answered, in arrival order.
// FLUSH waits for every earlier write: the spec asks only for the answered
// ones, but covering all earlier writes costs one wait per flush and matches
// what a client that pipelines WRITE then FLUSH expects. Nothing waits for a
// FLUSH. Pure: no I/O, no timers.
import type { NbdRequest } from './protocol.js';

interface Range {
  start: number;
  end: number;
  bytes: number; // buffered while running: READ data or WRITE payload
  writes: boolean;
  flush?: true;
}

function rangeOf(r: NbdRequest): Range | undefined {
  const v = r.verdict;
  if (v.kind !== 'execute') return undefined; // an error reply touches no bytes
  if (v.op.type === 'FLUSH') return { start: 0, end: 0, bytes: 0, writes: false, flush: true };
  const length = v.op.type === 'WRITE' ? v.op.data.length : v.op.length;
  const bytes = v.op.type === 'READ' || v.op.type === 'WRITE' ? length : 0;
  return { start: v.op.offset, end: v.op.offset + length, bytes, writes: v.op.type !== 'READ' };
}

// May `later` start while `earlier` is running or waiting?
function conflicts(earlier: Range | undefined, later: Range | undefined): boolean {
  if (earlier === undefined || later === undefined || earlier.flush) return false;
  if (later.flush) return earlier.writes;
  const a = earlier;
  const b = later;
  return (a.writes || b.writes) && a.start < b.end && b.start < a.end;
}

export class RequestScheduler {
  private pending: Array<{ req: NbdRequest; range: Range | undefined }> = [];
  private readonly running = new Map<NbdRequest, Range | undefined>();
  private runningBytes = 0;

  // maxRunningBytes bounds the read buffers and write payloads held at once;
  // one request is always let through so a 32 MiB request cannot wedge.
  constructor(private readonly maxRunning: number, private readonly maxRunningBytes = Number.MAX_SAFE_INTEGER) {}

  get size(): number {
    return this.pending.length + this.running.size;
  }

  get runningCount(): number {
    return this.running.size;
  }

  add(req: NbdRequest): void {
    this.pending.push({ req, range: rangeOf(req) });
  }

  // Requests to start now, in arrival order; they count as running until done().
  next(): NbdRequest[] {
    const start: NbdRequest[] = [];
    const earlier: Array<Range | undefined> = [...this.running.values()];
    const keep: typeof this.pending = [];
    for (const p of this.pending) {
      const bytes = p.range?.bytes ?? 0;
      const room = this.running.size === 0 || (this.running.size < this.maxRunning && this.runningBytes + bytes <= this.maxRunningBytes);
      if (room && !earlier.some((e) => conflicts(e, p.range))) {
        this.running.set(p.req, p.range);
        this.runningBytes += bytes;
        start.push(p.req);
      } else {
        keep.push(p);
      }
      earlier.push(p.range); // started or waiting, later requests must not overtake it
    }
    this.pending = keep;
    return start;
  }

  done(req: NbdRequest): void {
    const r = this.running.get(req);
    if (!this.running.delete(req)) return;
    this.runningBytes -= r?.bytes ?? 0;
  }

  // Drops everything not yet started (protocol error, shutdown).
  dropPending(): void {
    this.pending = [];
  }
}
