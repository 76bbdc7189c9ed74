// The backing store of a block volume: an image file, created sparse at the
// configured size when missing, or an existing file or block device whose size
// must equal the configured one (issue 3 "Volume"; config `device`, `size`).
// A volume never shrinks: that would cut off data the peers still hold.
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { TandemError } from '../../errors.js';
import { syncDir } from './fs-sync.js';

export type ImageKind = 'file' | 'block-device';
export type ImageFailure = 'bad-size' | 'not-found' | 'size-mismatch' | 'would-shrink' | 'not-a-volume' | 'io';

export interface Image {
  path: string;
  fd: FileHandle; // opened read-write; the caller closes it
  size: number;
  kind: ImageKind;
  created: boolean;
}

export interface OpenImageOptions {
  create?: boolean; // make a missing image file (default true)
  grow?: boolean; // extend an image file smaller than `size` (default false: a mismatch is an error)
}

export type OpenImageResult = { ok: true; image: Image } | { ok: false; reason: ImageFailure; error: TandemError };

const SECTOR = 512;
const CODES: Record<ImageFailure, string> = {
  'bad-size': 'IMAGE_BAD_SIZE',
  'not-found': 'IMAGE_NOT_FOUND',
  'size-mismatch': 'IMAGE_SIZE_MISMATCH',
  'would-shrink': 'IMAGE_WOULD_SHRINK',
  'not-a-volume': 'IMAGE_NOT_A_VOLUME',
  io: 'IMAGE_IO',
};

function fail(reason: ImageFailure, message: string, cause?: unknown): OpenImageResult {
  return { ok: false, reason, error: new TandemError(CODES[reason], message, { cause }) };
}

// Linux dev_t (glibc's gnu_dev_major / gnu_dev_minor split).
export function splitDev(dev: bigint): { major: number; minor: number } {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n));
  return { major, minor };
}

// A block device's size from sysfs (in 512-byte sectors whatever the device's
// own sector size); stat(2) reports 0 for block devices.
export async function blockDeviceSize(rdev: bigint): Promise<number> {
  const { major, minor } = splitDev(rdev);
  const text = await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8');
  return Number(text.trim()) * SECTOR;
}


export const NOT_A_VOLUME = (path: string): string => `${path} is neither a regular file nor a block device`;

// Whether an existing image of `actual` bytes can back a volume of `size` (null: it can). Shared with `daemon -t`.
export function sizeProblem(path: string, kind: ImageKind, actual: number, size: number): { reason: 'size-mismatch' | 'would-shrink'; message: string } | null {
  if (actual === size) return null;
  if (kind === 'block-device') return { reason: 'size-mismatch', message: `${path} is a ${actual}-byte block device, the volume is configured at ${size} bytes` };
  if (actual > size) return { reason: 'would-shrink', message: `${path} holds ${actual} bytes, more than the configured ${size}; a volume never shrinks` };
  return { reason: 'size-mismatch', message: `${path} holds ${actual} bytes, the volume is configured at ${size} bytes` };
}

async function check(path: string, fd: FileHandle, size: number, grow: boolean): Promise<OpenImageResult> {
  const st = await fd.stat({ bigint: true });
  if (st.isBlockDevice()) {
    const p = sizeProblem(path, 'block-device', await blockDeviceSize(st.rdev), size);
    if (p !== null) return fail(p.reason, p.message);
    return { ok: true, image: { path, fd, size, kind: 'block-device', created: false } };
  }
  if (!st.isFile()) return fail('not-a-volume', NOT_A_VOLUME(path));
  const p = sizeProblem(path, 'file', Number(st.size), size);
  if (p !== null && !(grow && p.reason === 'size-mismatch')) return fail(p.reason, p.message);
  if (p !== null) {
    await fd.truncate(size);
    await fd.sync();
  }
  return { ok: true, image: { path, fd, size, kind: 'file', created: false } };
}

export async function openImage(path: string, size: number, options: OpenImageOptions = {}): Promise<OpenImageResult> {
  if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR !== 0) {
    return fail('bad-size', `volume size ${size} is not a positive multiple of ${SECTOR} bytes`);
  }
  let fd: FileHandle | undefined;
  try {
    try {
      fd = await open(path, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (options.create === false) return fail('not-found', `${path} does not exist`, e);
      // 'wx+': if another process made it meanwhile, EEXIST lands in the catch below.
      fd = await open(path, 'wx+', 0o600);
      await fd.truncate(size); // sparse: no data blocks until written
      await fd.sync();
      await syncDir(path);
      const created: OpenImageResult = { ok: true, image: { path, fd, size, kind: 'file', created: true } };
      fd = undefined;
      return created;
    }
    const r = await check(path, fd, size, options.grow === true);
    if (r.ok) fd = undefined;
    return r;
  } catch (e) {
    return fail('io', `cannot open ${path}: ${(e as Error).message}`, e);
  } finally {
    await fd?.close().catch(() => undefined);
  }
}
