// Input buffer for a stream protocol: chunks arrive split at any byte
// boundary, the parser asks for exact lengths. A pushed chunk is read only
// until settle(): a socket that reads into one reused buffer
// (reused-reads.ts) overwrites it at its next read. What take() returns is
// the caller's to keep. Each byte is copied once at most: a message that
// spans reads is gathered into one buffer of the size the parser announced
// (expect()), and take() hands that buffer out without a copy; a socket may
// even read the rest of it in place (readTarget()).
import { payloadPool } from './buffer-pool.js';

const IN_PLACE_MIN = 16 * 1024; // smaller rests are cheaper to copy than to read alone

export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // consumed bytes of chunks[0]
  private total = 0;
  // An owned buffer being filled with the message at the head; while set,
  // chunks[0] is its filled part, and other chunks follow only once it is full.
  private gather: Buffer | null = null;
  private filled = 0;
  private want = 0; // expect(): bytes the message at the head needs, counted from the head
  // The gathered buffer once offered as a read target: a read may still land in it, so it never goes back to the pool.
  private offered: Buffer | null = null;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const g = this.gather;
    if (g !== null && this.filled < g.length && this.chunks.length === 1) {
      // Read in place (readTarget()): the bytes are where they belong already.
      const inPlace = chunk.buffer === g.buffer && chunk.byteOffset === g.byteOffset + this.filled && chunk.length <= g.length - this.filled;
      const n = inPlace ? chunk.length : chunk.copy(g, this.filled);
      this.filled += n;
      this.total += n;
      this.chunks[0] = g.subarray(0, this.filled);
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  // Where the next read should go to save a copy: the unfilled rest of the
  // message being gathered, when at least `min` bytes of it are missing.
  // Null: read anywhere and push() as usual.
  readTarget(min = IN_PLACE_MIN): Buffer | null {
    const g = this.gather;
    if (g === null || this.chunks.length !== 1 || g.length - this.filled < min) return null;
    this.offered = g;
    return g.subarray(this.filled);
  }

  // The message at the head needs n bytes in all: settle() gathers it into a buffer of that size.
  expect(n: number): void {
    this.want = n;
  }

  // The first n bytes without consuming them, or undefined if fewer are
  // queued. Read it before the next push or settle: it may be a view of a pushed chunk.
  peek(n: number): Buffer | undefined {
    if (n > this.total) return undefined;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    return this.copyOut(n, Buffer.allocUnsafe(n));
  }

  // Consumes and returns the first n bytes (the caller's to keep), or undefined if fewer are queued.
  take(n: number): Buffer | undefined {
    if (n > this.total) return undefined;
    this.want = 0;
    const g = this.gather;
    let out: Buffer;
    // The gathered message itself when this take ends it: no copy, and the buffer's pool hold moves to the caller.
    if (g !== null && this.filled === g.length && this.head + n === g.length) {
      out = g.subarray(this.head, g.length);
      if (this.offered === g) this.offered = null; // the read that filled it is over; the next goes elsewhere
    } else out = this.copyOut(n, payloadPool.take(n));
    this.skip(n);
    return out;
  }

  // Consumes the first n bytes without handing them out (a header already read with peek()); false if fewer are queued.
  discard(n: number): boolean {
    if (n > this.total) return false;
    this.want = 0;
    const first = this.chunks[0];
    // The gathered buffer read to its end goes back to the pool: nobody else holds it.
    if (this.gather !== null && first !== undefined && n >= first.length - this.head) this.drop();
    this.skip(n);
    return true;
  }

  // The caller is done reading what it pushed: bytes still queued are copied
  // into an owned buffer (sized for the announced message), so the pushed chunks may be reused.
  settle(): void {
    if (this.total === 0) return this.clear();
    if (this.gather !== null && this.chunks.length === 1) return; // all owned already
    const g = payloadPool.take(Math.max(this.total, this.want));
    this.copyOut(this.total, g);
    this.drop();
    this.chunks = [g.subarray(0, this.total)];
    this.head = 0;
    this.gather = g;
    this.filled = this.total;
  }

  clear(): void {
    this.drop();
    this.chunks = [];
    this.head = 0;
    this.total = 0;
    this.want = 0;
  }

  private copyOut(n: number, out: Buffer): Buffer {
    let copied = 0;
    let skip = this.head;
    for (const c of this.chunks) {
      copied += c.copy(out, copied, skip, Math.min(c.length, skip + (n - copied)));
      skip = 0;
      if (copied === n) break;
    }
    return out;
  }

  private skip(n: number): void {
    this.total -= n;
    while (n > 0) {
      const first = this.chunks[0];
      if (first === undefined) return;
      const left = first.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.head = 0;
      this.gather = null; // chunks[0] was the gathered buffer, if any: consumed or handed out
    }
  }

  // The gathered buffer is no longer ours to fill: nothing else holds it (take hands it out only by ending it).
  private drop(): void {
    if (this.gather !== null && this.gather !== this.offered) payloadPool.release(this.gather);
    this.gather = null;
    this.filled = 0;
  }
}
