// Crash-safe persistence of a volume's metadata record in `<device>.meta`
// (layout and the A/B slot choice: metadata-slot.ts). Saves are serialized
// and coalesced: a save that arrives while one is being written waits, and if
// several wait, only the newest is written and all of them resolve with it,
// so the last save wins and a burst costs at most two fdatasyncs.
// After any I/O error the store refuses further saves: a failed fsync may
// have dropped pages the kernel now calls clean, so only a fresh open knows
// what is on disk (the PostgreSQL "fsyncgate" lesson).
import { type FileHandle, link, open, rename, unlink } from 'node:fs/promises';
import { TandemError } from '../../errors.js';
import { syncDir } from './fs-sync.js';
import { type GenerationsCheck, type MetadataRecord, decodeRecord, encodeRecord } from './metadata.js';
import { MAX_SLOT_CAPACITY, SLOT_HEADER_LEN, type SlotVerdict, encodeSlot, readSlots, slotCapacityFor } from './metadata-slot.js';

export type MetadataFailure = 'not-found' | 'exists' | 'io' | 'no-valid-copy' | 'invalid-record';
export type StoreFailure = { ok: false; reason: MetadataFailure; error: TandemError };
export type OpenResult =
  // `other` says what the older slot held: 'empty' after create, a rejection when a save was torn.
  | { ok: true; store: MetadataStore; record: MetadataRecord; sequence: number; other: SlotVerdict }
  | StoreFailure;
export type CreateResult = { ok: true; store: MetadataStore } | StoreFailure;

export interface MetadataStoreOptions {
  checkGenerations?: GenerationsCheck;
}

const CODES: Record<MetadataFailure, string> = {
  'not-found': 'METADATA_NOT_FOUND',
  exists: 'METADATA_EXISTS',
  io: 'METADATA_IO',
  'no-valid-copy': 'METADATA_CORRUPT',
  'invalid-record': 'METADATA_INVALID',
};

function fail(reason: MetadataFailure, message: string, cause?: unknown): StoreFailure {
  return { ok: false, reason, error: new TandemError(CODES[reason], message, { cause }) };
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

async function writeAll(fd: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fd.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}


let tmpCounter = 0;

// A whole new file: the record in slot A, slot B zeroed (written, not sparse,
// so later saves overwrite allocated blocks). fsynced before it is linked in.
async function writeFresh(path: string, payload: Buffer, sequence: number): Promise<{ tmp: string; capacity: number }> {
  const capacity = slotCapacityFor(payload.length);
  if (capacity > MAX_SLOT_CAPACITY) throw new RangeError(`metadata record of ${payload.length} bytes exceeds the slot limit`);
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  const fd = await open(tmp, 'wx');
  try {
    const file = Buffer.alloc(2 * capacity);
    encodeSlot(sequence, capacity, payload).copy(file, 0);
    await writeAll(fd, file, 0);
    await fd.sync();
  } catch (e) {
    await fd.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fd.close();
  return { tmp, capacity };
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class MetadataStore {
  readonly path: string;
  private fd: FileHandle;
  private capacity: number;
  private newest: 0 | 1;
  private seq: number;
  private pending: { payload: Buffer; waiters: Waiter[] } | null = null;
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
  static async create(path: string, initial: MetadataRecord): Promise<CreateResult> {
    const payload = encodeRecord(initial);
    let tmp: string | undefined;
    try {
      const fresh = await writeFresh(path, payload, 1);
      tmp = fresh.tmp;
      await link(tmp, path);
      await unlink(tmp);
      tmp = undefined;
      await syncDir(path);
      return { ok: true, store: new MetadataStore(path, await open(path, 'r+'), fresh.capacity, 0, 1) };
    } catch (e) {
      if (tmp !== undefined) await unlink(tmp).catch(() => undefined);
      if (errno(e) === 'EEXIST') return fail('exists', `${path} already exists; open it instead`, e);
      return fail('io', `cannot create ${path}: ${(e as Error).message}`, e);
    }
  }

  static async open(path: string, options: MetadataStoreOptions = {}): Promise<OpenResult> {
    let fd: FileHandle;
    try {
      fd = await open(path, 'r+');
    } catch (e) {
      if (errno(e) === 'ENOENT') return fail('not-found', `${path} does not exist`, e);
      return fail('io', `cannot open ${path}: ${(e as Error).message}`, e);
    }
    let keep = false;
    try {
      const { size } = await fd.stat();
      if (size > 2 * MAX_SLOT_CAPACITY) return fail('no-valid-copy', `${path} is ${size} bytes, larger than any metadata file`);
      const file = Buffer.alloc(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await fd.read(file, got, size - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const v = readSlots(file.subarray(0, got));
      if (v.newest === null || v.capacity === null) {
        const why = v.slots.map((s, i) => `slot ${'AB'[i]}: ${s.ok ? 'ok' : `${s.reason} (${s.detail})`}`).join('; ');
        return fail('no-valid-copy', `${path} holds no complete metadata record: ${why}`);
      }
      const slot = v.slots[v.newest];
      if (!slot.ok) return fail('no-valid-copy', 'unreachable');
      const r = decodeRecord(slot.payload, options.checkGenerations);
      if (!r.ok) return fail('invalid-record', `${path} slot ${'AB'[v.newest]} (sequence ${slot.sequence}): ${r.reason}: ${r.detail}`);
      keep = true;
      const store = new MetadataStore(path, fd, v.capacity, v.newest, slot.sequence);
      return { ok: true, store, record: r.record, sequence: slot.sequence, other: v.slots[v.newest === 0 ? 1 : 0] };
    } catch (e) {
      return fail('io', `cannot read ${path}: ${(e as Error).message}`, e);
    } finally {
      if (!keep) await fd.close().catch(() => undefined);
    }
  }

  // Resolves once this record (or a newer one saved meanwhile) is on stable
  // storage. The record is encoded now, so later changes to it do not leak in.
  // Throws RangeError for a record that breaks its own rules (a programmer error).
  save(record: MetadataRecord): Promise<void> {
    if (this.closed) return Promise.reject(new TandemError('METADATA_CLOSED', `${this.path} is closed`));
    if (this.failed !== null) return Promise.reject(this.failed);
    const payload = encodeRecord(record);
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
        await this.write(job.payload);
        for (const w of job.waiters) w.resolve();
      } catch (e) {
        this.failed ??= e instanceof TandemError ? e : new TandemError('METADATA_IO', `saving ${this.path} failed: ${(e as Error).message}`, { cause: e });
        for (const w of job.waiters) w.reject(this.failed);
      }
    }
    this.writing = null;
  }

  private async write(payload: Buffer): Promise<void> {
    const seq = this.seq + 1;
    if (SLOT_HEADER_LEN + payload.length > this.capacity) return this.relayout(payload, seq);
    const target = this.newest === 0 ? 1 : 0;
    await writeAll(this.fd, encodeSlot(seq, this.capacity, payload), target * this.capacity);
    await this.fd.datasync();
    this.newest = target;
    this.seq = seq;
  }

  // The record outgrew its slot (a peer added, longer history): a new file
  // with bigger slots replaces the old one by rename(2), atomic either way.
  private async relayout(payload: Buffer, seq: number): Promise<void> {
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
