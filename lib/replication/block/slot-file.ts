// A crash-safe file of two checksummed slots (layout and the slot choice:
// metadata-slot.ts), holding one opaque payload. Saves are serialized and
// coalesced: a save that arrives while one is being written waits, and if
// several wait, only the newest is written and all of them resolve with it,
// so the last save wins and a burst costs at most two fdatasyncs.
// After any I/O error the file refuses further saves: a failed fsync may
// have dropped pages the kernel now calls clean, so only a fresh open knows
// what is on disk (the PostgreSQL "fsyncgate" lesson).
// The metadata record (metadata-store.ts) and the activity log
// (activity-log-store.ts) each live in one.
import { type FileHandle, link, open, rename, unlink } from 'node:fs/promises';
import { TandemError } from '../../errors.js';
import { syncDir } from './fs-sync.js';
import {
  MAX_SLOT_CAPACITY, SLOT_HEADER_LEN, type SlotBytes, type SlotVerdict, encodeSlotParts, readSlots, slotBytesLength, slotCapacityFor,
} from './metadata-slot.js';

export type MetadataFailure = 'not-found' | 'exists' | 'io' | 'no-valid-copy' | 'invalid-record';
export type StoreFailure = { ok: false; reason: MetadataFailure; error: TandemError };
export type SlotFileOpen =
  // `other` says what the older slot held: 'empty' after create, a rejection when a save was torn.
  | { ok: true; file: SlotFile; payload: Buffer; sequence: number; newest: 0 | 1; other: SlotVerdict }
  | StoreFailure;
export type SlotFileCreate = { ok: true; file: SlotFile } | StoreFailure;

const CODES: Record<MetadataFailure, string> = {
  'not-found': 'METADATA_NOT_FOUND',
  exists: 'METADATA_EXISTS',
  io: 'METADATA_IO',
  'no-valid-copy': 'METADATA_CORRUPT',
  'invalid-record': 'METADATA_INVALID',
};

export function storeFailure(reason: MetadataFailure, message: string, cause?: unknown): StoreFailure {
  return { ok: false, reason, error: new TandemError(CODES[reason], message, { cause }) };
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

async function writeAll(fd: FileHandle, parts: readonly Buffer[], position: number): Promise<void> {
  let at = position;
  for (const bytes of parts) {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await fd.write(bytes, done, bytes.length - done, at + done);
      done += bytesWritten;
    }
    at += bytes.length;
  }
}

let tmpCounter = 0;

