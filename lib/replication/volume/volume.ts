// A replicated block volume (DRBD's resource with one volume): the image and
// its metadata, the role, the peers, and, on the Primary, the NBD export. As
// the NBD server's BlockBackend it is the one way in for application I/O;
// its writes take the write path (write-path.ts).
import { TandemError } from '../../errors.js';
import { formatHostPort } from '../../config/names.js';
import type { BlockVolumeConfig } from '../../config/types.js';
import type { ActivityLog } from '../block/activity-log.js';
import type { ActivityLogStore } from '../block/activity-log-store.js';
import type { Bitmap } from '../block/bitmap.js';
import { markActivityLogOutOfSync, markAllOutOfSync, type MetadataRecord } from '../block/metadata.js';
import type { MetadataStore } from '../block/metadata-store.js';
import type { BlockBackend } from '../block/nbd/backend.js';
import type { FileBackend } from '../block/nbd/file-backend.js';
import { generationsStatus } from '../generations-json.js';
import {
  onConnectedAndSynced, onFirstWriteWhileDisconnected, onResyncFinished, onResyncStarted, splitsNow, withoutBitmapEntries, type Generations,
} from '../generations.js';
import { diskAfterResync, diskWhenInSync } from '../fencing.js';
import type { LinkTls } from '../link/transport.js';
import type { DiskState } from '../states.js';
import type { AfterSbPolicies } from '../after-sb.js';
import { armDiscardMyData, dropDiscardMyData } from './discard-my-data.js';
import { fencedPeersOf, PeerFencing, type HandlerRunner } from './fence-peers.js';
import { checkInvalidate } from './invalidate-check.js';
import type { VolumeHost, VolumeLog } from './host.js';
import { VolumeLinks } from './links.js';
import { feedsOf, FeedsTold, type Feed } from './one-source.js';
import { outdateVolume } from './outdate.js';
import { PeerSession } from './peer.js';
import { promoteAgreed } from './promote-agreement.js';
import { PromoteArbiter } from './promote-arbiter.js';
import { promotion } from './promote-check.js';
import { RangeLock } from './range-lock.js';
import { Reconciliation } from './reconcile.js';
import type { SyncedRange } from './resync-target.js';
import type { VolumeStatus } from './status-types.js';
import type { PeerState } from './wire.js';
import { SecondaryLog, type ApplyWrite } from './secondary-log.js';
import { ThirdPeerMarks } from './third-peer-marks.js';
import { UncleanRecord } from './unclean-record.js';
import { VolumeExport } from './volume-export.js';
import { openVolumeFiles } from './volume-open.js';
import { VolumeRecord } from './volume-record.js';
import { WritePath, type WritePathHost } from './write-path.js';
import { WriteRefusal } from './write-refusal.js';

export interface VolumeDeps {
  node: string;
  secret: Buffer;
  tls?: LinkTls;
  congestionControl: string | null; // replication.congestion_control; null: the host's default
  log: VolumeLog;
  emit: (type: string, fields: Record<string, unknown>) => void;
  runHandler?: HandlerRunner; // the fence_peer handler's runner (the node's services/exec)
}

export class ReplicatedVolume implements VolumeHost, WritePathHost {
  readonly lock = new RangeLock();
  readonly peers = new Map<string, PeerSession>();
  role: 'Primary' | 'Secondary' = 'Secondary';
  private readonly export: VolumeExport;
  readonly promoteArbiter: PromoteArbiter;
  private readonly fencing: PeerFencing;
  private readonly links: VolumeLinks;
  private readonly writes = new WritePath(this);
  private readonly kept: VolumeRecord;
  private diskError: string | null = null; // a replicated write failed here; StandAlone until connect
  private readonly feedsTold = new FeedsTold(); // our feeds as the peers last heard them
  private invalidations = 0; // a resync checkpoint that began before an invalidate clears nothing
  private readonly refusal: WriteRefusal; // a peer's data is to replace ours: no application writes
  private readonly reconciliation: Reconciliation;
  private readonly thirdPeers: ThirdPeerMarks; // as Secondary: what our Primary's other peers miss
  private readonly unclean: UncleanRecord;
  private readonly secondaryLog: SecondaryLog; // as Secondary: the extents our Primary's stream touches

