// The target side of a directory volume's stream: applies the source's ops
// and files with the result of applying them in stream order (unrelated
// paths side by side, apply-order.ts), each atomically (apply.ts), and
// acknowledges each once it is on stable storage. Frames are checked for
// order here, synchronously, so a hostile or confused peer is refused before
// anything touches the disk. Errors of the local tree (ENOSPC, EIO) are
// acknowledged as failures and reported; a path that would lead through a
// symlink drops the link. Never a crash, never a partial file left behind.
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { TandemError } from '../../errors.js';
import type { Frame } from '../link/frame.js';
import { FLAG_ABORT, FLAG_LAST } from '../link/frame-types.js';
import type { PeerLink } from '../link/peer-link.js';
import { AtomicFile } from './apply.js';
import { blockSignatures, DEFAULT_BLOCK_SIZE } from './delta.js';
import { buildManifest, type Manifest, type ManifestEntry } from './manifest.js';
import { PathScheduler } from './apply-order.js';
import { applyDirOp, observed, openBase } from './local-tree.js';
import {
  decodeData, decodeEnd, decodeFile, decodeOp, encodeAck, encodeSigs, manifestBatches, type AckMsg, type DirOp, type EndMsg,
} from './wire.js';

const COPY_CHUNK = 1 << 20;

export interface ReceiverEvents {
  // The tree changed at `path` by our hand (entry null: removed), for the divergence check.
  applied(path: string, entry: ManifestEntry | null): void;
  // A path is being changed by us now (true) or no longer (false).
  busy(path: string, on: boolean): void;
  // Our manifest was sent: the source reconciles from it.
  scanned(manifest: Manifest): void;
  // The source finished its reconcile; everything before it is applied.
  synced(): Promise<void>;
  // A change could not be applied (reported; the source retries transient ones).
  failed(path: string, code: string, message: string): void;
}

interface Assembly {
  id: number;
  path: string;
  delta: boolean;
  out: AtomicFile | null;
  base: FileHandle | null;
  pos: number;
  hash: Hash;
  error: TandemError | null;
}

// A whole file up to this size is gathered in memory and applied as one change, beside others.
export const BUFFERED_FILE_MAX = 1 << 20;
const CONCURRENT_APPLIES = 16;

interface Expect {
  id: number;
  path: string;
  delta: boolean;
  next: number;
  chunks: Buffer[] | null; // a small whole file, gathered; null: streamed (a barrier)
}

export class DirReceiver {
  private readonly order: PathScheduler;
  private stopped = false;
  private expect: Expect | null = null; // the file whose frames come now
  private file: Assembly | null = null;
  applied = 0;
  failures = 0;

  constructor(
    private readonly link: PeerLink,
    private readonly root: string,
    private readonly exclude: readonly string[],
    private readonly events: ReceiverEvents,
    after: Promise<void> = Promise.resolve(), // the previous link's receiver: nothing here runs before it is done
  ) {
    this.order = new PathScheduler(CONCURRENT_APPLIES, after);
  }

  // Bytes of small files gathered and not yet written.
  bufferedBytes = 0;

  get backlog(): number {
    return this.order.size;
  }

  idle(): Promise<void> {
    return this.order.idle();
  }

  // Nothing queued from now on runs before `p` settles (another link's changes still being applied).
  after(p: Promise<void>): void {
    this.order.add(null, () => p.catch(() => undefined));
  }

