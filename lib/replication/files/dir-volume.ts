// A replicated directory volume (issue 4): a watched tree that the Primary
// keeps identical on every peer, over the same kind of authenticated link,
// with the same generation identifiers, connect decision and after-sb
// policies as block volumes. On the Primary, watcher events feed each
// connected peer's sender, and count against absent peers (the first such
// change starts a new generation); on a Secondary, they are checked for
// divergence.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TandemError } from '../../errors.js';
import { formatHostPort } from '../../config/names.js';
import type { DirectoryVolumeConfig } from '../../config/types.js';
import type { AfterSbPolicies } from '../after-sb.js';
import {
  bitmapEntry, onConnectedAndSynced, onFirstWriteWhileDisconnected, onPeerStartedGeneration, onResyncFinished, type Generations,
} from '../generations.js';
import { diskAfterResync, diskAtOpen, diskWhenInSync, fencedAtOpen } from '../fencing.js';
import type { DiskState } from '../states.js';
import { armDiscardMyData, dropDiscardMyData } from '../volume/discard-my-data.js';
import { fencedPeersOf, PeerFencing } from '../volume/fence-peers.js';
import { checkInvalidate } from '../volume/invalidate-check.js';
import { feedsOf, FeedsTold, type Feed } from '../volume/one-source.js';
import type { VolumeLog } from '../volume/host.js';
import { VolumeLinks } from '../volume/links.js';
import { outdateVolume } from '../volume/outdate.js';
import { promoteAgreed } from '../volume/promote-agreement.js';
import { PromoteArbiter } from '../volume/promote-arbiter.js';
import { missesWrites, promotion } from '../volume/promote-check.js';
import type { VolumeDeps } from '../volume/volume.js';
import type { PeerState } from '../volume/wire.js';
import { cleanTemps } from './apply.js';
import type { DirHost } from './dir-host.js';
import { freshDirMeta, loadDirMeta, saveDirMeta, type DirMeta } from './dir-meta.js';
import { DirPeerSession } from './dir-peer.js';
import type { DirectoryVolumeStatus, FileProblem } from './dir-status.js';
import { DivergenceWatch } from './divergence.js';
import { compileExclude, type ExcludeMatcher } from './exclude.js';
import { generationsStatus } from '../generations-json.js';
import { LackingChanges } from './lacking.js';
import { buildManifest } from './manifest.js';
import type { ReceiverEvents } from './receiver.js';
import type { SenderEvents } from './sender.js';
import { TreeWatcher } from './watcher.js';

const SWEEP_MS = 30_000; // the Primary compares its tree with each peer's view this often (missed events)
const SAVE_DELAY_MS = 1000; // change counts of absent peers are saved at most this often
const RECENT_PROBLEMS = 20;

export class DirectoryVolume implements DirHost {
  readonly peers = new Map<string, DirPeerSession>();
  readonly exclude: ExcludeMatcher;
  role: 'Primary' | 'Secondary' = 'Secondary';
  readonly promoteArbiter: PromoteArbiter;
  private readonly fencing: PeerFencing;
  private readonly links: VolumeLinks;
  private readonly watcher: TreeWatcher;
  private readonly divergence: DivergenceWatch;
  private readonly changed = new Map<string, Set<string>>();
  private readonly problems = { count: 0, recent: [] as FileProblem[] };
  private sweepTimer: NodeJS.Timeout | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private watching = false;
  private saving: Promise<void> = Promise.resolve();
  private walkProblems = new Set<string>();
  // As Secondary: changes the Primary sent that could not be applied here (ENOSPC ...), with why, until
  // they land. In memory only: after a restart the connect's compare resends whatever is missing.
  private readonly lacking: LackingChanges;
  private readonly feedsTold = new FeedsTold(); // our feeds as the peers last heard them