  private constructor(
    readonly cfg: BlockVolumeConfig,
    readonly disk: FileBackend,
    store: MetadataStore,
    alStore: ActivityLogStore,
    private readonly record: MetadataRecord,
    public generations: Generations,
    public diskState: DiskState,
    private readonly deps: VolumeDeps,
  ) {
    const policies = cfg.afterSb as unknown as AfterSbPolicies;
    this.export = new VolumeExport(cfg, deps.log);
    this.refusal = new WriteRefusal(cfg.name, deps.log);
    this.kept = new VolumeRecord(record, store, alStore, {
      volume: cfg.name, alExtents: cfg.alExtents, log: deps.log, disk,
      values: () => ({ generations: this.generations, diskState: this.diskState, fencedPeers: fencedPeersOf(this.peers.values()) }),
    });
    this.unclean = new UncleanRecord({ volume: cfg.name, record, save: () => this.save() });
    const unclean = this.unclean;
    this.secondaryLog = new SecondaryLog({
      get activityLog() { return record.activityLog; },
      get uncleanOnDisk() { return unclean.onDisk; },
      logActivity: (need) => this.logActivity(need), recordUnclean: () => unclean.ensure(), released: () => this.writes.extentsReleased(),
    });
    this.reconciliation = new Reconciliation({
      volume: cfg.name, size: cfg.size, extentSize: record.activityLog.extentSize, log: deps.log,
      role: () => this.role, peers: () => this.peers.values(), bitmapFor: (peer) => this.bitmapFor(peer), loggedExtents: () => record.activityLog.extents(),
      marksOnly: record.marksOnly,
      marked: async (except) => {
        await this.save();
        this.broadcastState(except);
      },
    });
    const volume = this; // the marks read and set our generations
    this.thirdPeers = new ThirdPeerMarks({
      volume: cfg.name, node: deps.node, log: deps.log,
      get generations() { return volume.generations; },
      set generations(g) { volume.generations = g; },
      role: () => this.role, peer: (name) => this.peers.get(name), peerNames: () => [...this.peers.keys()], bitmapFor: (peer) => this.bitmapFor(peer),
      lostPrimaryMarks: (peer) => this.reconciliation.lostPrimaryBlocks(peer), clearBits: (peer) => this.clearBits(peer),
      bitsSet: (o, l) => this.kept.bitsSet(o, l), save: () => this.save(), recordUnclean: () => unclean.ensure(), broadcastState: () => this.broadcastState(),
    });
    this.promoteArbiter = new PromoteArbiter(deps.node, 2 * cfg.timeoutMs); // a granted peer has this long to become Primary
    this.fencing = new PeerFencing({ volume: cfg.name, node: deps.node, policy: cfg.fencing, command: cfg.fencePeer, run: deps.runHandler, log: deps.log, emit: deps.emit, save: () => this.save() });
    for (const p of cfg.peers) this.peers.set(p.name, new PeerSession(p.name, formatHostPort(p.address), this, policies));
    for (const [name, disk] of record.fencedPeers) this.peers.get(name)?.rememberFenced(disk);
    this.links = new VolumeLinks({ node: deps.node, secret: deps.secret, ...(deps.tls ? { tls: deps.tls } : {}), congestionControl: deps.congestionControl, log: deps.log, cfg, sessions: this.peers });
  }

  get node(): string {
    return this.deps.node;
  }

  get log(): VolumeLog {
    return this.deps.log;
  }

  get activityLog(): ActivityLog {
    return this.record.activityLog;
  }

  peerSessions(): Iterable<PeerSession> {
    return this.peers.values();
  }

  emit(type: string, fields: Record<string, unknown>): void {
    this.deps.emit(type, fields);
  }

  // Opens the image and its metadata (volume-open.ts); a new volume is
  // Inconsistent until a forced promote or the initial sync.
  static async open(cfg: BlockVolumeConfig, deps: VolumeDeps): Promise<ReplicatedVolume> {
    const o = await openVolumeFiles(cfg, deps.log);
    const v = new ReplicatedVolume(cfg, o.disk, o.store, o.alStore, o.record, o.generations, o.diskState, deps);
    await v.save(); // the crash's extents are in the bitmaps now, so the log may start empty
    await v.logActivity(0);
    return v;
  }

  // Listen and connect to the peers.
  async start(): Promise<void> {
    const c = this.cfg;
    await this.links.listen();
    this.connect();
    this.log.info(`${c.name}: replication listening on ${this.links.address}, protocol ${c.protocol}, disk ${this.diskState}`);
  }

