// The source side of a directory volume towards one peer. It keeps a view of
// the peer's tree (its manifest at connect, then every change sent; a failed
// one is forgotten, so it is sent again)
// and a set of dirty paths (watcher events, the reconcile's diff). A path is
// sent once it was quiet for `settleMs` (bursts on a hot file coalesce), as
// what the path holds *then*, so the final content is never lost: a file that
// changes while it is read is aborted and sent again. Creations go before
// deletions in each batch, parents before children (issue 4).
import { createHash } from 'node:crypto';
import { constants as C } from 'node:fs';
import { lstat, open, readlink, type FileHandle } from 'node:fs/promises';
import type { Frame } from '../link/frame.js';
import { FLAG_ABORT, FLAG_LAST } from '../link/frame-types.js';
import type { PeerLink } from '../link/peer-link.js';
import { blockSignatures, blockSpan, changedBlocks, DEFAULT_BLOCK_SIZE, type Signatures } from './delta.js';
import { DirtySet, type Dirty } from './dirty-set.js';
import type { ExcludeMatcher } from './exclude.js';
import { buildManifest, diffManifests, sameMtime, type Manifest, type ManifestEntry } from './manifest.js';
import { PeerView } from './peer-view.js';
import { checkWirePath, resolveInside } from './paths.js';
import { TandemError } from '../../errors.js';
import {
  decodeAck, decodeManifestBatch, decodeSigs, encodeDataHeader, encodeEnd, encodeFile, encodeOp, MAX_DATA_CHUNK, type DirOp,
} from './wire.js';

export const DELTA_MIN_BYTES = 1 << 20; // smaller files are sent whole: one round trip costs more than the bytes
const WINDOW_ITEMS = 256; // changes sent and not yet acknowledged
const WINDOW_BYTES = 32 << 20;
const MAX_MANIFEST_ENTRIES = 10_000_000;

export interface SenderEvents {
  // Acknowledged by the peer: applied and on its stable storage.
  replicated(path: string, bytes: number, originMs: number): void;
  failed(path: string, code: string, message: string): void;
  // The reconcile's changes are all acknowledged and DIR_SYNCED is sent.
  reconciled(changes: number): Promise<void>;
}

export interface SenderOptions {
  link: PeerLink;
  root: string;
  exclude: ExcludeMatcher;
  settleMs: number;
  protocol: 'A' | 'C';
  peer: string; // for messages
  log: (level: 'info' | 'warn', m: string) => void;
  events: SenderEvents;
}

interface Outstanding { path: string; bytes: number; origin: number; entry: ManifestEntry | null; seq: number; reconcile: boolean }

const depth = (p: string): number => p.split('/').length;
const errnoOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? 'EIO';

export class DirSender {
  private readonly dirty: DirtySet;
  private view: PeerView | null = null;
  private readonly outstanding = new Map<number, Outstanding>();
  private outstandingBytes = 0;
  private nextId = 1;
  private stopped = false;
  private manifest: Array<[string, ManifestEntry]> | null = null;
  private reconciling: { changes: number; left: Set<string>; inFlight: number } | null = null;
  private sending: number | null = null; // seq of the change being sent now
  // Paths whose last attempt failed (refused by the peer, or unreadable here), with the seq of the oldest
  // change not on the peer: a flush that covers it fails instead of calling it replicated, unless another
  // attempt is on its way (the path changed again, or a sweep found it): then the flush waits for that one.
  // Gone once the path lands.
  private readonly failing = new Map<string, { seq: number; why: string; retrying: boolean }>();
  private readonly sigWaiters = new Map<number, (s: Signatures | null) => void>();
  private wake: (() => void) | null = null;
  private roomWaiter: (() => void) | null = null;
  private idleWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  acked = 0; // acknowledged as applied

  constructor(private readonly o: SenderOptions) {
    this.dirty = new DirtySet(o.settleMs);
  }