  // Checks one frame and queues its work. Returns why the link must drop, or null.
  handle(f: Frame): string | null {
    switch (f.type) {
      case 'DIR_SCAN':
        if (this.expect !== null) return 'DIR_SCAN in the middle of a file';
        this.run(null, () => this.scan());
        return null;
      case 'DIR_OP': {
        const m = decodeOp(f.payload);
        if (!m.ok) return m.detail;
        if (this.expect !== null) return `DIR_OP ${m.value.id} in the middle of file ${this.expect.id}`;
        this.run([m.value.path], () => this.applyOp(m.value.id, m.value));
        return null;
      }
      case 'DIR_FILE': {
        const m = decodeFile(f.payload);
        if (!m.ok) return m.detail;
        if (this.expect !== null) return `DIR_FILE ${m.value.id} before file ${this.expect.id} ended`;
        const small = !m.value.delta && m.value.size <= BUFFERED_FILE_MAX;
        this.expect = { id: m.value.id, path: m.value.path, delta: m.value.delta, next: 0, chunks: small ? [] : null };
        if (!small) this.run(null, () => this.begin(m.value.id, m.value.path, m.value.delta));
        return null;
      }
      case 'DIR_DATA': {
        const m = decodeData(f.payload);
        if (!m.ok) return m.detail;
        const e = this.expect;
        if (e === null || e.id !== m.value.id) return `DIR_DATA for file ${m.value.id}, which is not being sent`;
        // Whole files arrive in order; a delta's blocks in ascending order, gaps filled from our copy.
        if (e.delta ? m.value.offset < e.next : m.value.offset !== e.next) return `DIR_DATA offset ${m.value.offset} out of order (next ${e.next})`;
        e.next = m.value.offset + m.value.data.length;
        const { offset, data } = m.value;
        if (e.chunks !== null) {
          // Announced as small: a peer that sends more is not trusted with our memory.
          if (e.next > 2 * BUFFERED_FILE_MAX) return `DIR_DATA: file ${e.id} announced at most ${BUFFERED_FILE_MAX} bytes, ${e.next} arrived`;
          e.chunks.push(data);
          this.bufferedBytes += data.length;
          return null;
        }
        this.run(null, () => this.data(offset, data));
        return null;
      }
      case 'DIR_END': {
        const m = decodeEnd(f.payload, (f.flags & FLAG_ABORT) !== 0);
        if (!m.ok) return m.detail;
        const e = this.expect;
        if (e === null || e.id !== m.value.id) return `DIR_END for file ${m.value.id}, which is not being sent`;
        if (!m.value.abort && m.value.size < e.next) return `DIR_END size ${m.value.size} is below the data sent (${e.next})`;
        this.expect = null;
        const end = m.value;
        if (e.chunks === null) this.run(null, () => this.end(end));
        else {
          const chunks = e.chunks;
          const bytes = chunks.reduce((n, c) => n + c.length, 0);
          if (end.abort) this.bufferedBytes -= bytes;
          else this.run([e.path], () => this.whole(e.path, chunks, end).finally(() => { this.bufferedBytes -= bytes; }));
        }
        return null;
      }
      case 'DIR_SYNCED':
        if (this.expect !== null) return 'DIR_SYNCED in the middle of a file';
        this.run(null, () => this.events.synced());
        return null;
      default:
        return `${f.type} is not a frame a directory target takes`;
    }
  }

  stop(): void {
    this.stopped = true;
    const f = this.file;
    this.file = null;
    if (f !== null) void this.closeAssembly(f, true);
  }

  private run(paths: readonly string[] | null, task: () => Promise<void>): void {
    this.order.add(paths, async () => {
      if (this.stopped) return;
      try {
        await task();
      } catch (e) {
        // Our own failure (not the peer's): the link goes, the next connect reconciles.
        this.link.fail(`applying a change failed here: ${(e as Error).message}`);
        this.stop();
      }
    });
  }

  // A small whole file, gathered in memory: written, checked, published.
  private async whole(path: string, chunks: Buffer[], m: EndMsg & { abort: false }): Promise<void> {
    this.events.busy(path, true);
    let out: AtomicFile | null = null;
    try {
      out = await AtomicFile.create(this.root, path); // the path is checked first: a refused one drops the link
      const h = createHash('sha256');
      for (const c of chunks) h.update(c);
      const sha = h.digest('hex');
      const size = chunks.reduce((n, c) => n + c.length, 0);
      if (size !== m.size || sha !== m.sha256) {
        throw new TandemError('FILE_HASH_MISMATCH', `"${path}": received ${size} bytes with sha256 ${sha.slice(0, 12)}..., the source has ${m.size} bytes with ${m.sha256.slice(0, 12)}...; the file is resent`, { transient: true });
      }
      for (const c of chunks) await out.write(c);
      if (this.stopped) return;
      await out.commit({ mode: m.mode, mtimeMs: m.mtimeMs });
      out = null;
      this.applied++;
      this.events.applied(path, await observed(this.root, path));
      this.ack({ id: m.id, ok: true });
    } catch (e) {
      this.fail(m.id, path, e);
    } finally {
      await out?.abort();
      this.events.busy(path, false);
    }
  }

  private ack(m: AckMsg): void {
    if (this.link.state === 'established') this.link.send({ type: 'DIR_ACK', payload: encodeAck(m) });
  }

  private fail(id: number, path: string, err: unknown): void {
    const t = err instanceof TandemError ? err : new TandemError('FILE_APPLY_FAILED', (err as Error).message, { cause: err });
    // issue 4 "Safety": a path that would be followed through a symlink (out of the root) is refused and the link dropped.
    if (t.code === 'FILE_PATH_REFUSED') {
      this.failures++;
      this.events.failed(path, t.code, t.message);
      this.link.fail(t.message);
      return this.stop();
    }
    const code = errCode(t);
    this.failures++;
    this.events.failed(path, code, t.message);
    this.ack({ id, ok: false, code, message: t.message, transient: t.transient === true });
  }

  private async scan(): Promise<void> {
    const m = await buildManifest(this.root, { exclude: this.exclude, hash: true });
    const batches = manifestBatches(m.entries);
    batches.forEach((payload, i) => this.link.send({ type: 'DIR_MANIFEST', flags: i === batches.length - 1 ? FLAG_LAST : 0, payload }));
    this.events.scanned(m.entries);
  }

