// The Primary's application write path (DRBD's request path): every write
// passes the gate (closed while a connect handshake takes its snapshot), pins
// its activity-log extents (written ahead when new), takes its range lock,
// goes to the local disk, then to every connected peer in the ordered stream
// or into the bitmap of every absent one, and is answered as the protocol says
// (A: local; B: peers received; C: peers wrote). Its extents are released
// once every peer settled it.
import type { BlockVolumeConfig } from '../../config/types.js';
import type { ActivityLog } from '../block/activity-log.js';
import { INLINE_WRITE_MAX, type FileBackend } from '../block/nbd/file-backend.js';
import type { RangeLock } from './range-lock.js';
import { WriteCompletion } from './write-completion.js';

// What the write path needs of one peer session.
export interface WritePeer {
  readonly name: string;
  readonly receivesWrites: boolean;
  hasRoom(): boolean;
  room(): Promise<void> | null;
  replicate(offset: number, data: Buffer | null, length: number, fua: boolean, waiter: WriteCompletion): void;
  barrier(): Promise<boolean>;
}

export interface WritePathHost {
  readonly cfg: BlockVolumeConfig;
  readonly disk: FileBackend;
  readonly lock: RangeLock;
  readonly role: 'Primary' | 'Secondary';
  readonly activityLog: ActivityLog;
  peerSessions(): Iterable<WritePeer>;
  markOutOfSync(peer: string, offset: number, length: number): Promise<void>;
  // An extent of the activity log is not on disk yet (its epoch `need`): resolves once it is.
  logActivity(need: number): Promise<void>;
  // Why this Primary takes no writes now (a peer's data is to replace its own), or null.
  writesRefused(): Error | null;
}

type Queue = 'gate' | 'loop' | 'al' | 'idle';

const errno = (code: string, message: string): Error => Object.assign(new Error(message), { code });

export class WritePath {
  private frozen = 0;
  private inLoop = 0; // writes between the gate and the end of their send loop
  private unfinished = 0; // writes whose frames are not yet settled on every peer
  private readonly waiters: Record<Queue, Array<() => void>> = { gate: [], loop: [], al: [], idle: [] };

  constructor(private readonly host: WritePathHost) {}

