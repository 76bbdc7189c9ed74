// A plain image file as a BlockBackend: pread/pwrite on one FileHandle,
// fdatasync for FLUSH and FUA. Created sparse at the given size if missing.
import { writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { TandemError } from '../../../errors.js';
import { DirectIo } from '../direct-io.js';
import type { BlockBackend } from './backend.js';

const ZERO_CHUNK = 1024 * 1024;
export const INLINE_WRITE_MAX = 64 * 1024; // the largest write writeInline() takes

export interface FileBackendOptions {
  path: string;
  size?: number; // required when the file does not exist; the file's size is used otherwise
  readOnly?: boolean;
}

export class FileBackend implements BlockBackend {
  readonly flushCoversAllConnections = true; // fdatasync is per file, and nothing is cached above it
  private zeroes: Buffer | undefined;
  private direct: Promise<DirectIo | null> | undefined; // opened at the first uncached call
  private directRefused = false; // a direct call failed with EINVAL: buffered from then on

  private constructor(private readonly fh: FileHandle, readonly size: number, readonly readOnly: boolean) {}

  static async open(opts: FileBackendOptions): Promise<FileBackend> {
    const readOnly = opts.readOnly ?? false;
    let fh: FileHandle;
    try {
      fh = await open(opts.path, readOnly ? 'r' : 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || readOnly || opts.size === undefined) {
        throw new TandemError('NBD_BACKEND_OPEN', `cannot open ${opts.path}: ${(err as Error).message}`, { cause: err });
      }
      // 'wx': never truncate a file that appeared meanwhile; truncate() on an empty file leaves it sparse.
      fh = await open(opts.path, 'wx+');
      await fh.truncate(opts.size);
      await fh.sync();
    }
    const size = (await fh.stat()).size;
    if (opts.size !== undefined && size !== opts.size) {
      await fh.close();
      throw new TandemError('NBD_BACKEND_SIZE', `${opts.path} is ${size} bytes, expected ${opts.size}`);
    }
    return new FileBackend(fh, size, readOnly);
  }

  // An already open image (image.ts); close() closes the handle.
  static fromHandle(fh: FileHandle, size: number, readOnly = false): FileBackend {
    return new FileBackend(fh, size, readOnly);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) {
        buf.fill(0, done); // the file shrank under us: past EOF reads as zeroes
        break;
      }
      done += bytesRead;
    }
    return buf;
  }

  // A small write lands in the page cache in microseconds: doing it inline
  // saves two thread-pool hops, which dominate a replicated 4 KiB write.
  // False, having written nothing, when the write is larger than `max`.
  writeInline(offset: number, data: Buffer, max = INLINE_WRITE_MAX): boolean {
    if (data.length > max) return false;
    let n = 0;
    while (n < data.length) n += writeSync(this.fh.fd, data, n, data.length - n, offset + n);
    return true;
  }

  async write(offset: number, data: Buffer, fua: boolean): Promise<void> {
    if (this.writeInline(offset, data)) {
      if (fua) await this.fh.datasync();
      return;
    }
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
    if (fua) await this.fh.datasync();
  }

  // A Secondary's own I/O on its replica (direct-io.ts): past the page
  // cache where the file system and the alignment allow it, buffered
  // otherwise. Resync data it receives:
  async writeUncached(offset: number, data: Buffer): Promise<void> {
    const direct = await this.directFor(offset, data.length);
    if (direct !== null) {
      try {
        if (await direct.write(offset, data)) return;
      } catch (e) {
        this.refuse(e); // the buffered write below covers the whole range
      }
    }
    await this.write(offset, data, false);
  }

  // ... and what it reads to hash for a verify or a checksum resync.
  async readUncached(offset: number, length: number): Promise<Buffer> {
    const direct = await this.directFor(offset, length);
    if (direct !== null) {
      try {
        const data = await direct.read(offset, length);
        if (data !== null) return data;
      } catch (e) {
        this.refuse(e);
      }
    }
    return this.read(offset, length);
  }

  private async directFor(offset: number, length: number): Promise<DirectIo | null> {
    this.direct ??= DirectIo.reopen(this.fh.fd);
    const direct = await this.direct;
    return direct !== null && !this.directRefused && DirectIo.aligned(offset, length) ? direct : null;
  }

  // An EINVAL means the file or the memory does not suit O_DIRECT after all: buffered from then on.
  private refuse(e: unknown): void {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    this.directRefused = true;
  }

  // Flushes started so far, and the newest one done: every write that completed before flush N started is on
  // stable storage once durableThrough >= N (volume-record.ts keeps extents listed in the log until then).
  // After a failed flush nothing counts as durable again: Linux marks the pages that failed clean, and a later
  // fdatasync succeeds without them.
  private flushesStarted = 0;
  private flushedThrough = 0;
  private failedFlush: string | null = null;

  get flushesBegun(): number {
    return this.flushesStarted;
  }

  get durableThrough(): number {
    return this.flushedThrough;
  }

  // Why an earlier flush failed, or null.
  get flushFailure(): string | null {
    return this.failedFlush;
  }

  async flush(): Promise<void> {
    const n = ++this.flushesStarted;
    try {
      await this.fh.datasync();
    } catch (e) {
      this.failedFlush ??= (e as Error).message;
      throw e;
    }
    if (n > this.flushedThrough && this.failedFlush === null) this.flushedThrough = n;
  }

  // Node has no fallocate(PUNCH_HOLE); TRIM is a hint the spec lets us ignore.
  async trim(_offset: number, _length: number, fua: boolean): Promise<void> {
    if (fua) await this.fh.datasync();
  }

  async writeZeroes(offset: number, length: number, fua: boolean): Promise<void> {
    this.zeroes ??= Buffer.alloc(ZERO_CHUNK);
    for (let done = 0; done < length; ) {
      const n = Math.min(ZERO_CHUNK, length - done);
      await this.write(offset + done, this.zeroes.subarray(0, n), false);
      done += n;
    }
    if (fua) await this.fh.datasync();
  }

  async close(): Promise<void> {
    await (await this.direct)?.close();
    await this.fh.close();
  }
}
