// One configured peer of a directory volume: its authenticated link, the
// connect handshake (STATE both ways, then the same decideConnect as block
// volumes: generations, split brain, after-sb policies), and then the stream:
// as source (Primary, or SyncSource) a DirSender, as target a DirReceiver.
import type { AfterSbPolicies } from '../after-sb.js';
import type { Frame } from '../link/frame.js';
import type { LinkCloseInfo, PeerLink } from '../link/peer-link.js';
import { changedForPause, decideConnect, decideWithFeedsNow, type ConnectOutcome } from '../volume/handshake-decision.js';
import { pauseReason } from '../volume/one-source.js';
import { decodeState, encodeState, PAUSE_INTO_PRIMARY_SINCE, type PeerState } from '../volume/wire.js';
import { linkEndLine, PROMOTE_FRAMES, PeerSessionBase } from '../volume/session-base.js';
import type { DirHost } from './dir-host.js';
import type { DirPeerStatus } from './dir-status.js';
import { DirReceiver } from './receiver.js';
import { DirSender } from './sender.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;
const MAX_BUFFERED_BYTES = 64 << 20; // small files gathered in memory on a target, waiting to be applied
const ACK_CHECK_MS = 250;
const ACK_FLOOR_BYTES_PER_S = 4 << 20; // a slow disk: writing and fsyncing what is unacknowledged may take this long

// How long a peer may leave changes unacknowledged: the volume's timeout, plus the time a slow disk takes to write
// and fsync what it has been sent. Pure, for the tests.
export function ackAllowanceMs(timeoutMs: number, bytesUnacked: number): number {
  return timeoutMs + Math.round((bytesUnacked / ACK_FLOOR_BYTES_PER_S) * 1000);
}

export interface AckWait {
  now: number;
  lastAckAt: number; // the last acknowledgement, or when the wait began
  timeoutMs: number;
  outstanding: number; // changes sent and not acknowledged
  bytesUnacked: number;
  comparing: boolean; // the peer hashes its tree for a compare or verify: it answers nothing sent meanwhile
}

// Why the peer is dropped, or null: nothing awaits an answer, it is hashing, or it is within its allowance.
export function ackOverdue(w: AckWait): string | null {
  if (w.outstanding === 0 || w.comparing) return null;
  const t = ackAllowanceMs(w.timeoutMs, w.bytesUnacked);
  const waited = w.now - w.lastAckAt;
  return waited > t ? `no acknowledgement for ${waited} ms (timeout ${w.timeoutMs} ms, plus ${t - w.timeoutMs} ms for ${w.bytesUnacked} bytes unacknowledged)` : null;
}
const SOURCE_FRAMES = new Set(['DIR_SCAN', 'DIR_OP', 'DIR_FILE', 'DIR_DATA', 'DIR_END', 'DIR_SYNCED']);
const TARGET_FRAMES = new Set(['DIR_MANIFEST', 'DIR_SIGS', 'DIR_ACK']);

export class DirPeerSession extends PeerSessionBase {
  private readonly files = { sent: 0, received: 0 }; // totals of closed links
  private sent: PeerState | null = null;
  sender: DirSender | null = null;
  private receiver: DirReceiver | null = null;
  private lastReceiver: Promise<void> = Promise.resolve();
  private lastAckAt = 0;
  private resyncStarted = 0;

  constructor(name: string, address: string, private readonly host: DirHost, private readonly policies: AfterSbPolicies) {
    super(name, address, host);
  }

  // Our applying of this peer's changes: what is queued and running now (a closed link's too) is done.
  applying(): Promise<void> {
    return this.receiver?.idle() ?? this.lastReceiver;
  }

  // Changes made now reach this peer through the stream.
  get live(): boolean {
    return this.sender !== null && this.link?.state === 'established';
  }

  adopt(link: PeerLink): boolean {
    if (link.state !== 'established') return false; // closed between authentication and here: we would send on it
    if (!this.claim(link)) return false;
    this.background(link.closed.then((info) => this.onClosed(link, info)), 'winding up the link');
    this.handshakeTimer = setTimeout(() => link.fail(`no STATE within ${HANDSHAKE_TIMEOUT_MS} ms`), HANDSHAKE_TIMEOUT_MS);
    // Our STATE may make the peer UpToDate: no saved record may call it fenced after that.
    if (this.forgotFencing) this.background(this.host.persist().then(() => this.hello(link)), 'saving that the peer is no longer fenced', link);
    else this.hello(link);
    return true;
  }

  private hello(link: PeerLink): void {
    if (this.link !== link || link.state !== 'established') return;
    this.sent = this.host.stateFor(this.name);
    link.send({ type: 'STATE', payload: encodeState(this.sent) });
    // Ours is sent before the peer's queued STATE is looked at: the decision needs both.
    link.deliver((f) => this.onLinkFrame(link, f));
  }

