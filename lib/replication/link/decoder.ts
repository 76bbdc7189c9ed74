// Streaming frame decoder: accepts chunks split at any byte boundary and
// returns whole frames, or one typed error after which it stays failed (the
// stream is desynchronised; the link must be dropped). Never throws.
// A pushed chunk is read only during push() (it may be a socket's reused read
// buffer); returned payloads are the caller's, large ones from the shared
// buffer pool (a WRITE's applier releases it).
import { ByteQueue } from '../../net/byte-queue.js';
import { DEFAULT_MAX_PAYLOAD, type Frame, type FrameError, HEADER_LEN, decodeHeader } from './frame.js';
import type { FrameType } from './frame-types.js';

export interface DecodeOutput {
  frames: Frame[];
  error?: FrameError;
}

export class FrameDecoder {
  private readonly maxPayload: number;
  private readonly q = new ByteQueue();
  private header: { type: FrameType; flags: number; seq: bigint; length: number } | null = null;
  private failed: FrameError | null = null;

  constructor(options: { maxPayload?: number } = {}) {
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** Bytes held that do not yet make a whole frame. */
  get pendingBytes(): number {
    return this.q.length;
  }

  push(chunk: Uint8Array): DecodeOutput {
    if (this.failed) return { frames: [], error: this.failed };
    this.q.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    const out = this.decode();
    this.q.settle();
    return out;
  }

  /** Where the socket's next read should go: into a large payload being gathered, in place. */
  readTarget(): Buffer | null {
    return this.failed ? null : this.q.readTarget();
  }

  /** The stream ended: an error if it stopped inside a frame. */
  end(): FrameError | null {
    if (this.failed) return this.failed;
    if (this.header === null && this.q.length === 0) return null;
    const want = this.header ? `${this.header.type} payload of ${this.header.length}` : `header of ${HEADER_LEN}`;
    const error: FrameError = { reason: 'truncated', detail: `closed with ${this.q.length} bytes of a ${want} bytes` };
    this.fail(error);
    return error;
  }

  private decode(): DecodeOutput {
    const frames: Frame[] = [];
    for (;;) {
      if (this.header === null) {
        const h = decodeHeader(this.q.peek(Math.min(this.q.length, HEADER_LEN)) as Buffer, this.maxPayload);
        if (h.ok === false) {
          this.fail(h.error);
          return { frames, error: h.error };
        }
        if (h.ok === 'partial') return { frames };
        this.q.discard(HEADER_LEN);
        this.header = { type: h.type, flags: h.flags, seq: h.seq, length: h.length };
      }
      const { type, flags, seq, length } = this.header;
      const payload = this.q.take(length);
      if (payload === undefined) {
        this.q.expect(length);
        return { frames };
      }
      frames.push({ type, flags, seq, payload });
      this.header = null;
    }
  }

  private fail(error: FrameError): void {
    this.failed = error;
    this.q.clear();
  }
}