  private constructor(readonly cfg: DirectoryVolumeConfig, private readonly meta: DirMeta, private readonly deps: VolumeDeps) {
    this.exclude = compileExclude(cfg.exclude);
    this.lacking = new LackingChanges(meta.lacking, () => this.saveNow(), () => this.saveSoon());
    this.promoteArbiter = new PromoteArbiter(deps.node, 2 * cfg.timeoutMs); // a granted peer has this long to become Primary
    this.fencing = new PeerFencing({ volume: cfg.name, node: deps.node, policy: cfg.fencing, command: cfg.fencePeer, run: deps.runHandler, log: deps.log, emit: deps.emit, save: () => this.save() });
    const policies = cfg.afterSb as unknown as AfterSbPolicies;
    for (const p of cfg.peers) this.peers.set(p.name, new DirPeerSession(p.name, formatHostPort(p.address), this, policies));
    for (const [name, disk] of meta.fenced) this.peers.get(name)?.rememberFenced(disk);
    this.links = new VolumeLinks({ node: deps.node, secret: deps.secret, ...(deps.tls ? { tls: deps.tls } : {}), congestionControl: deps.congestionControl, log: deps.log, cfg, sessions: this.peers });
    this.watcher = new TreeWatcher({
      root: cfg.path, exclude: this.exclude,
      onChange: (path, at) => this.onChange(path, at),
      onError: (m) => this.log.warn(`${cfg.name}: watcher: ${m}`),
    });
    this.divergence = new DivergenceWatch(cfg.path, (path, detail) => {
      this.log.warn(`${cfg.name}: divergence on this Secondary: "${path}": ${detail} (not by replication; the Primary's copy replaces it at the next compare)`);
      this.emit('replica.divergence', { volume: cfg.name, path, detail });
    });
  }

  get node(): string { return this.deps.node; }
  get log(): VolumeLog { return this.deps.log; }
  get generations(): Generations { return this.meta.generations; }
  get diskState(): DiskState { return this.meta.disk; }

  emit(type: string, fields: Record<string, unknown>): void {
    this.deps.emit(type, fields);
  }

  // Creates the tree when missing and removes temporary files a crash left.
  static async open(cfg: DirectoryVolumeConfig, deps: VolumeDeps): Promise<DirectoryVolume> {
    await mkdir(cfg.path, { recursive: true, mode: 0o755 });
    await mkdir(dirname(cfg.metadata), { recursive: true, mode: 0o700 });
    const stale = await cleanTemps(cfg.path);
    if (stale.removed.length > 0) deps.log.warn(`${cfg.name}: removed ${stale.removed.length} temporary file(s) left by an interrupted apply`);
    for (const s of stale.skipped) deps.log.warn(`${cfg.name}: not looked into for temporary files: ${s}`);
    const meta = (await loadDirMeta(cfg.metadata)) ?? freshDirMeta();
    // Still Primary in the record: it stopped without demoting (a crash), and its last changes may be on no
    // peer. Each peer counts as lacking some, as block volumes mark their activity log, so at one generation
    // this tree is the source of the compare, not a Secondary's older one that would delete them.
    if (meta.lastRole === 'Primary') {
      for (const p of cfg.peers) meta.changed[p.name] = Math.max(meta.changed[p.name] ?? 0, 1);
      deps.log.warn(`${cfg.name}: was Primary when it stopped (a crash?): its last changes may be on no peer; at one generation its tree is the source of the next compare`);
    }
    if (meta.lacking !== null) deps.log.warn(`${cfg.name}: lacked ${meta.lacking.count} change(s) from its Primary when it stopped (first: ${meta.lacking.first}): not promoted without --force until a compare with a Primary is done`);
    meta.lastRole = 'Secondary';
    for (const k of Object.keys(meta.changed)) if (!cfg.peers.some((p) => p.name === k)) delete meta.changed[k];
    const known = fencedAtOpen(meta.fenced, cfg.peers.map((p) => p.name));
    meta.fenced = known.fenced;
    meta.disk = diskAtOpen(meta.disk, cfg.fencing, known.every);
    const v = new DirectoryVolume(cfg, meta, deps);
    await v.save();
    return v;
  }

  async start(): Promise<void> {
    await this.links.listen();
    await this.watcher.start();
    this.watching = true;
    this.divergence.reset((await buildManifest(this.cfg.path, { exclude: this.exclude, hash: false })).entries);
    this.connect();
    this.log.info(`${this.cfg.name}: directory ${this.cfg.path} replication listening on ${this.links.address}, protocol ${this.cfg.protocol}, disk ${this.meta.disk}`);
  }

  // `tandem replica connect` / `disconnect`.
  connect(): void {
    this.links.connect();
  }

  async disconnect(): Promise<void> {
    await this.links.disconnect();
  }

  async stop(): Promise<void> {
    if (this.role === 'Primary') await this.demote().catch((e: unknown) => this.log.error(`${this.cfg.name}: demote at stop: ${(e as Error).message}`));
    await this.links.disconnectForStop();
    await this.links.stop();
    this.fencing.stop();
    this.watching = false;
    await this.watcher.stop();
    this.divergence.pause();
    if (this.saveTimer) clearTimeout(this.saveTimer);
    await this.save().catch((e: unknown) => this.log.error(`${this.cfg.name}: saving metadata at stop: ${(e as Error).message}`));
  }