  // Frames are handled as they are decoded, so those before a close (the peer's STATE before its split-brain ERROR) come first.
  private onLinkFrame(link: PeerLink, f: Frame): void {
    if (this.link !== link) return;
    const why = this.onFrame(link, f);
    if (why !== null) {
      this.host.log.warn(`${this.host.cfg.name}: dropping the link to ${this.name}: ${why}`);
      this.host.emit('replica.protocol-error', { volume: this.host.cfg.name, peer: this.name, detail: why });
      return link.fail(why);
    }
    // Backpressure: a target that cannot keep up (or holds much file data in memory) stops reading the socket.
    const r = this.receiver;
    if (r !== null && (r.backlog > 512 || r.bufferedBytes > MAX_BUFFERED_BYTES)) link.pauseUntil(r.idle());
  }

  // Returns why the link must drop, or null.
  private onFrame(link: PeerLink, f: Frame): string | null {
    if (PROMOTE_FRAMES.has(f.type)) return this.onPromoteFrame(link, f);
    if (this.phase === 'handshake') {
      if (f.type !== 'STATE') return `${f.type} during the connect handshake (want STATE)`;
      const s = decodeState(f.payload);
      if (!s.ok) return s.detail;
      this.peerRoleArrived(s.value.role);
      this.peerState = s.value;
      this.decide(link);
      return null;
    }
    if (f.type === 'STATE') return this.onStateUpdate(f);
    if (this.paused && (SOURCE_FRAMES.has(f.type) || TARGET_FRAMES.has(f.type))) return `${f.type} while ${this.replication}: changes wait for the other source (one source at a time)`;
    if (SOURCE_FRAMES.has(f.type)) {
      // issue 4 "Safety": changes flow from the source only; a Primary takes none.
      if (this.sender !== null || this.host.role === 'Primary') return `${f.type}: this node is the source of ${this.host.cfg.name} and takes no changes`;
      return this.receiver === null ? `${f.type} before the connection is set up` : this.receiver.handle(f);
    }
    if (TARGET_FRAMES.has(f.type)) {
      if (this.sender === null) return `${f.type}: this node is not sending changes to ${this.name}`;
      if (f.type === 'DIR_ACK') this.lastAckAt = Date.now();
      return this.sender.handle(f);
    }
    return `${f.type} is not a directory volume frame`;
  }

