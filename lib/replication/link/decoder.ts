// Streaming frame decoder: accepts chunks split at any byte boundary and
// returns whole frames, or one typed error after which it stays failed (the
// stream is desynchronised; the link must be dropped). Never throws.
// Pushed chunks are kept by reference until consumed (socket chunks are never
// reused); returned payloads are fresh copies the caller owns.
import { DEFAULT_MAX_PAYLOAD, type Frame, type FrameError, HEADER_LEN, decodeHeader } from './frame.js';
import type { FrameType } from './frame-types.js';

export interface DecodeOutput {
  frames: Frame[];
  error?: FrameError;
}

export class FrameDecoder {
  private readonly maxPayload: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: { type: FrameType; flags: number; seq: bigint; length: number } | null = null;
  private failed: FrameError | null = null;

  constructor(options: { maxPayload?: number } = {}) {
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** Bytes held that do not yet make a whole frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): DecodeOutput {
    if (this.failed) return { frames: [], error: this.failed };
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.header === null) {
        const h = decodeHeader(this.peek(Math.min(this.buffered, HEADER_LEN)), this.maxPayload);
        if (h.ok === false) {
          this.fail(h.error);
          return { frames, error: h.error };
        }
        if (h.ok === 'partial') return { frames };
        this.take(HEADER_LEN);
        this.header = { type: h.type, flags: h.flags, seq: h.seq, length: h.length };
      }
      if (this.buffered < this.header.length) return { frames };
      const { type, flags, seq, length } = this.header;
      frames.push({ type, flags, seq, payload: this.take(length) });
      this.header = null;
    }
  }

  /** The stream ended: an error if it stopped inside a frame. */
  end(): FrameError | null {
    if (this.failed) return this.failed;
    if (this.header === null && this.buffered === 0) return null;
    const want = this.header ? `${this.header.type} payload of ${this.header.length}` : `header of ${HEADER_LEN}`;
    const error: FrameError = { reason: 'truncated', detail: `closed with ${this.buffered} bytes of a ${want} bytes` };
    this.fail(error);
    return error;
  }

  private fail(error: FrameError): void {
    this.failed = error;
    this.chunks = [];
    this.buffered = 0;
  }

  // The first n buffered bytes without consuming them (copies only across chunks).
  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const c of this.chunks) {
      if (filled === n) break;
      filled += c.copy(out, filled, 0, Math.min(c.length, n - filled));
    }
    return out;
  }

  // Consumes n bytes; one copy at most, into a buffer the caller owns, and
  // none when they lie in one chunk (socket chunks are never reused).
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Buffer;
      const use = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, use);
      filled += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    this.buffered -= n;
    return out;
  }
}
