// Crash-safe persistence of a volume's metadata record in `<device>.meta`:
// the record (metadata.ts) in a two-slot file (slot-file.ts: checksummed A/B
// slots, saves serialized and coalesced, refused after an I/O error).
import { type GenerationsCheck, type MetadataRecord, decodeRecord, encodeRecordParts } from './metadata.js';
import type { SlotVerdict } from './metadata-slot.js';
import { SlotFile, type StoreFailure, storeFailure } from './slot-file.js';

export type { MetadataFailure, StoreFailure } from './slot-file.js';
export type OpenResult =
  // `other` says what the older slot held: 'empty' after create, a rejection when a save was torn.
  | { ok: true; store: MetadataStore; record: MetadataRecord; sequence: number; other: SlotVerdict }
  | StoreFailure;
export type CreateResult = { ok: true; store: MetadataStore } | StoreFailure;

export interface MetadataStoreOptions {
  checkGenerations?: GenerationsCheck;
}

export class MetadataStore {
  private constructor(private readonly file: SlotFile) {}

  get path(): string {
    return this.file.path;
  }

  get sequence(): number {
    return this.file.sequence;
  }

  // A new file; refuses to replace an existing one.
  static async create(path: string, initial: MetadataRecord): Promise<CreateResult> {
    const c = await SlotFile.create(path, encodeRecordParts(initial));
    return c.ok ? { ok: true, store: new MetadataStore(c.file) } : c;
  }

  static async open(path: string, options: MetadataStoreOptions = {}): Promise<OpenResult> {
    const o = await SlotFile.open(path);
    if (!o.ok) return o;
    const r = decodeRecord(o.payload, options.checkGenerations);
    if (!r.ok) {
      await o.file.close().catch(() => undefined);
      return storeFailure('invalid-record', `${path} slot ${'AB'[o.newest]} (sequence ${o.sequence}): ${r.reason}: ${r.detail}`);
    }
    return { ok: true, store: new MetadataStore(o.file), record: r.record, sequence: o.sequence, other: o.other };
  }

  // Resolves once this record (or a newer one saved meanwhile) is on stable
  // storage. The record is encoded now, so later changes to it do not leak in.
  // Throws RangeError for a record that breaks its own rules (a programmer error).
  save(record: MetadataRecord): Promise<void> {
    return this.file.save(encodeRecordParts(record));
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