  // ---- Roles ----

  async promote(force: boolean): Promise<void> {
    if (this.role === 'Primary') return;
    if (this.lacking.any && !force) {
      throw new TandemError('PROMOTE_REFUSED', `${this.cfg.name}: ${this.lacking.count} change(s) from the Primary could not be applied here (first: ${this.lacking.first}); promoted now, this tree would lose them: free what stops them (they are tried again at the next connect), or promote with --force`);
    }
    const fencingSelf = { disk: () => this.meta.disk, setDisk: (d: DiskState) => this.setDisk(d) };
    let before: Pick<DirMeta, 'generations' | 'disk' | 'lastRole'> | null = null;
    const v = await promoteAgreed({
      volume: this.cfg.name, arbiter: this.promoteArbiter, peers: this.peers.values(), timeoutMs: this.cfg.timeoutMs,
      isPrimary: () => this.role === 'Primary',
      fence: (silent) => this.fencing.beforePromote(this.peers.values(), fencingSelf, force, silent),
      check: () => promotion(this.cfg.name, this.meta.disk, force, this.meta.generations, this.peers.values()),
      commit: async (p) => {
        before = { generations: this.meta.generations, disk: this.meta.disk, lastRole: this.meta.lastRole };
        this.meta.generations = p.generations;
        this.meta.disk = 'UpToDate';
        this.meta.lastRole = 'Primary';
        this.role = 'Primary';
        await this.save();
        dropDiscardMyData(this.peers.values()); // last: an undone promotion keeps an armed --discard-my-data
      },
      // Not Primary after all (the metadata could not be written): as we were.
      undo: () => {
        if (before === null) return;
        Object.assign(this.meta, before);
        this.role = 'Secondary';
      },
    });
    if (v === null) return;
    if (this.lacking.any) this.log.warn(`${this.cfg.name}: promoted with --force: ${this.lacking.count} change(s) from the former Primary that never landed here are given up (first: ${this.lacking.first})`);
    this.lacking.clear(); // forced: this tree is the data now
    // A demoted Primary's last changes still being applied here land before ours (and before the compare reads the tree).
    await this.othersApplying('');
    this.divergence.pause();
    for (const s of this.peers.values()) s.roleChanged();
    this.sweepTimer = setInterval(() => void this.sweep().catch((e: unknown) => this.log.warn(`${this.cfg.name}: sweep: ${(e as Error).message}`)), SWEEP_MS);
    this.log.info(`${this.cfg.name}: Primary${v.forced ? ' (forced)' : ''}, generation ${this.meta.generations.current}`);
    this.emit('replica.role', { volume: this.cfg.name, role: 'Primary', forced: v.forced });
  }

  // Changes already made go out first (bounded by the peer timeout), then we take none of our own.
  // `_force`: as for block volumes; a tree has no clients to cut.
  async demote(_force = true): Promise<void> {
    if (this.role === 'Secondary') return;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const flushed = await Promise.race([
      this.flush().then(() => null, (e: Error) => e.message),
      new Promise<string>((r) => setTimeout(() => r(`not every change was acknowledged within ${this.cfg.timeoutMs} ms`), this.cfg.timeoutMs)),
    ]);
    if (flushed !== null) this.log.warn(`${this.cfg.name}: stepping down, but ${flushed}; the peers' copies are compared at the next connect`);
    this.role = 'Secondary';
    this.meta.lastRole = 'Secondary';
    await this.save();
    for (const s of this.peers.values()) s.roleChanged();
    if (this.watching) this.divergence.reset((await buildManifest(this.cfg.path, { exclude: this.exclude, hash: false })).entries);
    this.log.info(`${this.cfg.name}: Secondary`);
    this.emit('replica.role', { volume: this.cfg.name, role: 'Secondary' });
  }

  // `tandem replica flush`: returns once every change made before the call is replicated to every
  // connected peer as the protocol says (C: applied and fsynced there; A: sent).
  async flush(): Promise<void> {
    if (this.role !== 'Primary') throw new TandemError('FLUSH_REFUSED', `${this.cfg.name} is Secondary: only the Primary sends changes`);
    await this.sweep();
    await Promise.all([...this.peers.values()].map((s) => s.sender?.flush()));
  }