  // `tandem replica connect` / `disconnect`.
  connect(): void {
    this.diskError = null; // the operator says the disk is fixed: try again
    this.links.connect();
  }

  // As DRBD detaches a failing disk: a Secondary that could not store a write of its Primary's is no copy to
  // promote. Outdated (kept in the record, so a restart cannot hide it) until a resync from a Primary brings the
  // blocks back, which the Primary's bitmap for us holds; an Inconsistent disk stays Inconsistent.
  localDiskFailed(detail: string): void {
    this.diskError = detail;
    if (this.role !== 'Secondary' || (this.diskState !== 'UpToDate' && this.diskState !== 'Consistent')) return;
    this.log.warn(`${this.cfg.name}: disk Outdated: a write from the Primary could not be stored here (${detail}); not promoted without --force until a resync from a Primary`);
    this.setDisk('Outdated').catch((e: unknown) => this.log.error(`${this.cfg.name}: saving the Outdated disk: ${(e as Error).message}`));
  }

  async disconnect(): Promise<void> {
    this.refusal.clear('tandem replica disconnect'); // the operator chose this node's own data
    await this.links.disconnect();
  }

  async stop(): Promise<void> {
    if (this.role === 'Primary') await this.demote().catch((e: unknown) => this.log.error(`${this.cfg.name}: demote at stop: ${(e as Error).message}`));
    await this.links.disconnectForStop();
    await this.links.stop();
    this.fencing.stop();
    // The page cache reaches the disk before the record says clean: a clean record makes the next start drop the log.
    // A flush that failed during the run lost writes a later one does not report: unclean too.
    let flushed = await this.disk.flush().then(() => true, (e: unknown) => {
      this.log.error(`${this.cfg.name}: flushing the image at stop: ${(e as Error).message}; the record stays unclean`);
      return false;
    });
    if (flushed && this.disk.flushFailure !== null) {
      this.log.error(`${this.cfg.name}: an image flush failed during this run (${this.disk.flushFailure}): the record stays unclean, so the next start resyncs the logged extents`);
      flushed = false;
    }
    this.record.cleanShutdown = flushed;
    await this.save().catch((e: unknown) => this.log.error(`${this.cfg.name}: saving metadata at stop: ${(e as Error).message}`));
    await this.kept.close();
    await this.disk.close();
  }

  // ---- Roles ----

  async promote(force: boolean): Promise<void> {
    if (this.role === 'Primary') return;
    const fencingSelf = { disk: () => this.diskState, setDisk: (d: DiskState) => this.setDisk(d) };
    let before: { generations: Generations; diskState: DiskState; lastRole: 'Primary' | 'Secondary'; cleanShutdown: boolean; stale: Set<string> } | null = null;
    const v = await promoteAgreed({
      volume: this.cfg.name, arbiter: this.promoteArbiter, peers: this.peers.values(), timeoutMs: this.cfg.timeoutMs,
      isPrimary: () => this.role === 'Primary',
      fence: (silent) => this.fencing.beforePromote(this.peers.values(), fencingSelf, force, silent),
      check: () => promotion(this.cfg.name, this.diskState, force, this.generations, this.peers.values()),
      commit: async (p) => {
        before = { generations: this.generations, diskState: this.diskState, lastRole: this.record.lastRole, cleanShutdown: this.record.cleanShutdown, stale: new Set(this.record.staleBitsFor) };
        this.generations = p.generations;
        this.diskState = 'UpToDate';
        this.role = 'Primary';
        this.record.lastRole = 'Primary';
        this.record.cleanShutdown = false;
        // Our copy is what the application reads now: bits marked after a crash of ours no longer lose.
        this.record.staleBitsFor.clear();
        await this.save();
        // Before any peer hears of it: a Primary the application cannot reach is no promotion (undone below).
        await this.export.start(this.io());
        dropDiscardMyData(this.peers.values()); // last: an undone promotion keeps an armed --discard-my-data
      },
      // Not Primary after all (the metadata could not be written, NBD could not listen): as we were, disk state
      // and generations included, so a failed forced promotion makes no disk UpToDate and starts no generation.
      undo: async () => {
        if (before === null) return;
        ({ generations: this.generations, diskState: this.diskState } = before);
        this.record.lastRole = before.lastRole;
        this.record.cleanShutdown = before.cleanShutdown;
        this.record.staleBitsFor = before.stale;
        this.role = 'Secondary';
        await this.save().catch((e: unknown) => this.log.error(`${this.cfg.name}: saving metadata after a failed promotion: ${(e as Error).message}`));
        this.broadcastState(); // a peer that asked for our state meanwhile heard Primary
      },
    });
    if (v === null) return;
    this.broadcastState();
    // Peers at our generation now; those that follow a new one reconcile once they say so (peer.ts).
    for (const s of this.peers.values()) if (s.peerState?.generations.current === this.generations.current) this.reconcile(s.name);
    this.log.info(`${this.cfg.name}: Primary${v.forced ? ' (forced)' : ''}, generation ${this.generations.current}`);
    this.emit('replica.role', { volume: this.cfg.name, role: 'Primary', forced: v.forced });
  }

