// The source's dirty paths towards one peer: when each was first and last
// seen changed, and when it may be sent. A path is due once it was quiet for
// `settleMs` (a burst on a hot file coalesces) or has been changing for
// MAX_DELAY_MS (a file written without pause is still sent), unless a flush
// made it urgent. A path that failed waits longer after each failure in a row
// (RETRY_MS), so a full disk on the peer is not hammered. Pure: time is an argument.

export const MAX_DELAY_MS = 1000;
export const RETRY_MS = [500, 1000, 2000, 5000, 10_000, 30_000];

// seq orders changes for a flush: a change keeps the number it got when first seen, until it is sent.
export interface Dirty {
  origin: number; // first seen changed
  last: number; // last seen changed
  force: boolean; // send even if size and mtime match the peer's
  notBefore: number; // a failed path's next try
  seq: number;
  reconcile?: boolean; // part of the connect compare
  urgent?: boolean; // a flush waits for it: no settle time
}

export class DirtySet {
  private readonly paths = new Map<string, Dirty>();
  private readonly failures = new Map<string, number>();
  private seq = 0;

  constructor(private readonly settleMs: number) {}

  get size(): number {
    return this.paths.size;
  }

  // The newest change's number: a flush waits for everything up to it.
  get lastSeq(): number {
    return this.seq;
  }

  get(path: string): Dirty | undefined {
    return this.paths.get(path);
  }

  has(path: string): boolean {
    return this.paths.has(path);
  }

  keys(): IterableIterator<string> {
    return this.paths.keys();
  }

  delete(path: string): void {
    this.paths.delete(path);
  }

  touch(path: string, now: number, force = false): void {
    const d = this.paths.get(path);
    if (d === undefined) {
      this.paths.set(path, { origin: now, last: now, force, notBefore: 0, seq: ++this.seq });
      return;
    }
    d.last = Math.max(d.last, now);
    d.force ||= force;
    d.notBefore = 0; // changed again: new content may land where the old failed (the failure count stays)
  }

  // The path failed (sent and refused, or unreadable here): dirty again, after a wait that grows with each failure in a row.
  // It keeps the failed change's `seq` (a flush covering it must not stop waiting for it), or the newer one's if touched since.
  retry(path: string, origin: number, now: number, seq: number): void {
    const d = this.paths.get(path) ?? { origin, last: 0, force: true, notBefore: 0, seq };
    d.seq = Math.min(d.seq, seq);
    const attempt = (this.failures.get(path) ?? 0) + 1;
    this.failures.set(path, attempt);
    d.notBefore = now + (RETRY_MS[Math.min(attempt - 1, RETRY_MS.length - 1)] ?? 30_000);
    this.paths.set(path, d);
  }

  // A flush covering `seq` (an earlier change of the path that failed) waits for this path's next attempt.
  holdBack(path: string, seq: number): void {
    const d = this.paths.get(path);
    if (d !== undefined) d.seq = Math.min(d.seq, seq);
  }

  // The path is on the peer: its next failure waits the shortest time again.
  replicated(path: string): void {
    this.failures.delete(path);
  }

  // A flush: every change up to `mark` is due at once.
  hurry(mark: number): void {
    for (const d of this.paths.values()) if (d.seq <= mark) d.urgent = true;
  }

  // Whether a change up to `mark` is still waiting here.
  holds(mark: number): boolean {
    for (const d of this.paths.values()) if (d.seq <= mark) return true;
    return false;
  }

  due(now: number): Array<{ path: string; d: Dirty }> {
    const ready: Array<{ path: string; d: Dirty }> = [];
    for (const [path, d] of this.paths) {
      if (d.notBefore > now) continue;
      if (d.urgent === true || now - d.last >= this.settleMs || now - d.origin >= MAX_DELAY_MS) ready.push({ path, d });
    }
    return ready;
  }

  // When the next path becomes due (Infinity: none is waiting).
  nextDue(now: number): number {
    let next = Infinity;
    for (const d of this.paths.values()) next = Math.min(next, Math.max(d.notBefore, d.urgent === true ? now : Math.min(d.last + this.settleMs, d.origin + MAX_DELAY_MS)));
    return next;
  }

  // When the oldest waiting change was first seen (Infinity: none).
  oldestOrigin(): number {
    let oldest = Infinity;
    for (const d of this.paths.values()) oldest = Math.min(oldest, d.origin);
    return oldest;
  }
}
