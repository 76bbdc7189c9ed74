// Progress of one resync as `tandem replica status` shows it (drbdsetup's
// "done:", "speed:", "eta:"): bytes done of those out of sync at the start,
// the rate over the last few seconds (a whole-run average would hide a
// resync that slowed down for application I/O), and the time left at that rate.
import type { ResyncProgress } from './status-types.js';

const SAMPLE_EVERY_MS = 1000;
const SAMPLES = 5;

export class ResyncMeter {
  done = 0;
  private readonly samples: Array<{ at: number; done: number }>;

  constructor(
    readonly direction: 'SyncSource' | 'SyncTarget',
    readonly full: boolean,
    readonly total: number,
    readonly startedAt: number,
  ) {
    this.samples = [{ at: startedAt, done: 0 }];
  }

  add(bytes: number, now: number): void {
    this.done = Math.min(this.total, this.done + bytes);
    const last = this.samples[this.samples.length - 1] as { at: number; done: number };
    if (now - last.at >= SAMPLE_EVERY_MS) {
      this.samples.push({ at: now, done: this.done });
      if (this.samples.length > SAMPLES) this.samples.shift();
    }
  }

  status(now: number): Omit<ResyncProgress, 'max_rate_bytes_per_s'> {
    const first = this.samples[0] as { at: number; done: number };
    const secs = (now - first.at) / 1000;
    const rate = secs > 0.5 ? (this.done - first.done) / secs : 0;
    const left = this.total - this.done;
    return {
      direction: this.direction, full: this.full, total_bytes: this.total, done_bytes: this.done,
      percent: this.total === 0 ? 100 : Math.floor((1000 * this.done) / this.total) / 10,
      rate_bytes_per_s: Math.round(rate), eta_s: rate > 0 ? Math.ceil(left / rate) : null,
    };
  }
}