  // `force`: also with NBD clients connected, which are cut. The HA
  // conductor and a stopping daemon force; `tandem replica secondary` does
  // not, as DRBD refuses to demote a device held open.
  async demote(force = true): Promise<void> {
    if (this.role === 'Secondary') return;
    const clients = this.export.clients;
    if (clients > 0 && !force) {
      throw new TandemError('DEMOTE_REFUSED', `${this.cfg.name}: ${clients} NBD client(s) connected, so the volume is in use; stop them first, or --force cuts them`);
    }
    if (clients > 0) this.log.warn(`${this.cfg.name}: becoming Secondary with ${clients} NBD client(s) connected: they are cut`);
    await this.export.stop(); // clients go first: nothing new arrives
    await this.writes.drained();
    // A failed flush does not keep us Primary with no export (no peer could take over): we step down, and
    // what the disk may have lost comes back from the peers.
    const lost = await this.flush().then(() => null, (e: unknown) => (e as Error).message);
    this.role = 'Secondary';
    this.refusal.clear('Secondary: the peer\'s data comes by resync');
    this.record.lastRole = 'Secondary';
    // Not after a failed image flush this run: writes it lost would not be resynced (stop() says so).
    this.record.cleanShutdown = this.disk.flushFailure === null;
    if (lost !== null) this.lostOwnWrites(lost);
    await this.save();
    this.broadcastState();
    if (lost !== null) for (const s of this.peers.values()) s.reconnect('our image flush failed: the logged extents resync from the peer');
    this.log.info(`${this.cfg.name}: Secondary`);
    this.emit('replica.role', { volume: this.cfg.name, role: 'Secondary' });
  }

  // The image flush failed as we stepped down: writes in the logged extents may be in the page cache only
  // (Linux marks them clean), as after a Secondary's crash (volume-open.ts): marked towards every peer, whose
  // copy of them wins at one generation.
  private lostOwnWrites(why: string): void {
    const extents = markActivityLogOutOfSync(this.record, { extentSize: this.record.activityLog.extentSize, extents: this.kept.leavingExtents() });
    for (const p of this.peers.keys()) this.record.staleBitsFor.add(p);
    this.log.error(`${this.cfg.name}: the image flush failed as this node stepped down (${why}): Secondary anyway, so a peer can take over; the logged extents (${extents} bit(s) newly set) resync from the peers`);
  }

  // As a new Primary: a lost Primary's last extents resync from us (reconcile.ts).
  reconcile(peer: string): void {
    this.reconciliation.reconcile(peer);
  }

  // `invalidate`: our data is replaced by a full sync from a peer.
  async invalidate(): Promise<void> {
    checkInvalidate(this.cfg.name, this.role, this.peers.values());
    this.diskState = 'Inconsistent';
    this.invalidations++;
    // Every block counts as missing: a peer lagging behind us must not resync only its own bits.
    markAllOutOfSync(this.record);
    await this.save();
    // Every link (none is in its handshake: invalidate-check.ts refuses that) connects again to resync.
    for (const s of this.peers.values()) s.reconnect('invalidate: full resync from the peer');
  }

  // `outdate` (drbdadm outdate): what a fence-peer handler runs here for a Primary elsewhere.
  async outdate(by: string | null = null): Promise<void> {
    await outdateVolume(this.cfg.name, this, this.peers.values(), by, () => this.setDisk('Outdated'));
  }

  // A disk state change that peers and restarts must see.
  private async setDisk(disk: DiskState): Promise<void> {
    this.diskState = disk;
    await this.save();
    this.broadcastState();
  }

  // `discard-my-data`: at the next connect, a split brain resolves against this node.
  discardMyData(): void {
    armDiscardMyData(this.cfg.name, this.role, this.peers.values(), this.log);
    this.connect();
  }