  // Asks the peer for its manifest; the diff against ours becomes dirty paths.
  start(): void {
    this.manifest = [];
    this.o.link.send({ type: 'DIR_SCAN' });
    void this.pump().catch((e: unknown) => {
      if (!this.stopped) this.o.link.fail(`sending changes failed here: ${(e as Error).message}`);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.sigWaiters.values()) w(null);
    this.sigWaiters.clear();
    this.kick();
    this.roomWaiter?.();
    this.progress();
    if (this.timer) clearTimeout(this.timer);
  }

  // A path changed on our side (watcher); `now` is when it was seen.
  touch(path: string, now = Date.now(), force = false): void {
    this.dirty.touch(path, now, force);
    const f = this.failing.get(path);
    if (f !== undefined) {
      f.retrying = true;
      this.dirty.holdBack(path, f.seq);
    }
    this.kick();
  }

  // Compares a fresh walk of our tree (no hashes) with the peer's view: what differs is dirty.
  sweep(local: Manifest, now = Date.now()): number {
    if (this.view === null) return 0;
    const missed = this.view.differences(local);
    for (const p of missed) this.touch(p, now - this.o.settleMs);
    return missed.length;
  }

  // Resolves when every change known now is replicated as the protocol says (C acknowledged, A sent);
  // changes made after the call do not hold it back. A compare in progress finishes first. Rejects
  // (FLUSH_INCOMPLETE) as soon as one of those changes failed: the peer lacks it until a retry lands.
  async flush(): Promise<void> {
    while (!this.stopped && (this.manifest !== null || this.view === null)) await this.nextProgress();
    const mark = this.dirty.lastSeq;
    this.dirty.hurry(mark); // no settle wait for these
    this.kick();
    const pending = (): boolean => {
      this.throwIfFailed(mark);
      if (this.dirty.holds(mark)) return true;
      if (this.o.protocol === 'C') for (const o of this.outstanding.values()) if (o.seq <= mark) return true;
      return this.sending !== null && this.sending <= mark;
    };
    while (!this.stopped && pending()) await this.nextProgress();
  }

  // The oldest failed change counts: newer content failing too does not make the old one replicated.
  private failed(path: string, seq: number, why: string): void {
    this.failing.set(path, { seq: Math.min(this.failing.get(path)?.seq ?? seq, seq), why, retrying: false });
  }

  private throwIfFailed(mark: number): void {
    const failed = [...this.failing].filter(([, f]) => f.seq <= mark && !f.retrying);
    if (failed.length === 0) return;
    const [path, f] = failed[0]!;
    throw new TandemError('FLUSH_INCOMPLETE', `${this.o.peer} lacks ${failed.length} change(s) made before this flush (first: "${path}": ${f.why}); they are tried again while the link lasts, and resent by the compare at the next connect`);
  }

  private nextProgress(): Promise<void> {
    return new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private progress(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  status(now = Date.now()): { files: number; bytes: number; oldestMs: number | null } {
    let oldest = this.dirty.oldestOrigin();
    for (const o of this.outstanding.values()) oldest = Math.min(oldest, o.origin);
    return { files: this.pendingPaths().length, bytes: this.outstandingBytes, oldestMs: oldest === Infinity ? null : Math.max(0, now - oldest) };
  }

  get outstandingCount(): number {
    return this.outstanding.size;
  }

  get bytesUnacked(): number {
    return this.outstandingBytes;
  }

  // A compare or verify runs: the peer hashes its whole tree before it acknowledges anything sent after.
  get comparing(): boolean {
    return this.manifest !== null;
  }

  // Every path not yet acknowledged (at a disconnect: what the peer may lack).
  pendingPaths(): string[] {
    return [...new Set([...this.dirty.keys(), ...[...this.outstanding.values()].map((o) => o.path)])];
  }

  // Online verify: compare the trees again, by content hash; what differs is sent.
  rescan(): void {
    if (this.manifest !== null || this.stopped) return;
    this.manifest = [];
    this.o.link.send({ type: 'DIR_SCAN' });
  }

  // DIR_MANIFEST, DIR_SIGS, DIR_ACK. Returns why the link must drop, or null.
  handle(f: Frame): string | null {
    switch (f.type) {
      case 'DIR_MANIFEST': {
        if (this.manifest === null) return 'DIR_MANIFEST that was not asked for';
        const b = decodeManifestBatch(f.payload);
        if (!b.ok) return b.detail;
        for (const e of b.value) this.manifest.push(e);
        if (this.manifest.length > MAX_MANIFEST_ENTRIES) return `DIR_MANIFEST lists more than ${MAX_MANIFEST_ENTRIES} entries`;
        if ((f.flags & FLAG_LAST) !== 0) void this.diff(new Map(this.manifest)).catch((e: unknown) => this.o.link.fail(`reconcile failed here: ${(e as Error).message}`));
        return null;
      }
      case 'DIR_SIGS': {
        const s = decodeSigs(f.payload);
        if (!s.ok) return s.detail;
        const w = this.sigWaiters.get(s.value.id);
        if (w === undefined) return `DIR_SIGS ${s.value.id} was not asked for`;
        this.sigWaiters.delete(s.value.id);
        w(s.value.sigs);
        return null;
      }
      case 'DIR_ACK': {
        const a = decodeAck(f.payload);
        if (!a.ok) return a.detail;
        const o = this.outstanding.get(a.value.id);
        if (o === undefined) return `DIR_ACK ${a.value.id} for nothing outstanding`;
        this.outstanding.delete(a.value.id);
        this.outstandingBytes -= o.bytes;
        if (o.reconcile && this.reconciling !== null) this.reconciling.inFlight--;
        if (a.value.ok) {
          this.acked++;
          this.dirty.replicated(o.path);
          this.failing.delete(o.path);
          this.o.events.replicated(o.path, o.bytes, o.origin);
        } else {
          this.o.events.failed(o.path, a.value.code, a.value.message);
          this.failed(o.path, o.seq, `${a.value.code}: ${a.value.message}`);
          this.view?.forget(o.path); // unknown now: the next look sends it again
          if (o.reconcile) this.reconciling?.left.add(o.path); // the target is not in sync until this one lands
          if (a.value.transient) this.retry(o.path, o.origin, o.seq);
        }
        this.roomWaiter?.();
        this.kick();
        this.progress();
        return null;
      }
      default:
        return `${f.type} is not a frame a directory source takes`;
    }
  }

  private async diff(peer: Manifest): Promise<void> {
    this.manifest = null;
    const ours = await buildManifest(this.o.root, { exclude: this.o.exclude, hash: true });
    if (this.stopped) return;
    this.view = new PeerView(peer);
    const ops = diffManifests(ours.entries, peer, { unknown: ours.problems.map((p) => p.path) });
    for (const p of ours.problems) this.o.events.failed(p.path, p.code, p.message);
    this.reconciling = { changes: ops.length, left: new Set(ops.map((o) => o.path)), inFlight: 0 };
    const now = Date.now() - this.o.settleMs;
    for (const op of ops) this.touch(op.path, now, op.kind === 'write');
    this.kick();
  }

  // `seq`: the failed change keeps its place, so a flush that covers it still waits for (or fails on) it.
  private retry(path: string, origin: number, seq: number): void {
    this.dirty.retry(path, origin, Date.now(), seq);
  }

  private kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      const now = Date.now();
      const batch = this.view === null ? [] : this.dirty.due(now);
      if (batch.length === 0) {
        this.maybeReconciled();
        this.progress();
        await this.sleep(now);
        continue;
      }
      await this.sendBatch(batch, now);
      this.progress();
    }
  }

  // Each path leaves `dirty` as it is sent; one touched again since the batch began waits for the next.
  private async sendBatch(all: Array<{ path: string; d: Dirty }>, began: number): Promise<void> {
    // A path the wire cannot carry (past PATH_MAX, a segment over 255 bytes) is reported, not sent: the peer would refuse it.
    const batch = all.filter((b) => {
      const c = checkWirePath(b.path);
      if (c.ok) return true;
      this.dirty.delete(b.path);
      this.reconciling?.left.delete(b.path); // never replicable: a compare does not wait for it
      this.o.events.failed(b.path, 'PATH_NOT_REPLICABLE', `${c.reason}: not replicated`);
      return false;
    });
    const stats = await Promise.all(batch.map(async (b) => ({ ...b, st: await this.statInTree(b.path).catch((e: unknown) => errnoOf(e)) })));
    const present = stats.filter((s) => typeof s.st !== 'string').sort((a, b) => depth(a.path) - depth(b.path) || (a.path < b.path ? -1 : 1));
    // Only "no such entry" is a removal: an entry this node cannot read now (EIO, EACCES) must not be deleted on the peer.
    const isGone = (st: string): boolean => st === 'ENOENT' || st === 'ENOTDIR';
    for (const s of stats) {
      if (typeof s.st !== 'string' || isGone(s.st) || this.dirty.get(s.path) !== s.d) continue;
      this.dirty.delete(s.path);
      this.unreadable(s.path, s.d, s.st, `cannot look at it here (${s.st}): not sent, tried again`);
    }
    const gone = stats.filter((s) => typeof s.st === 'string' && isGone(s.st)).sort((a, b) => depth(b.path) - depth(a.path));
    for (const s of [...present, ...gone]) {
      if (this.stopped) return;
      await this.room();
      if (this.dirty.get(s.path) !== s.d || s.d.last > began) continue;
      this.dirty.delete(s.path);
      const rec = this.reconciling?.left.delete(s.path) === true;
      s.d.reconcile = rec;
      this.sending = s.d.seq;
      try {
        // Looked at again now: the batch's stat may be old after waiting for room; one that turned
        // around (created <-> removed) goes back to wait its turn in the right half of a batch.
        const st = await this.statInTree(s.path).catch((e: unknown) => {
          if (isGone(errnoOf(e))) return null;
          throw e;
        });
        if ((st === null) !== (typeof s.st === 'string')) {
          if (rec) this.reconciling?.left.add(s.path);
          this.touch(s.path, Date.now());
          continue;
        }
        await this.sendPath(s.path, s.d, st);
        // Sent while still being written (MAX_DELAY_MS): look once more after it settles, in case the
        // last write's event came in before our read ended and the write itself after.
        if (Date.now() - s.d.last < this.o.settleMs && !this.dirty.has(s.path)) this.touch(s.path, Date.now());
      } catch (e) {
        // Gone or replaced while we looked: look again. Unreadable (EACCES, EIO ...): reported, tried again later.
        if (rec) this.reconciling?.left.add(s.path);
        if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'EINVAL') this.touch(s.path, Date.now());
        else this.unreadable(s.path, s.d, errnoOf(e), (e as Error).message);
      } finally {
        this.sending = null;
      }
    }
  }

