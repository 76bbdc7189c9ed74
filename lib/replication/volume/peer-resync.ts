// A resync with one peer, in either direction: its progress meter, the
// SyncTarget's request loop and checkpoints (resynced blocks leave the saved
// bitmap once on stable storage), the SyncSource's answers, and the end on
// both sides. The peer session owns the link and the replication state.
import type { Bitmap } from '../block/bitmap.js';
import type { Frame } from '../link/frame.js';
import type { PeerLink } from '../link/peer-link.js';
import type { PeerPart } from './peer-part.js';
import { ResyncMeter } from './resync-meter.js';
import { serveResyncRequest } from './resync-source.js';
import { ResyncTarget, type SyncedRange } from './resync-target.js';
import type { ResyncProgress } from './status-types.js';
import type { PeerState } from './wire.js';
import { decodeResyncData, decodeResyncRequest } from './wire.js';

export type ResyncDirection = 'SyncSource' | 'SyncTarget';

// What the resync needs from its peer session, beyond any part's.
export interface ResyncSession extends PeerPart {
  peerState(): PeerState | null;
  unfreeze(): void; // application writes may flow again
  // Both sides finished on the session's current link: it is Established again.
  finished(): void;
}

export class PeerResync {
  private meter: ResyncMeter | null = null;
  private target: ResyncTarget | null = null;
  private readonly checkpoints = new Set<Promise<void>>(); // resync progress being saved

  constructor(private readonly s: ResyncSession) {}

  start(link: PeerLink, direction: ResyncDirection, full: boolean, union: Bitmap, peerCurrent: string): void {
    const { host, peer } = this.s;
    this.meter = new ResyncMeter(direction, full, union.outOfSyncBytes(), Date.now());
    host.emit('replica.resync.started', { volume: host.cfg.name, peer, direction, full, bytes: this.meter.total });
    // Saved on both sides before a block moves, so a cut link or a crash resumes instead of starting over.
    this.s.background(host.resyncStarted(peer, direction, union, peerCurrent).then(() => {
      this.s.unfreeze();
      if (!this.s.isCurrent(link) || direction === 'SyncSource') return;
      this.target = new ResyncTarget({
        link, disk: host.disk, bitmap: union, csums: host.cfg.csumsResync, maxRate: host.cfg.resyncMaxRate,
        appBusy: () => this.s.receiver()?.appBusy(Date.now()) === true,
        onProgress: (bytes) => this.meter?.add(bytes, Date.now()),
        onCheckpoint: (ranges) => this.checkpoint(ranges),
        onDone: () => this.finishAsTarget(link),
      });
      this.target.start();
    }), 'starting the resync', link);
  }

  // The last checkpoints are saved: the bitmap sent at the next connect, or the record saved at stop, holds them.
  async settled(): Promise<void> {
    await Promise.allSettled([...this.checkpoints]);
  }

  // As SyncSource (the session checked): answer one RESYNC_REQUEST.
  onRequest(link: PeerLink, f: Frame): void {
    const { host, peer } = this.s;
    const r = decodeResyncRequest(f.payload);
    if (!r.ok) return this.s.drop(link, r.detail);
    const { offset, length, hash } = r.value;
    if (offset + length > host.cfg.size) return this.s.drop(link, `RESYNC_REQUEST ${offset}+${length} ends past the volume`);
    // Sent blocks leave our bitmap: until the target has them on stable storage, its own bitmap still holds them.
    const clearSent = (): void => { host.bitmapFor(peer).clearRange(offset, length); };
    serveResyncRequest(link, host, offset, length, hash, clearSent).then(
      (sent) => { if (sent) this.meter?.add(length, Date.now()); },
      (e: unknown) => this.s.drop(link, `serving a resync request: ${(e as Error).message}`),
    );
  }

  onData(link: PeerLink, f: Frame): void {
    const target = this.target;
    if (target === null) return this.s.drop(link, 'RESYNC_DATA while not SyncTarget');
    const r = decodeResyncData(f.payload);
    if (!r.ok) return this.s.drop(link, r.detail);
    const { offset, length, data } = r.value;
    if (!target.expects(offset, length)) return this.s.drop(link, `RESYNC_DATA ${offset}+${length} was not requested`);
    this.s.receiver()?.inOrder({
      seq: f.seq, range: { offset, length },
      run: async () => {
        if (data !== null) await this.s.host.disk.writeUncached(offset, data); // a replica's pages serve no reader
        target.onData(offset, length);
      },
    });
  }

  // RESYNC_DONE: the target has every block on stable storage.
  onDone(link: PeerLink): void {
    const { host, peer } = this.s;
    if (this.meter?.direction !== 'SyncSource') return this.s.drop(link, 'RESYNC_DONE while not SyncSource');
    this.s.background(host.resyncFinished(peer, false, host.generations, host.diskState).then(() => this.end(link)), 'finishing the resync', link);
  }

  // The link ended: the target stops asking, and what it wrote is checkpointed.
  cut(): void {
    this.target?.stop();
    this.checkpoint(this.target?.takeSynced() ?? []);
    this.target = null;
    this.meter = null;
  }

  status(now: number): ResyncProgress | null {
    const m = this.meter;
    if (m === null) return null;
    // The target asks for the blocks, so only its own cap applies.
    return { ...m.status(now), max_rate_bytes_per_s: m.direction === 'SyncTarget' ? this.s.host.cfg.resyncMaxRate : null };
  }

  // Resynced blocks on stable storage leave the saved bitmap: a crash or a cut link moves them no more.
  private checkpoint(ranges: SyncedRange[]): void {
    const { host, peer } = this.s;
    if (ranges.length === 0) return;
    const p = host.resyncProgress(peer, ranges);
    this.checkpoints.add(p);
    p.catch((e: unknown) => host.log.error(`${host.cfg.name}: saving the resync progress with ${peer} failed: ${(e as Error).message}`))
      .finally(() => this.checkpoints.delete(p));
  }

  private async finishAsTarget(link: PeerLink): Promise<void> {
    const { host, peer } = this.s;
    await this.s.receiver()?.idle();
    if (!this.s.isCurrent(link) || this.s.peerState() === null) return;
    await host.disk.flush(); // UpToDate only once the synced blocks are on stable storage
    const source = this.s.peerState(); // its newest, as it stands once ours are durable
    if (link.state !== 'established' || source === null) return;
    link.send({ type: 'RESYNC_DONE' });
    await host.resyncFinished(peer, true, source.generations, source.disk);
    this.end(link);
  }

  private end(link: PeerLink): void {
    const meter = this.meter;
    this.meter = null;
    this.target = null;
    if (!this.s.isCurrent(link)) return;
    this.s.finished();
    const { host, peer } = this.s;
    const secs = meter === null ? 0 : (Date.now() - meter.startedAt) / 1000;
    host.log.info(`${host.cfg.name}: resync with ${peer} finished (${meter?.direction ?? '?'}, ${meter?.total ?? 0} bytes in ${secs.toFixed(1)} s)`);
    host.emit('replica.resync.finished', { volume: host.cfg.name, peer, direction: meter?.direction, bytes: meter?.total, seconds: secs });
  }
}