  verify(): void {
    const ready = [...this.peers.values()].filter((s) => s.connected && s.replication === 'Established');
    if (ready.length === 0) throw new TandemError('VERIFY_REFUSED', `${this.cfg.name}: no peer is Connected and Established (${this.peerSummary()})`);
    for (const s of ready) {
      // The hashes travel in the Primary's write stream, so only the Primary (or a pair of Secondaries) sees one generation.
      if (s.peerRole === 'Primary') throw new TandemError('VERIFY_REFUSED', `${this.cfg.name}: ${s.name} is Primary; run verify there`);
    }
    for (const s of ready) s.verify();
  }

  private peerSummary(): string {
    return [...this.peers.values()].map((s) => `${s.name} ${s.connection}/${s.replication}`).join(', ');
  }

  // ---- VolumeHost ----

  stateFor(peer: string): PeerState {
    const changedBlocks = this.bitmapFor(peer).countSet();
    // Bits gone some other way (a resync cut after its last block, a verify's marks later): not stale any more.
    if (changedBlocks === 0) this.record.staleBitsFor.delete(peer);
    const lostPrimaryBlocks = this.reconciliation.lostPrimaryBlocks(peer);
    return {
      role: this.role, disk: this.diskState, generations: this.generations, size: this.cfg.size, blockSize: this.cfg.blockSize,
      protocol: this.cfg.protocol, changedBlocks, discardMyData: this.peers.get(peer)?.discardMine === true,
      feeds: this.feedsFor(peer), ...(this.bitsStale(peer) ? { staleBits: true } : {}), ...(lostPrimaryBlocks > 0 ? { lostPrimaryBlocks } : {}),
    };
  }

  feedsFor(peer: string): Feed[] {
    return feedsOf(this.peers.values(), peer);
  }

  feedsChanged(peer: string): void {
    if (this.feedsTold.changed(this.peers.values())) this.broadcastState(peer);
  }

  bitmapFor(peer: string): Bitmap {
    return this.kept.bitmapFor(peer);
  }

  async markOutOfSync(peer: string, offset: number, length: number): Promise<void> {
    this.bitmapFor(peer).setRange(offset, length);
    this.reconciliation.changed(peer, offset, length);
    this.kept.bitsSet(offset, length);
    // Our Secondaries mark it too, so whichever of them is Primary next resyncs `peer` by bitmap (followPrimary).
    if (this.role === 'Primary') for (const s of this.peers.values()) if (s.name !== peer) s.tellMissed(peer, offset, length);
    // The first change a peer misses starts a new generation; its bitmap UUID is where the peer stands.
    if (this.role === 'Primary' && splitsNow(this.generations, peer)) {
      this.generations = onFirstWriteWhileDisconnected(this.generations, peer);
      this.log.info(`${this.cfg.name}: ${peer} misses writes: new generation ${this.generations.current}`);
      await this.save();
      this.broadcastState();
    }
  }

  freezeWrites(): Promise<() => void> {
    return this.writes.freeze();
  }

  async connectedInSync(peer: string, peerDisk: DiskState): Promise<void> {
    const g = onConnectedAndSynced(this.generations, peer);
    const disk = diskWhenInSync(this.diskState, peerDisk);
    const stale = this.record.staleBitsFor.delete(peer); // in sync: no bits either way
    if (g === this.generations && disk === this.diskState && !stale) return;
    this.generations = g;
    if (disk !== this.diskState) return this.setDisk(disk);
    await this.save();
  }

  async resyncStarted(peer: string, direction: 'SyncSource' | 'SyncTarget', blocks: Bitmap, peerCurrent: string): Promise<void> {
    this.bitmapFor(peer).merge(blocks);
    if (direction === 'SyncTarget') {
      this.diskState = 'Inconsistent';
      // Our data now changes in ways our bitmaps for third peers do not track: no resync may rely on them,
      // also if this one is cut off and we are promoted by force (the end of the resync drops them too).
      this.generations = withoutBitmapEntries(this.generations, [...this.peers.keys()].filter((p) => p !== peer));
    } else this.generations = onResyncStarted(this.generations, peer, peerCurrent);
    await this.save();
  }