  private decide(link: PeerLink): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    const sent = this.sent;
    const peer = this.peerState;
    if (sent === null || peer === null) return;
    // Both ends speak one link version, so both pause data bound into a Primary, or neither does.
    const opts = { pauseIntoPrimary: (link.peer?.version ?? 0) >= PAUSE_INTO_PRIMARY_SINCE };
    const out = decideConnect(this.policies, this.host.node, sent, this.name, peer, opts);
    (out.kind === 'standalone' ? this.host.log.warn : this.host.log.info).call(this.host.log, `${this.host.cfg.name}: ${out.log}`);
    if (out.kind !== 'standalone' && link.state !== 'established') return; // gone meanwhile: the next connect decides again
    const again = decideWithFeedsNow(this.policies, this.host.node, sent, this.name, peer, this.host.feedsFor(this.name), opts);
    if (again !== null && again.kind !== out.kind) return this.reconnect(`our other links changed during the handshake (now: ${again.log}); connecting to ${this.name} again`);
    if (sent.discardMyData && out.kind !== 'paused') this.discardMine = false; // a paused connect resolves nothing yet
    if (out.kind === 'standalone') {
      if (out.peerNewer !== undefined) this.peerIsNewer(out.peerNewer);
      this.splitBrain = out.splitBrain;
      if (out.splitBrain) this.host.emit('replica.split-brain', { volume: this.host.cfg.name, peer: this.name, detail: out.log });
      return out.retry === true ? this.refuseForNow(out.log) : this.disable(out.log);
    }
    this.phase = 'running';
    this.host.emit('replica.connected', { volume: this.host.cfg.name, peer: this.name, outcome: out.kind });
    if (out.kind === 'paused') {
      // A second source (one-source.ts: an older copy of a file from one could land after the newer one from the
      // other): as for block volumes, the link stays up and moves nothing until a side changes (pausedStale).
      this.pause(out, sent, peer);
    } else {
      this.startStream(link, out, peer);
    }
    this.host.feedsChanged(this.name);
    // A promotion during the handshake changed what we told the peer: tell it again (a paused link decides again).
    if (changedForPause(sent, this.host.stateFor(this.name))) this.sendState();
  }

  private startStream(link: PeerLink, out: Exclude<ConnectOutcome, { kind: 'standalone' | 'paused' }>, peer: PeerState): void {
    this.lastAckAt = Date.now();
    this.ackTimer = setInterval(() => this.checkAcks(), ACK_CHECK_MS);
    // After every change already taken from any link: a closed link's last change must not land after a newer one from here.
    const after = Promise.all([this.lastReceiver, this.host.othersApplying(this.name)]).then(() => undefined);
    this.receiver = new DirReceiver(link, this.host.cfg.path, this.host.cfg.exclude, this.host.receiverEvents(this.name, () => this.onSynced(link)), after);
    this.resyncStarted = Date.now();
    if (out.kind === 'sync-target') {
      this.replication = 'SyncTarget';
      this.background(this.host.resyncTargetStarted(this.name), 'starting the resync', link);
    } else if (out.kind === 'sync-source') {
      this.replication = 'SyncSource';
      this.startSender(link);
    } else {
      this.replication = 'Established';
      if (out.inSync) this.background(this.host.connectedInSync(this.name, peer.disk), 'recording the connect');
      // The Primary compares trees at every connect: changes its last run had not sent yet are found.
      if (this.host.role === 'Primary') this.startSender(link);
    }
    if (this.replication !== 'Established') this.host.emit('replica.resync.started', { volume: this.host.cfg.name, peer: this.name, direction: this.replication, full: true, bytes: null });
  }

  // `tandem replica verify`: compare the trees by content hash again; what differs is sent.
  verify(): void {
    if (this.sender === null || !this.live) return;
    this.resyncStarted = Date.now();
    this.sender.rescan();
  }

  // Our role changed while connected: a new Primary becomes the source and compares trees first.
  roleChanged(): void {
    const link = this.link;
    if (link === null || this.phase !== 'running') return;
    this.sendState();
    if (this.paused) return; // our role is part of what the pause decided from: sendState connected again
    if (this.host.role === 'Primary' && this.sender === null) this.startSender(link);
    else if (this.host.role === 'Secondary' && this.sender !== null && this.replication !== 'SyncSource') this.dropSender();
  }

  // The sender's count goes into the session's first: files_sent never falls back.
  private dropSender(): void {
    this.files.sent += this.sender?.acked ?? 0;
    this.sender?.stop();
    this.sender = null;
  }

  private startSender(link: PeerLink): void {
    const c = this.host.cfg;
    this.sender = new DirSender({
      link, root: c.path, exclude: this.host.exclude, settleMs: c.settleMs, protocol: c.protocol, peer: this.name,
      log: (level, m) => this.host.log[level](`${c.name}: ${this.name}: ${m}`),
      events: this.host.senderEvents(this.name, (changes) => this.onReconciled(link, changes)),
    });
    this.sender.start();
  }

  private async onReconciled(link: PeerLink, changes: number): Promise<void> {
    if (this.link !== link) return;
    const secs = (Date.now() - this.resyncStarted) / 1000;
    this.host.log.info(`${this.host.cfg.name}: trees compared with ${this.name}: ${changes} change(s) sent in ${secs.toFixed(1)} s`);
    if (this.replication === 'SyncSource') {
      await this.host.resyncFinished(this.name, false, this.host.generations, this.host.diskState);
      if (this.link !== link) return; // a new link was decided meanwhile: its state stands
      this.replication = 'Established';
      this.host.feedsChanged(this.name);
      if (this.host.role !== 'Primary') this.dropSender();
      this.host.emit('replica.resync.finished', { volume: this.host.cfg.name, peer: this.name, changes, seconds: secs });
    } else {
      // The compare a Primary runs at every connect, or a verify.
      this.host.emit('replica.compare.finished', { volume: this.host.cfg.name, peer: this.name, changes, seconds: secs });
    }
    this.sendState();
  }

  private async onSynced(link: PeerLink): Promise<void> {
    if (this.link !== link || this.peerState === null) return;
    if (this.replication === 'SyncTarget') {
      await this.host.resyncFinished(this.name, true, this.peerState.generations, this.peerState.disk);
      if (this.link !== link) return; // a new link was decided meanwhile: its state stands
      this.replication = 'Established';
      this.host.feedsChanged(this.name);
      this.host.log.info(`${this.host.cfg.name}: resync from ${this.name} finished: ${this.host.diskState}`);
      this.sendState();
    }
  }

  sendState(): void {
    if (this.phase !== 'running' || this.link?.state !== 'established') return;
    if (this.pausedStale(this.host.stateFor(this.name))) return this.reconnect(`${this.host.node} changed since the paused connect: connecting to ${this.name} again`);
    this.link.send({ type: 'STATE', payload: encodeState(this.host.stateFor(this.name)) });
  }

  private onStateUpdate(f: Frame): string | null {
    const s = decodeState(f.payload);
    if (!s.ok) return s.detail;
    if (s.value.role === 'Primary' && this.host.role === 'Primary') return 'both sides are Primary: refusing two Primaries on one volume';
    this.peerRoleArrived(s.value.role);
    const before = this.peerState;
    this.peerState = s.value;
    if (this.paused) {
      if (this.pausedStale(this.host.stateFor(this.name))) this.reconnect(`${this.name} changed since the paused connect: connecting again`);
      return null;
    }
    const g = s.value.generations;
    const ours = this.host.generations;
    // It became Primary, so its compare and changes would flow here beside another source: connect again, then decide.
    const busy = s.value.role === 'Primary' && before?.role !== 'Primary' && this.replication === 'Established'
      ? pauseReason(this.host.node, this.host.feedsFor(this.name), this.name, []) : null;
    if (busy !== null) {
      this.reconnect(`${this.name} became Primary while ${busy}: one source at a time, connecting again later`);
      return null;
    }
    if (s.value.role !== before?.role) this.host.feedsChanged(this.name); // a Primary's stream is a feed
    // Its changes wait for what other links queued before (a demoted Primary's last ones, applied after its STATE said so).
    if (s.value.role === 'Primary' && before?.role !== 'Primary') this.receiver?.after(this.host.othersApplying(this.name));
    if (before !== null && g.current !== before.generations.current && this.replication === 'Established') {
      // The Primary began a generation because another peer is absent: we follow, we have its data.
      if (s.value.role === 'Primary' && ours.current === before.generations.current) this.background(this.host.followPeerGeneration(this.name, g.current), 'following the generation');
      else if (g.current !== ours.current && !(ours.fresh && g.fresh)) this.reconnect(`${this.name} moved to generation ${g.current} and ${this.host.node} holds ${ours.current}: connecting again to resync`);
    }
    // In step with a peer that is UpToDate now (a resync from its Consistent disk left ours Consistent): UpToDate too.
    if (this.replication === 'Established' && s.value.disk === 'UpToDate' && g.current === ours.current && this.host.diskState !== 'UpToDate') {
      this.background(this.host.connectedInSync(this.name, 'UpToDate'), 'following the peer\'s disk state');
    }
    return null;
  }

  // A peer that stops acknowledging is dropped, so it never holds changes back for long. A busy one is not:
  // the time grows with the bytes it has to write and fsync (a large file), and does not run while it hashes
  // its tree for a compare or verify (pings still find a dead peer within ping_timeout).
  private checkAcks(): void {
    const s = this.sender;
    const now = Date.now();
    if (s === null || s.outstandingCount === 0 || s.comparing) { this.lastAckAt = now; return; } // nothing awaits an ack now
    const why = ackOverdue({ now, lastAckAt: this.lastAckAt, timeoutMs: this.host.cfg.timeoutMs, outstanding: s.outstandingCount, bytesUnacked: s.bytesUnacked, comparing: s.comparing });
    if (why !== null) this.link?.fail(why);
  }

  private onClosed(link: PeerLink, info: LinkCloseInfo): void {
    if (this.link !== link) return;
    const onPurpose = this.released(link, info);
    const pending = this.sender?.pendingPaths() ?? [];
    this.dropSender();
    this.files.received += this.receiver?.applied ?? 0;
    this.receiver?.stop();
    this.lastReceiver = this.receiver?.idle() ?? this.lastReceiver;
    this.receiver = null;
    this.host.feedsChanged(this.name);
    // What the peer may lack is counted against it: the first such change starts a new generation.
    if (pending.length > 0) this.background(this.host.markChanged(this.name, pending), 'recording unsent changes');
    const end = linkEndLine(this.host.cfg.name, this.name, info, onPurpose, pending.length > 0 ? `; ${pending.length} change(s) not acknowledged` : '');
    this.host.log[end.level](end.line);
    this.host.emit('replica.disconnected', { volume: this.host.cfg.name, peer: this.name, reason: info.reason, detail: info.detail });
  }

  private background(p: Promise<unknown>, what: string, link?: PeerLink): void {
    p.catch((e: unknown) => {
      this.host.log.error(`${this.host.cfg.name}: ${what} with ${this.name} failed: ${(e as Error).message}`);
      link?.fail(`${what} failed here`);
    });
  }

  status(): DirPeerStatus {
    const p = this.sender?.status() ?? null;
    return {
      ...this.sessionFields(),
      files_sent: this.files.sent + (this.sender?.acked ?? 0),
      files_received: this.files.received + (this.receiver?.applied ?? 0),
      pending_files: p?.files ?? this.host.changedCount(this.name),
      pending_bytes: p?.bytes ?? 0,
      oldest_pending_s: p?.oldestMs == null ? null : p.oldestMs / 1000,
    };
  }
}