  // Holds new writes at the gate until the returned release is called, once
  // every write past the gate has been sent: the snapshot a connect handshake takes.
  async freeze(): Promise<() => void> {
    this.frozen++;
    while (this.inLoop > 0) await this.wait('loop');
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.frozen === 0) this.wake('gate');
    };
  }

  // Resolves once every write so far is settled on every peer (demote waits for it).
  async drained(): Promise<void> {
    while (this.unfinished > 0) await this.wait('idle');
  }

  // The one write path: the steps without waiting when nothing must wait
  // (submitNow), else the same steps awaiting where they must.
  submit(offset: number, data: Buffer | null, length: number, fua: boolean): Promise<void> {
    if (length > this.host.activityLog.partSpan) return this.submitInParts(offset, data, length, fua);
    return new Promise((resolve, reject) => {
      const now = data !== null && this.submitNow(offset, data, fua, (err) => (err === null ? resolve() : reject(err)));
      if (!now) this.submitWaiting(offset, data, length, fua).then(resolve, reject);
    });
  }

  // A request larger than one part (activity-log.ts parts): one part after the other.
  private async submitInParts(offset: number, data: Buffer | null, length: number, fua: boolean): Promise<void> {
    for (const p of this.host.activityLog.parts(offset, length)) {
      await this.submitWaiting(p.offset, data === null ? null : data.subarray(p.offset - offset, p.offset - offset + p.length), p.length, fua);
    }
  }

  // The write that needs no waiting, which is nearly every small one: no
  // promise, `done` when the protocol allows the reply. False, having done
  // nothing, when anything must wait (the gate, a full or absent peer, a new
  // activity-log extent, a locked range) or the write is large or FUA: then
  // submitWaiting() takes it. The steps are submitWaiting()'s, in its order.
  submitNow(offset: number, data: Buffer, fua: boolean, done: (err: unknown) => void): boolean {
    const { host } = this;
    const length = data.length;
    if (host.role !== 'Primary' || this.frozen > 0 || fua || length > INLINE_WRITE_MAX || !host.activityLog.hot(offset, length) || host.writesRefused() !== null) return false;
    for (const s of host.peerSessions()) if (!s.receivesWrites || !s.hasRoom()) return false;
    const release = host.lock.tryAcquire(offset, length);
    if (release === null) return false;
    this.inLoop++;
    const t = host.activityLog.touch(offset, length); // hot: pins the extents
    if (t.ok && t.changed) this.logAhead(t.added);
    let completion: WriteCompletion | null = null;
    try {
      // Local first: a failed local write (ENOSPC) is never replicated.
      if (!host.disk.writeInline(offset, data)) throw new Error(`a ${length}-byte write did not fit writeInline`);
      completion = this.completion(offset, length);
      for (const s of host.peerSessions()) s.replicate(offset, data, length, false, completion);
    } catch (err) {
      if (completion === null) this.alEnd(offset, length);
      else completion.closeWith(() => {}); // sent to some peers: their acks release the extents
      done(err);
      return true;
    } finally {
      release();
      if (--this.inLoop === 0) this.wake('loop');
    }
    completion.closeWith(() => done(null));
    return true;
  }

  // Awaits only where it must wait (a frozen gate, a full peer, a new
  // activity-log extent, a locked range, a large write).
  private async submitWaiting(offset: number, data: Buffer | null, length: number, fua: boolean): Promise<void> {
    const { host } = this;
    if (host.role !== 'Primary') throw errno('EPERM', `${host.cfg.name} is Secondary`);
    while (this.frozen > 0) await this.wait('gate');
    // After the gate: the handshake that just held it may have found a peer whose data replaces ours.
    const refused = host.writesRefused();
    if (refused !== null) throw refused;
    // Counted from the gate on: a connect handshake's snapshot waits for every write past the gate.
    this.inLoop++;
    let completion: WriteCompletion | null = null;
    let answered: Promise<void> | null = null;
    let logged = false;
    try {
      for (const s of host.peerSessions()) {
        const wait = s.room();
        if (wait !== null) await wait;
      }
      const al = this.alBegin(offset, length);
      if (al !== null) await al;
      logged = true;
      const release = host.lock.tryAcquire(offset, length) ?? (await host.lock.acquire(offset, length));
      try {
        // Local first: a failed local write (ENOSPC) is never replicated.
        if (data === null) await host.disk.writeZeroes(offset, length, fua);
        else if (fua || !host.disk.writeInline(offset, data)) await host.disk.write(offset, data, fua);
        completion = this.completion(offset, length);
        // Absent peers first: a Secondary hears what they miss (PEER_OUT_OF_SYNC) before it has the write.
        let marked: Set<WritePeer> | null = null;
        for (const s of host.peerSessions()) {
          if (s.receivesWrites) continue;
          await host.markOutOfSync(s.name, offset, length);
          (marked ??= new Set()).add(s);
        }
        // Each peer once: one that came back during a save above has the write in its bitmap already.
        for (const s of host.peerSessions()) {
          if (marked?.has(s) === true) continue;
          if (s.receivesWrites) s.replicate(offset, data, length, fua, completion);
          else await host.markOutOfSync(s.name, offset, length);
        }
      } finally {
        release();
      }
    } finally {
      if (--this.inLoop === 0) this.wake('loop');
      if (completion !== null) answered = completion.close();
      else if (logged) this.alEnd(offset, length);
    }
    if (answered !== null) await answered;
  }

  // FLUSH: local stable storage, and under protocol C the peers' too (BARRIER / BARRIER_ACK).
  async flush(): Promise<void> {
    await this.host.disk.flush();
    if (this.host.cfg.protocol === 'C') await Promise.all([...this.host.peerSessions()].map((s) => s.barrier()));
  }

  // The write is on the local disk: from here it is unfinished until every peer settled it.
  private completion(offset: number, length: number): WriteCompletion {
    this.unfinished++;
    return new WriteCompletion(this.host.cfg.protocol, () => {
      this.alEnd(offset, length);
      if (--this.unfinished === 0) this.wake('idle');
    });
  }

  // Activity log write-ahead (activity-log.ts): the extent is on disk as hot
  // before data goes to it. Null when the extents were hot already.
  private alBegin(offset: number, length: number): Promise<void> | null {
    const r = this.host.activityLog.touch(offset, length);
    if (r.ok) {
      // New extents, or ones a save still being written holds: data waits for the disk to have them.
      const need = this.host.activityLog.freshest(offset, length);
      // A failed save leaves nothing pinned: the write fails before its data goes anywhere.
      if (need >= 0) return this.host.logActivity(need).catch((e: unknown) => { this.alEnd(offset, length); throw e; });
      if (r.changed) this.logAhead(r.added);
      return null;
    }
    if (r.reason === 'too-many-extents') throw errno('EINVAL', `a ${length}-byte request spans more than al_extents (${this.host.cfg.alExtents}) extents`);
    return this.alWait(offset, length);
  }

  // Extents logged ahead of a stream: saved now, waited for by no write
  // (one that reaches them before the save is done waits then, by freshest()).
  private logAhead(extents: number[]): void {
    // A failed save fails the store: the next write that needs a save gets the error.
    this.host.logActivity(this.host.activityLog.freshestOf(extents)).catch(() => {});
  }

  // Every extent is pinned by a write in flight: wait for one to finish, then try again.
  private async alWait(offset: number, length: number): Promise<void> {
    await this.wait('al');
    const again = this.alBegin(offset, length);
    if (again !== null) await again;
  }

  private alEnd(offset: number, length: number): void {
    this.host.activityLog.release(offset, length);
    this.wake('al');
  }

  // Extents pinned elsewhere were released (a stream applied as Secondary, finishing after a promotion).
  extentsReleased(): void {
    this.wake('al');
  }

  private wait(which: Queue): Promise<void> {
    return new Promise<void>((r) => this.waiters[which].push(r));
  }

  private wake(which: Queue): void {
    const w = this.waiters[which].splice(0);
    for (const f of w) f();
  }
}