  // Compares the tree with each peer's view (size, mtime, mode, type): what inotify did not report is sent too.
  private async sweep(): Promise<void> {
    if (this.watching) await this.watcher.checkRoot();
    const live = [...this.peers.values()].filter((s) => s.live);
    if (live.length === 0) return;
    const m = await buildManifest(this.cfg.path, { exclude: this.exclude, hash: false });
    for (const s of live) s.sender?.sweep(m.entries);
    // Entries the walk cannot replicate (names that are not UTF-8, FIFOs, unreadable directories): reported once each.
    const now = new Set(m.problems.map((p) => `${p.code} ${p.path}`));
    for (const p of m.problems) if (!this.walkProblems.has(`${p.code} ${p.path}`)) this.problem(p.path, p.code, p.message);
    this.walkProblems = now;
  }

  async invalidate(): Promise<void> {
    checkInvalidate(this.cfg.name, this.role, this.peers.values());
    this.meta.disk = 'Inconsistent';
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
    this.meta.disk = disk;
    await this.save();
    this.broadcastState();
  }

  discardMyData(): void {
    armDiscardMyData(this.cfg.name, this.role, this.peers.values(), this.log);
    this.connect();
  }

  // Online verify of a tree: the Primary compares content hashes with each peer's again; what differs is sent.
  verify(): void {
    if (this.role !== 'Primary') throw new TandemError('VERIFY_REFUSED', `${this.cfg.name}: run verify on the Primary; it compares its tree with every peer's`);
    const live = [...this.peers.values()].filter((s) => s.live);
    if (live.length === 0) throw new TandemError('VERIFY_REFUSED', `${this.cfg.name}: no peer is connected`);
    for (const s of live) s.verify();
  }

  // ---- Changes ----

  private onChange(path: string, at: number): void {
    if (this.role !== 'Primary') return this.divergence.changed(path);
    for (const s of this.peers.values()) {
      if (s.live) s.sender?.touch(path, at);
      else void this.markChanged(s.name, [path]).catch((e: unknown) => this.log.error(`${this.cfg.name}: ${(e as Error).message}`));
    }
  }

  async markChanged(peer: string, paths: readonly string[]): Promise<void> {
    let set = this.changed.get(peer);
    if (set === undefined) this.changed.set(peer, (set = new Set()));
    for (const p of paths) set.add(p);
    this.meta.changed[peer] = Math.max(this.meta.changed[peer] ?? 0, set.size);
    // The first change a peer misses starts a new generation; its bitmap UUID is where the peer stands.
    if (this.role === 'Primary' && !this.meta.generations.fresh && bitmapEntry(this.meta.generations, peer) === undefined) {
      this.meta.generations = onFirstWriteWhileDisconnected(this.meta.generations, peer);
      this.log.info(`${this.cfg.name}: ${peer} misses changes: new generation ${this.meta.generations.current}`);
      await this.save();
      // `peer` too, when its link is paused: that link decides again (a close, so fencing hears the peer lags), as for block volumes.
      this.broadcastState();
      return;
    }
    this.saveSoon();
  }

  changedCount(peer: string): number {
    return this.meta.changed[peer] ?? 0;
  }

  private problem(path: string, code: string, message: string): void {
    this.problems.count++;
    this.problems.recent.push({ path, code, message, at: new Date().toISOString() });
    if (this.problems.recent.length > RECENT_PROBLEMS) this.problems.recent.shift();
    this.log.warn(`${this.cfg.name}: "${path}": ${code}: ${message}`);
    this.emit('replica.file-problem', { volume: this.cfg.name, path, code, message });
  }

  receiverEvents(peer: string, synced: () => Promise<void>): ReceiverEvents {
    return {
      applied: (path, entry) => {
        this.lacking.applied(path);
        this.divergence.applied(path, entry);
      },
      busy: (path, on) => this.divergence.setBusy(path, on),
      scanned: (m) => this.divergence.reset(m),
      // The compare's changes all landed: nothing the Primary sent is missing here.
      synced: async () => {
        this.lacking.clear();
        await synced();
      },
      failed: (path, code, message) => {
        this.lacking.failed(path, `${code} from ${peer}`);
        this.problem(path, code, `applying the change from ${peer}: ${message}`);
      },
    };
  }

