// Input buffer for a stream protocol: chunks arrive split at any byte
// boundary, the parser asks for exact lengths. Copies only when a message
// spans chunks.

export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // consumed bytes of chunks[0]
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  // The first n bytes without consuming them, or undefined if fewer are queued.
  peek(n: number): Buffer | undefined {
    if (n > this.total) return undefined;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first !== undefined && first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    let skip = this.head;
    for (const c of this.chunks) {
      const part = c.subarray(skip, skip + (n - copied));
      part.copy(out, copied);
      copied += part.length;
      skip = 0;
      if (copied === n) break;
    }
    return out;
  }

  // Consumes and returns the first n bytes, or undefined if fewer are queued.
  take(n: number): Buffer | undefined {
    const out = this.peek(n);
    if (out === undefined) return undefined;
    this.skip(n);
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
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.total = 0;
  }
}
