// How many lines of a service's output are logged (pure, clock passed in).
// The daemon's logger is synchronous and shares the event loop with the VRRP
// adverts: a service printing as fast as it can (`yes`) delayed adverts until
// the peer became MASTER too. So at most `perWindow` lines per window are
// logged; the rest are counted and reported in one line when the window ends.
export const OUTPUT_LINES_PER_SECOND = 200;

export interface Admission {
  log: boolean;
  // Lines suppressed in the window that just closed, not yet reported: report them before this line.
  report: number;
}

export class OutputBudget {
  private windowStart = -Infinity;
  private used = 0;
  private suppressed = 0;

  constructor(private readonly perWindow = OUTPUT_LINES_PER_SECOND, readonly windowMs = 1000) {}

  admit(now: number): Admission {
    let report = 0;
    if (now - this.windowStart >= this.windowMs) {
      report = this.take();
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used < this.perWindow) {
      this.used++;
      return { log: true, report };
    }
    this.suppressed++;
    return { log: false, report };
  }

  // When the current window ends (the time to report what it suppressed).
  get windowEnd(): number {
    return this.windowStart + this.windowMs;
  }

  // Lines suppressed and not yet reported; they count as reported now.
  take(): number {
    const n = this.suppressed;
    this.suppressed = 0;
    return n;
  }
}
