// The volume's record says `cleanShutdown` false on disk before anything
// relies on it: a Secondary's activity log (secondary-log.ts) and its marks
// for third peers (third-peer-marks.ts) are trusted after a restart only
// under a clean record, and are acted on (volume-open.ts) only under an
// unclean one. Only a clean stop or a demote writes true again.
import { TandemError } from '../../errors.js';

export interface UncleanRecordHost {
  readonly volume: string;
  readonly record: { cleanShutdown: boolean };
  save(): Promise<void>;
}

export class UncleanRecord {
  private saving: Promise<void> | null = null; // the save that puts cleanShutdown false on disk
  private settled = false; // that save is done

  constructor(private readonly h: UncleanRecordHost) {}

  // The record on disk says unclean: a write may rely on it without waiting.
  get onDisk(): boolean {
    return !this.h.record.cleanShutdown && (this.saving === null || this.settled);
  }

  // Concurrent callers share the save. A failure stays a failure (the store refuses every save after an
  // I/O error): never back to true here.
  ensure(): Promise<void> {
    const { h } = this;
    if (!h.record.cleanShutdown) return this.saving ?? Promise.resolve();
    h.record.cleanShutdown = false;
    this.settled = false;
    let saved: Promise<void>;
    try {
      saved = h.save();
    } catch (e) {
      saved = Promise.reject(e);
    }
    const saving: Promise<void> = saved.then(
      () => { if (this.saving === saving) this.settled = true; },
      (e: unknown) => { throw new TandemError('METADATA_IO', `${h.volume}: saving the metadata as not cleanly shut down failed (nothing relies on it yet): ${(e as Error).message}`, { cause: e }); },
    );
    this.saving = saving;
    return saving;
  }
}
