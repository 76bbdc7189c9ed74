// A Secondary's activity log for its Primary's stream (replication.md "A
// lost Primary's last writes"): the extents the Primary's writes touch are
// logged before the data goes to disk, as a Primary logs its own
// (activity-log.ts), under a record that says unclean. A write in flight
// when the Primary was lost may have reached this disk and not another's:
// after the loss reconcile.ts marks the logged extents out of sync towards
// the other peers, and after a crash of this node (with its Primary, maybe)
// volume-open.ts marks them towards every peer. Without the log a crash
// would forget them, and such a block would differ silently.
import type { ActivityLog } from '../block/activity-log.js';

// Writes the part [offset, offset + length) of a received write; returns nothing when it wrote synchronously.
export type ApplyWrite = (offset: number, length: number) => Promise<void> | void;

export interface SecondaryLogHost {
  readonly activityLog: ActivityLog;
  // The log's extents added up to epoch `need` are on disk (volume-record.ts).
  logActivity(need: number): Promise<void>;
  // The record on disk says unclean (unclean-record.ts).
  readonly uncleanOnDisk: boolean;
  recordUnclean(): Promise<void>;
  // Extents were released: a Primary's write waiting for room in the log (after a promotion) may go on.
  released(): void;
}

export class SecondaryLog {
  private waiters: Array<() => void> = []; // parts waiting for an extent to be released (every one pinned)

  constructor(private readonly h: SecondaryLogHost) {}

  // One write of the stream, under the log: written synchronously (nothing returned) when its extents are
  // logged already and the write needs no promise, else once they are.
  apply(offset: number, length: number, write: ApplyWrite): Promise<void> | void {
    const al = this.h.activityLog;
    if (length === 0) return write(offset, length);
    if (!this.h.uncleanOnDisk || !al.hot(offset, length)) return this.applyWaiting(offset, length, write);
    const t = al.touch(offset, length); // hot: pins the extents; only extents logged ahead of a stream may be new
    if (t.ok && t.changed) this.logAhead(t.added);
    let r: Promise<void> | void;
    try {
      r = write(offset, length);
    } catch (e) {
      this.release(offset, length);
      throw e;
    }
    if (r === undefined) return this.release(offset, length);
    return r.finally(() => this.release(offset, length));
  }

  // In the log's parts, one after the other (the Primary's log, which sized its writes, may be larger than ours).
  private async applyWaiting(offset: number, length: number, write: ApplyWrite): Promise<void> {
    await this.h.recordUnclean();
    for (const p of this.h.activityLog.parts(offset, length)) {
      await this.begin(p.offset, p.length);
      try {
        await write(p.offset, p.length);
      } finally {
        this.release(p.offset, p.length);
      }
    }
  }

  // Pins the range's extents, and waits until the log on disk holds them.
  private async begin(offset: number, length: number): Promise<void> {
    const al = this.h.activityLog;
    for (;;) {
      const r = al.touch(offset, length);
      if (!r.ok) {
        // The parts above always fit: only every extent pinned by writes in flight makes a part wait.
        if (r.reason === 'too-many-extents') throw new RangeError(`${offset}+${length}: ${r.detail}`);
        await new Promise<void>((res) => this.waiters.push(res));
        continue;
      }
      const need = al.freshest(offset, length);
      if (need < 0) {
        if (r.changed) this.logAhead(r.added);
        return;
      }
      try {
        await this.h.logActivity(need);
      } catch (e) {
        this.release(offset, length);
        throw e;
      }
      return;
    }
  }

  // Extents logged ahead of a stream: saved now, waited for by no write (freshest() makes one that reaches
  // them before the save is done wait). A failed save fails the store: the next write that needs one gets the error.
  private logAhead(extents: number[]): void {
    this.h.logActivity(this.h.activityLog.freshestOf(extents)).catch(() => {});
  }

  private release(offset: number, length: number): void {
    this.h.activityLog.release(offset, length);
    this.h.released();
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const f of w) f();
  }
}