  private async applyOp(id: number, op: DirOp): Promise<void> {
    this.events.busy(op.path, true);
    try {
      await applyDirOp(this.root, op);
      this.applied++;
      this.events.applied(op.path, await observed(this.root, op.path));
      this.ack({ id, ok: true });
    } catch (e) {
      this.fail(id, op.path, e);
    } finally {
      this.events.busy(op.path, false);
    }
  }

  private async begin(id: number, path: string, delta: boolean): Promise<void> {
    const a: Assembly = { id, path, delta, out: null, base: null, pos: 0, hash: createHash('sha256'), error: null };
    this.file = a;
    this.events.busy(path, true);
    try {
      if (delta) a.base = await openBase(this.root, path);
      a.out = await AtomicFile.create(this.root, path);
    } catch (e) {
      a.error = asError(e);
    }
    if (this.stopped) return this.closeAssembly(a, true); // the link went while we opened: leave nothing behind
    if (delta) {
      // The source waits for our signatures even when we failed: it then finds out at DIR_END.
      const sigs = a.base !== null && a.error === null ? await blockSignatures(a.base.createReadStream({ autoClose: false, start: 0 }), DEFAULT_BLOCK_SIZE) : { blockSize: DEFAULT_BLOCK_SIZE, length: 0, blocks: [] };
      if (this.link.state === 'established') this.link.send({ type: 'DIR_SIGS', payload: encodeSigs(id, sigs) });
    }
  }

  private async data(offset: number, data: Buffer): Promise<void> {
    const a = this.file;
    if (a === null || a.error !== null || a.out === null) return;
    try {
      if (offset > a.pos) await this.copyBase(a, offset);
      a.hash.update(data);
      await a.out.write(data);
      a.pos = offset + data.length;
    } catch (e) {
      a.error = asError(e);
    }
  }

  private async end(m: EndMsg): Promise<void> {
    const a = this.file;
    this.file = null;
    if (a === null) return;
    try {
      if (m.abort) return;
      if (a.error === null && a.out !== null) {
        try {
          if (m.size > a.pos) await this.copyBase(a, m.size);
          const sha = a.hash.digest('hex');
          if (a.out.written !== m.size || sha !== m.sha256) {
            throw new TandemError('FILE_HASH_MISMATCH', `"${a.path}": assembled ${a.out.written} bytes with sha256 ${sha.slice(0, 12)}..., the source has ${m.size} bytes with ${m.sha256.slice(0, 12)}...; the file is resent`, { transient: true });
          }
          await a.out.commit({ mode: m.mode, mtimeMs: m.mtimeMs });
          a.out = null;
          this.applied++;
          this.events.applied(a.path, await observed(this.root, a.path));
          return this.ack({ id: a.id, ok: true });
        } catch (e) {
          a.error = asError(e);
        }
      }
      this.fail(a.id, a.path, a.error);
    } finally {
      await this.closeAssembly(a, a.out !== null);
      this.events.busy(a.path, false);
    }
  }

  // Fills [a.pos, to) from our old copy: the blocks the source found unchanged.
  private async copyBase(a: Assembly, to: number): Promise<void> {
    if (!a.delta || a.base === null || a.out === null) throw new TandemError('FILE_DELTA_BASE', `"${a.path}": the source skipped bytes ${a.pos}..${to} but there is no local copy to take them from`, { transient: true });
    const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, to - a.pos));
    while (a.pos < to) {
      const n = Math.min(buf.length, to - a.pos);
      const { bytesRead } = await a.base.read(buf, 0, n, a.pos);
      if (bytesRead === 0) throw new TandemError('FILE_DELTA_BASE', `"${a.path}": our copy ended at ${a.pos} bytes, the delta needs ${to}; the file is resent`, { transient: true });
      const chunk = buf.subarray(0, bytesRead);
      a.hash.update(chunk);
      await a.out.write(chunk);
      a.pos += bytesRead;
    }
  }

  private async closeAssembly(a: Assembly, abort: boolean): Promise<void> {
    if (abort) await a.out?.abort();
    a.out = null;
    await a.base?.close().catch(() => undefined);
    a.base = null;
  }
}

function asError(e: unknown): TandemError {
  return e instanceof TandemError ? e : new TandemError('FILE_APPLY_FAILED', (e as Error).message, { cause: e });
}

// The errno behind an apply failure (ENOSPC, EACCES ...), else the error's own code.
function errCode(e: TandemError): string {
  const cause = (e as { cause?: unknown }).cause as NodeJS.ErrnoException | undefined;
  return typeof cause?.code === 'string' && /^E[A-Z]+$/.test(cause.code) ? cause.code : e.code;
}