  // A change this node could not read (EIO, EACCES ...): reported, counted against a flush, tried again later.
  private unreadable(path: string, d: Dirty, code: string, message: string): void {
    this.o.events.failed(path, code, message);
    this.failed(path, d.seq, `${code} reading it here: ${message}`);
    this.retry(path, d.origin, d.seq);
  }

  // lstat of the entry itself: below a parent that is now a symlink or a file there is no such entry in
  // the tree (ENOENT: sent as a remove), and nothing outside the tree is read through that parent.
  private async statInTree(rel: string): Promise<Awaited<ReturnType<typeof lstat>>> {
    const r = await resolveInside(this.o.root, rel);
    if (!r.ok) throw Object.assign(new Error(r.reason), { code: r.noSuchEntry === true ? 'ENOENT' : 'EINVAL' });
    return lstat(r.abs);
  }

  private async sendPath(path: string, d: Dirty, st: Awaited<ReturnType<typeof lstat>> | null): Promise<void> {
    const v = this.view?.get(path);
    if (st === null) {
      // Sent even when the view does not know it: the peer may hold it (a parent its apply created, a change not yet confirmed).
      if (!this.o.exclude(path, false) || !this.o.exclude(path, true)) this.op({ kind: 'remove', path }, null, d, 0);
      return;
    }
    const isDir = st.isDirectory();
    if (this.o.exclude(path, isDir)) return;
    const mode = Number(st.mode) & 0o7777;
    const mtimeMs = Number(st.mtimeMs);
    if (isDir) {
      if (v?.type === 'dir' && v.mode === mode) return;
      return this.op({ kind: 'mkdir', path, mode, mtimeMs }, { type: 'dir', size: 0, mtimeMs, mode }, d, 0);
    }
    if (st.isSymbolicLink()) {
      const target = await readlink(`${this.o.root}/${path}`);
      if (v?.type === 'symlink' && v.target === target) return;
      return this.op({ kind: 'symlink', path, target, mtimeMs }, { type: 'symlink', size: Buffer.byteLength(target), mtimeMs, mode, target }, d, 0);
    }
    if (!st.isFile()) {
      this.o.events.failed(path, 'UNSUPPORTED_TYPE', 'not a regular file, directory or symlink (FIFO, socket or device): not replicated');
      return;
    }
    const size = Number(st.size);
    if (!d.force && v?.type === 'file' && v.size === size && sameMtime(v.mtimeMs, mtimeMs)) {
      if (v.mode !== mode) this.op({ kind: 'meta', path, mode, mtimeMs }, { ...v, mode }, d, 0);
      return;
    }
    await this.sendFile(path, d, v?.type === 'file' && v.size >= DELTA_MIN_BYTES && size >= DELTA_MIN_BYTES);
  }