  senderEvents(peer: string, reconciled: (changes: number) => Promise<void>): SenderEvents {
    return {
      replicated: () => undefined,
      failed: (path, code, message) => this.problem(path, code, `replicating to ${peer}: ${message}`),
      reconciled,
    };
  }

  // ---- DirHost: what the connect handshake changes ----

  stateFor(peer: string): PeerState {
    return {
      role: this.role, disk: this.meta.disk, generations: this.meta.generations, size: 0, blockSize: 0,
      protocol: this.cfg.protocol, changedBlocks: this.changedCount(peer), discardMyData: this.peers.get(peer)?.discardMine === true,
      feeds: this.feedsFor(peer),
    };
  }

  feedsFor(peer: string): Feed[] {
    return feedsOf(this.peers.values(), peer);
  }

  feedsChanged(peer: string): void {
    if (!this.feedsTold.changed(this.peers.values())) return;
    this.broadcastState(peer);
  }

  othersApplying(peer: string): Promise<void> {
    return Promise.all([...this.peers.values()].filter((s) => s.name !== peer).map((s) => s.applying())).then(() => undefined);
  }

  async connectedInSync(peer: string, peerDisk: DiskState): Promise<void> {
    const g = onConnectedAndSynced(this.meta.generations, peer);
    const disk = diskWhenInSync(this.meta.disk, peerDisk);
    if (g === this.meta.generations && disk === this.meta.disk) return;
    this.meta.generations = g;
    if (disk !== this.meta.disk) return this.setDisk(disk);
    await this.save();
  }

  async resyncTargetStarted(_peer: string): Promise<void> {
    this.meta.disk = 'Inconsistent';
    await this.save();
  }

  async resyncFinished(peer: string, asTarget: boolean, source: Generations, sourceDisk: DiskState): Promise<void> {
    this.meta.generations = asTarget ? onResyncFinished(this.meta.generations, peer, { asTarget: true, source }) : onResyncFinished(this.meta.generations, peer, { asTarget: false });
    this.changed.delete(peer);
    delete this.meta.changed[peer];
    if (asTarget) this.lacking.clear();
    if (asTarget) this.meta.disk = diskAfterResync(sourceDisk);
    await this.save();
  }

  async followPeerGeneration(peer: string, current: string): Promise<void> {
    const absent = [...this.peers.values()].filter((s) => missesWrites(s) && s.name !== peer).map((s) => s.name);
    this.meta.generations = onPeerStartedGeneration(this.meta.generations, current, absent);
    await this.save();
    // Our peers see where we stand (a paused link decides again), as block volumes do.
    this.broadcastState();
  }

  standAlone(peer: string): void {
    void this.links.stopDialing(peer);
  }

  persist(): Promise<void> {
    return this.save();
  }

  peerLost(peer: DirPeerSession, lastDisk: DiskState | null): void {
    this.fencing.peerLost(peer, this.role, lastDisk, this.meta.disk);
  }

  // Our STATE to every running link (a paused one decides again when we changed).
  private broadcastState(except?: string): void {
    for (const s of this.peers.values()) if (s.name !== except) s.sendState();
  }

  // A save nobody waits for: a failure is logged.
  private saveNow(): void {
    void this.save().catch((e: unknown) => this.log.error(`${this.cfg.name}: saving metadata: ${(e as Error).message}`));
  }

  private saveSoon(): void {
    if (this.saveTimer !== null) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.saveNow();
    }, SAVE_DELAY_MS);
  }

  // One save at a time, in call order: each writes the record as it is when its turn comes.
  private save(): Promise<void> {
    const next = this.saving.catch(() => undefined).then(() => {
      this.meta.fenced = fencedPeersOf(this.peers.values());
      this.meta.lacking = this.lacking.record();
      return saveDirMeta(this.cfg.metadata, this.meta);
    });
    this.saving = next;
    return next;
  }

  status(): DirectoryVolumeStatus {
    return {
      name: this.cfg.name,
      type: 'directory',
      role: this.role,
      disk: this.meta.disk,
      protocol: this.cfg.protocol,
      path: this.cfg.path,
      generations: generationsStatus(this.meta.generations),
      watcher: this.watching ? { events: this.watcher.events, errors: this.watcher.errors } : null,
      divergence: { count: this.divergence.count, recent: [...this.divergence.recent] },
      problems: { count: this.problems.count, recent: [...this.problems.recent] },
      lacking: { count: this.lacking.count, first: this.lacking.first },
      peers: [...this.peers.values()].map((s) => s.status()),
    };
  }
}
