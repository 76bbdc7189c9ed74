// Reads and writes that bypass the page cache (O_DIRECT), for a replica's
// own I/O on a Secondary: resync data it receives, and what it reads to
// hash for a verify or a checksum resync. A replica's pages serve no reader
// until it is promoted, as with DRBD, whose Secondary works below the page
// cache; cached, they only take memory, and on ext4 large writes and
// readahead leave large folios that make every later 4 KiB write into them
// several times dearer.
//
// O_DIRECT wants the memory, the offset and the length aligned. Node cannot
// ask for aligned memory, but V8 maps a WebAssembly memory on page
// boundaries: the bounce buffers are slices of one fixed-size wasm memory.
// Should a kernel or engine disagree, the first call fails with EINVAL
// (before anything is transferred) and the caller falls back to buffered I/O.
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

export const DIRECT_ALIGN = 4096; // a multiple of every logical block size and memory alignment Linux asks for
export const DIRECT_CHUNK = 1 << 20; // bounce buffer size: data is copied through it in pieces of this size
const SLOTS = 8; // concurrent direct calls; one that finds every slot taken is done buffered
const WASM_PAGE = 65536;

// Node's global, which this project's type libraries (ES2022, no DOM) do not declare.
declare const WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } };

export class DirectIo {
  private readonly free: Buffer[] = [];

  private constructor(private readonly fh: FileHandle) {
    // maximum = initial: a memory that cannot grow never detaches the slices.
    const pages = (SLOTS * DIRECT_CHUNK) / WASM_PAGE;
    const arena = new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
    for (let i = 0; i < SLOTS; i++) this.free.push(Buffer.from(arena, i * DIRECT_CHUNK, DIRECT_CHUNK));
  }

  // The same file opened again with O_DIRECT (through /proc/self/fd, so a
  // handle is enough); null where the file system refuses O_DIRECT.
  static async reopen(fd: number): Promise<DirectIo | null> {
    let fh: FileHandle;
    try {
      fh = await open(`/proc/self/fd/${fd}`, constants.O_RDWR | constants.O_DIRECT);
    } catch {
      return null;
    }
    try {
      return new DirectIo(fh);
    } catch {
      await fh.close(); // no room for the wasm memory (an address-space limit): buffered writes do without it
      return null;
    }
  }

  static aligned(offset: number, length: number): boolean {
    return offset % DIRECT_ALIGN === 0 && length % DIRECT_ALIGN === 0 && length > 0;
  }

  // Writes `data` at `offset` through a bounce buffer (one copy, as a
  // buffered write makes into the page cache). False, having written
  // nothing, when every bounce buffer is in use. The caller checks aligned().
  async write(offset: number, data: Buffer): Promise<boolean> {
    const bounce = this.free.pop();
    if (bounce === undefined) return false;
    try {
      for (let at = 0; at < data.length; at += DIRECT_CHUNK) {
        const n = Math.min(DIRECT_CHUNK, data.length - at);
        data.copy(bounce, 0, at, at + n);
        for (let done = 0; done < n; ) {
          const { bytesWritten } = await this.fh.write(bounce, done, n - done, offset + at + done);
          done += bytesWritten;
        }
      }
    } finally {
      this.free.push(bounce);
    }
    return true;
  }

  // Reads `length` bytes at `offset` through a bounce buffer into a new
  // buffer (zeroes past the end of the file). Null, having read nothing,
  // when every bounce buffer is in use. The caller checks aligned().
  async read(offset: number, length: number): Promise<Buffer | null> {
    const bounce = this.free.pop();
    if (bounce === undefined) return null;
    const out = Buffer.alloc(length);
    try {
      for (let at = 0; at < length; at += DIRECT_CHUNK) {
        const n = Math.min(DIRECT_CHUNK, length - at);
        const { bytesRead } = await this.fh.read(bounce, 0, n, offset + at);
        bounce.copy(out, at, 0, bytesRead);
        if (bytesRead < n) break; // the end of the file: the rest stays zero, as FileBackend.read has it
      }
    } finally {
      this.free.push(bounce);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