  async resyncProgress(peer: string, ranges: readonly SyncedRange[]): Promise<void> {
    const invalidations = this.invalidations;
    await this.disk.flush();
    // Promoted (forced) meanwhile: these bits may track our own writes now, so they stay.
    if (this.role === 'Primary') return;
    // Invalidated meanwhile: every block must move again, also those this checkpoint covered.
    if (this.invalidations !== invalidations) return;
    const b = this.bitmapFor(peer);
    for (const r of ranges) b.clearRange(r.offset, r.length);
    if (b.countSet() === 0) this.record.staleBitsFor.delete(peer);
    await this.save();
  }

  async resyncFinished(peer: string, asTarget: boolean, source: Generations, sourceDisk: DiskState): Promise<void> {
    this.generations = asTarget ? onResyncFinished(this.generations, peer, { asTarget: true, source }) : onResyncFinished(this.generations, peer, { asTarget: false });
    this.clearBits(peer);
    if (asTarget) {
      this.diskState = diskAfterResync(sourceDisk);
      this.thirdPeers.syncedFrom(peer, source);
    }
    await this.save();
    this.broadcastState(peer);
  }

  followPrimary(primary: string, state: PeerState, forwarded: boolean): Promise<void> {
    return this.thirdPeers.follow(primary, state, forwarded);
  }

  thirdPeerMissed(primary: string, peer: string, offset: number, length: number): Promise<void> {
    this.reconciliation.changed(peer, offset, length);
    return this.thirdPeers.missed(primary, peer, offset, length);
  }

  beforeStream(): Promise<void> {
    return this.thirdPeers.beforeStream();
  }

  applyReceived(offset: number, length: number, write: ApplyWrite): Promise<void> | void {
    return this.secondaryLog.apply(offset, length, write);
  }

  primaryLost(peer: string): Promise<void> {
    return this.reconciliation.primaryLost(peer);
  }

  async persist(): Promise<void> {
    await this.save();
  }

  // The activity log's extents up to epoch `need` are on disk (volume-record.ts).
  logActivity(need: number): Promise<void> {
    return this.kept.logActivity(need);
  }

  standAlone(peer: string): void {
    void this.links.stopDialing(peer);
  }

  peerDataNewer(peer: string, why: string | null): void {
    this.refusal.decided(peer, why);
  }

  writesRefused(): Error | null {
    return this.refusal.error();
  }

  peerLost(peer: PeerSession, lastDisk: DiskState | null): void {
    this.fencing.peerLost(peer, this.role, lastDisk, this.diskState);
  }

  bitsStale(peer: string): boolean {
    return this.record.staleBitsFor.has(peer) && this.bitmapFor(peer).countSet() > 0;
  }

  // The stale mark (record.staleBitsFor) goes with the bits: bits set later for that peer are not our crash's.
  private clearBits(peer: string): void {
    this.bitmapFor(peer).clearAll();
    this.record.staleBitsFor.delete(peer);
  }

  private broadcastState(except?: string): void {
    for (const s of this.peers.values()) if (s.name !== except) s.sendState();
  }

  private save(): Promise<void> {
    return this.kept.save();
  }

  // ---- Application I/O (the NBD backend) ----

  // The application I/O path: what the NBD server serves (tests drive it directly).
  io(): BlockBackend {
    return {
      size: this.cfg.size,
      readOnly: false,
      flushCoversAllConnections: true, // flush covers every completed write, whichever client sent it
      read: (o, l) => this.disk.read(o, l),
      write: (o, d, fua) => this.writes.submit(o, d, d.length, fua),
      writeNow: (o, d, fua, done) => this.writes.submitNow(o, d, fua, done),
      writeZeroes: (o, l, fua) => this.writes.submit(o, null, l, fua),
      trim: (o, l, fua) => this.disk.trim(o, l, fua), // a hint: nothing is discarded, so nothing to replicate
      flush: () => this.flush(),
      close: async () => {},
    };
  }

  // FLUSH: local stable storage, and under protocol C the peers' too.
  flush(): Promise<void> {
    return this.writes.flush();
  }

  // ---- Status ----

  status(): VolumeStatus {
    return {
      name: this.cfg.name,
      type: 'block',
      role: this.role,
      disk: this.diskState,
      protocol: this.cfg.protocol,
      size_bytes: this.cfg.size,
      device: this.cfg.device,
      nbd: this.export.status(),
      generations: generationsStatus(this.generations),
      suspended: this.diskError !== null,
      peers: [...this.peers.values()].map((s) => s.status()),
    };
  }
}
