// What a directory volume's Secondary lacks of its Primary's changes: those
// it could not apply (ENOSPC, EACCES, ...), each until it lands; what the
// record says was lacking when the daemon last stopped or crashed, until a
// whole compare with a Primary is done (the paths themselves are not kept:
// the compare resends whatever differs). While anything is lacking the tree
// is not a copy to promote (dir-volume.ts refuses without --force).

export interface LackingRecord {
  count: number; // changes lacking when it was saved
  first: string; // the first of them, as status shows it: "path": CODE from PEER
}

export class LackingChanges {
  private readonly live = new Map<string, string>(); // path -> "CODE from PEER"
  private before: LackingRecord | null; // from the record: lacking at the last stop

  // `saveNow`: the record must say so at once when the tree starts or stops lacking (a crash right after
  // must not lose it); `saveSoon` for a count that only grew or shrank.
  constructor(restored: LackingRecord | null, private readonly saveNow: () => void, private readonly saveSoon: () => void) {
    this.before = restored !== null && restored.count > 0 ? restored : null;
  }

  get any(): boolean {
    return this.live.size > 0 || this.before !== null;
  }

  get count(): number {
    return this.live.size + (this.before?.count ?? 0);
  }

  // The first lacking change, "path": CODE from PEER, or null.
  get first(): string | null {
    const live = this.firstLive();
    if (live !== null) return live;
    return this.before === null ? null : `${this.before.first} (before this node restarted)`;
  }

  failed(path: string, why: string): void {
    const was = this.any;
    this.live.set(path, why);
    if (!was) this.saveNow();
    else this.saveSoon();
  }

  applied(path: string): void {
    if (!this.live.delete(path)) return;
    if (!this.any) this.saveNow();
    else this.saveSoon();
  }

  // Nothing is lacking any more: a whole compare with a Primary, or a resync
  // as its target, is done; or a forced promotion made this tree the data.
  clear(): void {
    if (!this.any) return;
    this.live.clear();
    this.before = null;
    this.saveNow();
  }

  // What the record keeps: null when nothing is lacking.
  record(): LackingRecord | null {
    if (!this.any) return null;
    return { count: this.count, first: this.firstLive() ?? (this.before as LackingRecord).first };
  }

  private firstLive(): string | null {
    const [entry] = this.live;
    return entry === undefined ? null : `${JSON.stringify(entry[0])}: ${entry[1]}`;
  }
}
