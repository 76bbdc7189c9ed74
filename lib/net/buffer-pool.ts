// Large payload buffers (NBD WRITE data, replication WRITE frames) reused
// instead of allocated per request: every fresh 1 MiB buffer is external
// memory that V8 reclaims with full collections (a quarter of a 1 MiB
// write's CPU in a profile). A buffer goes back to the pool when its last
// holder releases it; one that is never released is ordinary garbage, so a
// missed release costs speed, never data. Small sizes are cut from a shared
// slab, as Node's Buffer pool does below 4 KiB (a 4 KiB write would otherwise
// be one allocation per request); they are never reused, only collected.

export const POOL_MIN = 64 * 1024; // below this, slab pieces
const SLAB_BYTES = 1024 * 1024; // one slab per 256 requests of 4 KiB
const DEFAULT_KEEP_BYTES = 128 * 1024 * 1024;

const MIB = 1024 * 1024;

// Size classes, so a buffer serves any request of its class: powers of two
// from POOL_MIN to 1 MiB, then steps of POOL_MIN (a 1 MiB write with its
// frame or request header must not take 2 MiB, nor a 32 MiB one 64).
function classOf(n: number): number {
  if (n > MIB) return Math.ceil(n / POOL_MIN) * POOL_MIN;
  let c = POOL_MIN;
  while (c < n) c *= 2;
  return c;
}

export interface PoolStats {
  taken: number; // buffers handed out from the pool's size classes
  reused: number; // of those, served from a released buffer
  keptBytes: number; // released buffers waiting for reuse
}

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly holders = new WeakMap<ArrayBuffer, number>();
  private keptBytes = 0;
  private taken = 0;
  private reused = 0;
  private slab: ArrayBuffer | null = null;
  private slabUsed = 0;

  constructor(private readonly keepBytes = DEFAULT_KEEP_BYTES) {}

  // A buffer of exactly n bytes (contents undefined) with one holder: the caller.
  take(n: number): Buffer {
    if (n < POOL_MIN) return this.fromSlab(n);
    const cls = classOf(n);
    const list = this.free.get(cls);
    let ab = list?.pop();
    this.taken++;
    if (ab !== undefined) {
      this.keptBytes -= cls;
      this.reused++;
    } else {
      ab = Buffer.allocUnsafeSlow(cls).buffer as ArrayBuffer;
    }
    this.holders.set(ab, 1);
    return Buffer.from(ab, 0, n);
  }

  // Another holder of a pooled buffer (or of any view into one); no effect on other buffers.
  retain(b: Uint8Array): void {
    const n = this.holders.get(b.buffer as ArrayBuffer);
    if (n !== undefined) this.holders.set(b.buffer as ArrayBuffer, n + 1);
  }

  // One holder is done; the last one returns the buffer for reuse. No effect on other buffers.
  release(b: Uint8Array): void {
    const ab = b.buffer as ArrayBuffer;
    const n = this.holders.get(ab);
    if (n === undefined) return;
    if (n > 1) return void this.holders.set(ab, n - 1);
    this.holders.delete(ab);
    if (this.keptBytes + ab.byteLength > this.keepBytes) return; // let the GC have it
    const list = this.free.get(ab.byteLength) ?? [];
    list.push(ab);
    this.free.set(ab.byteLength, list);
    this.keptBytes += ab.byteLength;
  }

  private fromSlab(n: number): Buffer {
    if (this.slab === null || this.slabUsed + n > SLAB_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES).buffer as ArrayBuffer;
      this.slabUsed = 0;
    }
    const b = Buffer.from(this.slab, this.slabUsed, n);
    this.slabUsed += (n + 7) & ~7; // 8-byte aligned pieces, as Node's pool
    return b;
  }

  stats(): PoolStats {
    return { taken: this.taken, reused: this.reused, keptBytes: this.keptBytes };
  }
}

// The one pool of the data path: the NBD server and the replication link take
// from it, the volume and the applier release into it.
export const payloadPool = new BufferPool();