// A whole new file: the payload in slot A, slot B zeroed (written, not
// sparse, so later saves overwrite allocated blocks). fsynced before it is linked in.
async function writeFresh(path: string, payload: SlotBytes, sequence: number): Promise<{ tmp: string; capacity: number }> {
  const length = slotBytesLength(payload);
  const capacity = slotCapacityFor(length);
  if (capacity > MAX_SLOT_CAPACITY) throw new RangeError(`a payload of ${length} bytes exceeds the slot limit`);
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  const fd = await open(tmp, 'wx', 0o600);
  try {
    const slot = encodeSlotParts(sequence, capacity, payload);
    await writeAll(fd, [...slot, Buffer.alloc(2 * capacity - slotBytesLength(slot))], 0);
    await fd.sync();
  } catch (e) {
    await fd.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fd.close();
  return { tmp, capacity };
}

// The bytes, or a function that makes them when the write starts: state
// that only grows newer, saved at a high rate, is then encoded once per
// write; its `written` runs once they are on disk, before any waiter resumes.
export type Payload = SlotBytes | (() => { bytes: SlotBytes; written?: () => void });

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class SlotFile {
  readonly path: string;
  private fd: FileHandle;
  private capacity: number;
  private newest: 0 | 1;
  private seq: number;
  private pending: { payload: Payload; waiters: Waiter[] } | null = null;
  private writing: Promise<void> | null = null;
  private failed: TandemError | null = null;
  private closed = false;

  private constructor(path: string, fd: FileHandle, capacity: number, newest: 0 | 1, seq: number) {
    this.path = path;
    this.fd = fd;
    this.capacity = capacity;
    this.newest = newest;
    this.seq = seq;
  }

  get sequence(): number {
    return this.seq;
  }

  // A new file; refuses to replace an existing one (link(2) fails with EEXIST).
  static async create(path: string, payload: SlotBytes): Promise<SlotFileCreate> {
    let tmp: string | undefined;
    try {
      const fresh = await writeFresh(path, payload, 1);
      tmp = fresh.tmp;
      await link(tmp, path);
      await unlink(tmp);
      tmp = undefined;
      await syncDir(path);
      return { ok: true, file: new SlotFile(path, await open(path, 'r+'), fresh.capacity, 0, 1) };
    } catch (e) {
      if (tmp !== undefined) await unlink(tmp).catch(() => undefined);
      if (errno(e) === 'EEXIST') return storeFailure('exists', `${path} already exists; open it instead`, e);
      return storeFailure('io', `cannot create ${path}: ${(e as Error).message}`, e);
    }
  }

  // The newest whole payload; the caller decodes it (and closes the file if it refuses it).
  static async open(path: string): Promise<SlotFileOpen> {
    let fd: FileHandle;
    try {
      fd = await open(path, 'r+');
    } catch (e) {
      if (errno(e) === 'ENOENT') return storeFailure('not-found', `${path} does not exist`, e);
      return storeFailure('io', `cannot open ${path}: ${(e as Error).message}`, e);
    }
    let keep = false;
    try {
      const { size } = await fd.stat();
      if (size > 2 * MAX_SLOT_CAPACITY) return storeFailure('no-valid-copy', `${path} is ${size} bytes, larger than any metadata file`);
      const bytes = Buffer.alloc(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await fd.read(bytes, got, size - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const v = readSlots(bytes.subarray(0, got));
      if (v.newest === null || v.capacity === null) {
        const why = v.slots.map((s, i) => `slot ${'AB'[i]}: ${s.ok ? 'ok' : `${s.reason} (${s.detail})`}`).join('; ');
        return storeFailure('no-valid-copy', `${path} holds no complete record: ${why}`);
      }
      const slot = v.slots[v.newest];
      if (!slot.ok) return storeFailure('no-valid-copy', 'unreachable');
      keep = true;
      const file = new SlotFile(path, fd, v.capacity, v.newest, slot.sequence);
      return { ok: true, file, payload: slot.payload, sequence: slot.sequence, newest: v.newest, other: v.slots[v.newest === 0 ? 1 : 0] };
    } catch (e) {
      return storeFailure('io', `cannot read ${path}: ${(e as Error).message}`, e);
    } finally {
      if (!keep) await fd.close().catch(() => undefined);
    }
  }

  // Resolves once this payload (or a newer one saved meanwhile) is on stable storage.
  save(payload: Payload): Promise<void> {
    if (this.closed) return Promise.reject(new TandemError('METADATA_CLOSED', `${this.path} is closed`));
    if (this.failed !== null) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      if (this.pending === null) this.pending = { payload, waiters: [] };
      this.pending.payload = payload;
      this.pending.waiters.push({ resolve, reject });
      if (this.writing === null) this.writing = this.drain();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    await this.fd.close();
  }

  private async drain(): Promise<void> {
    await null; // always yield first, so `writing` is set before this can finish
    while (this.pending !== null) {
      const job = this.pending;
      this.pending = null;
      try {
        if (this.failed !== null) throw this.failed;
        const made = typeof job.payload === 'function' ? job.payload() : { bytes: job.payload };
        await this.write(made.bytes);
        made.written?.();
        for (const w of job.waiters) w.resolve();
      } catch (e) {
        this.failed ??= e instanceof TandemError ? e : new TandemError('METADATA_IO', `saving ${this.path} failed: ${(e as Error).message}`, { cause: e });
        for (const w of job.waiters) w.reject(this.failed);
      }
    }
    this.writing = null;
  }

  private async write(payload: SlotBytes): Promise<void> {
    const seq = this.seq + 1;
    if (SLOT_HEADER_LEN + slotBytesLength(payload) > this.capacity) return this.relayout(payload, seq);
    const target = this.newest === 0 ? 1 : 0;
    await writeAll(this.fd, encodeSlotParts(seq, this.capacity, payload), target * this.capacity);
    await this.fd.datasync();
    this.newest = target;
    this.seq = seq;
  }

  // The payload outgrew its slot (a peer added, longer history, a bigger
  // log): a new file with bigger slots replaces the old one by rename(2),
  // atomic either way.
  private async relayout(payload: SlotBytes, seq: number): Promise<void> {
    const { tmp, capacity } = await writeFresh(this.path, payload, seq);
    try {
      await rename(tmp, this.path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await syncDir(this.path);
    const fd = await open(this.path, 'r+');
    const old = this.fd;
    this.fd = fd;
    this.capacity = capacity;
    this.newest = 0;
    this.seq = seq;
    await old.close();
  }
}