  private op(op: DirOp, entry: ManifestEntry | null, d: Dirty, bytes: number): void {
    const id = this.nextId++;
    this.o.link.send({ type: 'DIR_OP', payload: encodeOp({ ...op, id }) });
    this.track(id, op.path, bytes, d, entry);
  }

  private track(id: number, path: string, bytes: number, d: Dirty, entry: ManifestEntry | null): void {
    const reconcile = d.reconcile === true && this.reconciling !== null;
    if (reconcile && this.reconciling !== null) this.reconciling.inFlight++;
    this.outstanding.set(id, { path, bytes, origin: d.origin, entry, seq: d.seq, reconcile });
    this.outstandingBytes += bytes;
    // The view is what the peer holds once everything sent is applied (it applies in stream order).
    this.view?.record(path, entry);
  }

  // Whole, or as the blocks that differ from the peer's copy; aborted if it changes while read.
  private async sendFile(path: string, d: Dirty, delta: boolean): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(`${this.o.root}/${path}`, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ELOOP') return this.touch(path, Date.now()); // replaced meanwhile: look again
      throw e;
    }
    const link = this.o.link;
    const id = this.nextId++;
    try {
      const before = await fh.stat();
      if (!before.isFile()) return this.touch(path, Date.now());
      link.send({ type: 'DIR_FILE', payload: encodeFile({ id, path, delta, size: Number(before.size) }) });
      let theirs: Signatures | null = null;
      if (delta) {
        theirs = await new Promise<Signatures | null>((r) => this.sigWaiters.set(id, r));
        if (theirs === null) return; // link gone
      }
      const h = createHash('sha256');
      let sent = 0;
      if (theirs !== null) {
        const ours = await blockSignatures(hashingStream(fh, h), DEFAULT_BLOCK_SIZE);
        for (const index of changedBlocks(ours, theirs).blocks) {
          const span = blockSpan(index, ours.blockSize, ours.length);
          if (span !== null) sent += await this.sendRange(fh, id, span.offset, span.length);
        }
      } else {
        sent = await this.sendRange(fh, id, 0, Number(before.size), h);
      }
      const after = await fh.stat();
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || this.stopped) {
        if (link.state === 'established') link.send({ type: 'DIR_END', flags: FLAG_ABORT, payload: encodeEnd({ id, abort: true, reason: 'changed while being read' }) });
        return this.touch(path, Date.now());
      }
      const entry: ManifestEntry = { type: 'file', size: Number(after.size), mtimeMs: after.mtimeMs, mode: after.mode & 0o7777 };
      entry.sha256 = h.digest('hex');
      link.send({ type: 'DIR_END', payload: encodeEnd({ id, abort: false, size: entry.size, sha256: entry.sha256, mode: entry.mode, mtimeMs: entry.mtimeMs }) });
      this.track(id, path, sent, d, entry);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  // Sends [offset, offset + length) in DIR_DATA chunks (hashing them when `h` is given); returns bytes sent.
  private async sendRange(fh: FileHandle, id: number, offset: number, length: number, h?: ReturnType<typeof createHash>): Promise<number> {
    let done = 0;
    while (done < length && !this.stopped) {
      const buf = Buffer.allocUnsafe(Math.min(MAX_DATA_CHUNK, length - done));
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset + done);
      if (bytesRead === 0) break; // shrank: the stat after tells
      const chunk = buf.subarray(0, bytesRead);
      h?.update(chunk);
      this.o.link.send({ type: 'DIR_DATA', payload: [encodeDataHeader(id, offset + done), chunk] });
      done += bytesRead;
      if (this.o.link.needsDrain) await this.o.link.drain();
    }
    return done;
  }

  private async room(): Promise<void> {
    while (!this.stopped && (this.outstanding.size >= WINDOW_ITEMS || this.outstandingBytes >= WINDOW_BYTES)) {
      await new Promise<void>((r) => { this.roomWaiter = r; });
      this.roomWaiter = null;
    }
    if (this.o.link.needsDrain) await this.o.link.drain();
  }

  private maybeReconciled(): void {
    const r = this.reconciling;
    if (r === null || r.left.size > 0 || r.inFlight > 0 || this.o.link.state !== 'established') return;
    this.reconciling = null;
    this.o.link.send({ type: 'DIR_SYNCED' });
    void this.o.events.reconciled(r.changes).catch((e: unknown) => this.o.log('warn', `finishing the reconcile: ${(e as Error).message}`));
  }

  private async sleep(now: number): Promise<void> {
    const next = this.dirty.nextDue(now);
    await new Promise<void>((r) => {
      this.wake = r;
      if (next !== Infinity) this.timer = setTimeout(() => this.kick(), Math.max(1, next - now));
    });
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

// The file's content as a stream that also feeds the whole-file hash.
async function* hashingStream(fh: FileHandle, h: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for await (const chunk of fh.createReadStream({ autoClose: false, start: 0 })) {
    h.update(chunk as Buffer);
    yield chunk as Buffer;
  }
}
