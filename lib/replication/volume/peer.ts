// One configured peer of a volume: its authenticated link, the connect
// handshake (STATE + BITMAP both ways, then decideConnect), the write stream
// in both directions (send and acknowledge on the Primary; the Secondary's
// intake is peer-intake.ts), and the resync and verify that run over it.
import type { Bitmap } from '../block/bitmap.js';
import type { Frame } from '../link/frame.js';
import { FLAG_ON_DISK } from '../link/frame-types.js';
import type { LinkCloseInfo, PeerLink } from '../link/peer-link.js';
import type { AfterSbPolicies } from '../after-sb.js';
import { ConnectExchange } from './connect-exchange.js';
import { decideConnect, decideWithFeedsNow } from './handshake-decision.js';
import type { VolumeHost } from './host.js';
import { settleLost } from './pending.js';
import { PeerResync, type ResyncDirection } from './peer-resync.js';
import { linkEndLine, PROMOTE_FRAMES, PeerSessionBase } from './session-base.js';
import type { PeerStatus } from './status-types.js';
import { isInStep, isPausedSync } from '../states.js';
import { pauseReason } from './one-source.js';
import { PeerIntake } from './peer-intake.js';
import { PeerVerify } from './peer-verify.js';
import {
  decodeState, decodeU64,
  encodePeerOutOfSync, encodeState, PAUSE_INTO_PRIMARY_SINCE, PEER_OUT_OF_SYNC_SINCE, STALE_BITS_SINCE,
} from './wire.js';
import { HeldMisses } from './held-misses.js';
import type { WriteCompletion } from './write-completion.js';
import { WriteReceiver } from './write-receiver.js';
import { WriteSender } from './write-sender.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;
const ACK_CHECK_MS = 250;

export class PeerSession extends PeerSessionBase {
  private exchange: ConnectExchange | null = null; // this link's connect handshake
  private release: (() => void) | null = null;
  private readonly sender = new WriteSender(); // Primary: our writes to the peer
  private receiver: WriteReceiver | null = null; // Secondary: the peer's stream, this link's
  private readonly dropped = new WeakSet<PeerLink>();
  private peerRoleSent: 'Primary' | 'Secondary' | null = null; // the role in the newest STATE received, before it is applied
  private readonly resync: PeerResync;
  private readonly verifier: PeerVerify;
  private readonly intake: PeerIntake; // as Secondary: the peer's write stream
  private readonly heldMisses = new HeldMisses(); // as Primary: what our other peers missed during this link's handshake

  constructor(
    name: string,
    address: string,
    private readonly host: VolumeHost,
    private readonly policies: AfterSbPolicies,
  ) {
    super(name, address, host);
    const part = {
      host, peer: name,
      isCurrent: (link: PeerLink) => this.link === link,
      receiver: () => this.receiver,
      drop: (link: PeerLink, detail: string) => this.drop(link, detail),
      background: (p: Promise<unknown>, what: string, link?: PeerLink) => this.background(p, what, link),
    };
    this.verifier = new PeerVerify({
      ...part,
      peerRole: () => this.peerRole,
      replication: () => this.replication,
      setReplication: (r) => { this.replication = r; },
    });
    this.intake = new PeerIntake({
      ...part,
      peerRoleSent: () => this.peerRoleSent,
      replication: () => this.replication,
      dropCurrent: (detail) => this.dropCurrent(detail),
      disable: (detail) => this.disable(detail),
    });
    this.resync = new PeerResync({
      ...part,
      peerState: () => this.peerState,
      unfreeze: () => this.unfreeze(),
      finished: () => this.endResync(),
    });
  }

  // WRITE frames taken from the peer as Secondary.
  get writesReceived(): number {
    return this.intake.writesReceived;
  }

  // A write sent now reaches the peer's disk through the stream (DRBD: the peer is "connected" for writes).
  get receivesWrites(): boolean {
    return this.linkUp && this.replication !== 'Off' && !this.paused;
  }

  private get inStep(): boolean {
    return isInStep(this.replication);
  }

  // Neither a resync nor a verify runs on this link: its bitmap is ours alone to change.
  get movesNoData(): boolean {
    return this.replication === 'Off' || this.replication === 'Established' || isPausedSync(this.replication);
  }

  // Our link speaks PEER_OUT_OF_SYNC.
  private get forwardsMisses(): boolean {
    return (this.link?.peer?.version ?? 0) >= PEER_OUT_OF_SYNC_SINCE;
  }

  // A new authenticated link to this peer. Returns false when it is refused.
  adopt(link: PeerLink): boolean {
    if (!this.claim(link)) return false;
    // Ours from an earlier link must not meet the peer's new STATE: maybeDecide waits for sendHello.
    const version = link.peer?.version; // set before the link is ready, and adopt runs after
    if (version === undefined) {
      link.fail('a link without an identity: the link handshake did not finish');
      return false;
    }
    this.exchange = new ConnectExchange(this.host.cfg.size, this.host.cfg.blockSize, version);
    this.heldMisses.clear();
    this.receiver = new WriteReceiver(link, this.host.disk, this.host.cfg.protocol, (o, l, w) => this.host.applyReceived(o, l, w), (err) => this.intake.applyFailed(err));
    // Frames are handled as they are decoded, so those before a close (a peer's last STATE before its ERROR) come first.
    link.deliver((f) => this.onLinkFrame(link, f));
    this.background(link.closed.then((info) => this.onClosed(link, info)), 'winding up the link');
    this.armHandshakeTimer(link);
    this.background(this.sendHello(link), 'the connect handshake', link);
    return true;
  }

  // Freeze writes so the snapshot we send is exactly what the decision uses.
  private async sendHello(link: PeerLink): Promise<void> {
    // Our STATE may make the peer UpToDate: no saved record may call it fenced after that.
    if (this.forgotFencing) await this.host.persist();
    // A cut resync's last progress is in the bitmap we send, so the resumed one skips it.
    await this.resync.settled();
    await this.host.beforeStream();
    const release = await this.host.freezeWrites();
    if (this.link !== link || link.state !== 'established') return release();
    this.release = release;
    for (const f of this.exchange?.ours(this.host.stateFor(this.name), this.host.bitmapFor(this.name).clone()) ?? []) link.send(f);
    this.maybeDecide();
  }

  private onLinkFrame(link: PeerLink, f: Frame): void {
    if (this.link !== link || this.dropped.has(link)) return;
    try {
      this.onFrame(link, f);
    } catch (e) {
      this.drop(link, `handling ${f.type}: ${(e as Error).message}`);
      return;
    }
    // Backpressure: a Secondary that cannot keep up stops reading the socket until its applier is idle.
    if (this.receiver?.overloaded === true) link.pauseUntil(this.receiver.idle());
  }

  private onFrame(link: PeerLink, f: Frame): void {
    if (PROMOTE_FRAMES.has(f.type)) {
      const error = this.onPromoteFrame(link, f);
      return error === null ? undefined : this.drop(link, error);
    }
    if (this.phase === 'handshake') return this.onHandshakeFrame(link, f);
    switch (f.type) {
      case 'WRITE': return this.intake.onWrite(link, f);
      case 'WRITE_ACK': return this.onWriteAck(link, f);
      case 'BARRIER': return this.intake.onBarrier(link, f);
      case 'PEER_OUT_OF_SYNC': return this.intake.onPeerOutOfSync(link, f);
      case 'BARRIER_ACK': {
        const id = decodeU64(f.payload, 'BARRIER_ACK');
        if (!id.ok) return this.drop(link, id.detail);
        return this.sender.onBarrierAck(id.value);
      }
      case 'STATE': return this.onStateUpdate(link, f);
      case 'RESYNC_REQUEST':
        if (this.replication !== 'SyncSource') return this.drop(link, 'RESYNC_REQUEST while not SyncSource');
        return this.resync.onRequest(link, f);
      case 'RESYNC_DATA': return this.resync.onData(link, f);
      case 'RESYNC_DONE': return this.resync.onDone(link);
      case 'VERIFY_REQUEST': return this.verifier.onRequest(link, f);
      case 'VERIFY_REPLY': return this.verifier.onReply(link, f);
      case 'VERIFY_DONE': return this.verifier.onDone();
      default:
        return this.drop(link, `${f.type} is not expected after the connect handshake`);
    }
  }

  // The peer's STATE and BITMAP pieces must keep coming: each one gives the next the whole time again.
  private armHandshakeTimer(link: PeerLink): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = setTimeout(() => this.drop(link, `the connect handshake sent nothing for ${HANDSHAKE_TIMEOUT_MS} ms (want STATE, then BITMAP)`), HANDSHAKE_TIMEOUT_MS);
  }

  private onHandshakeFrame(link: PeerLink, f: Frame): void {
    const error = this.exchange === null ? 'no connect handshake on this link' : this.exchange.receive(f);
    if (error !== null) return this.drop(link, error);
    this.armHandshakeTimer(link);
    if (f.type === 'STATE') {
      this.peerState = this.exchange?.received ?? null;
      this.peerRoleSent = this.peerState?.role ?? null;
      if (this.peerRoleSent !== null) this.peerRoleArrived(this.peerRoleSent);
    }
    this.maybeDecide();
  }

  private maybeDecide(): void {
    const link = this.link;
    const exchange = this.exchange;
    const both = exchange?.complete() ?? null;
    if (link === null || exchange === null || this.phase !== 'handshake' || both === null) return;
    const { sent } = both;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    // Both ends speak the same link version, so both apply the shared-Primary and stale-bits rules or neither does.
    const version = link.peer?.version ?? 0;
    const opts = { holdShared: this.forwardsMisses, staleBits: version >= STALE_BITS_SINCE, pauseIntoPrimary: version >= PAUSE_INTO_PRIMARY_SINCE };
    const out = decideConnect(this.policies, this.host.node, sent, this.name, both.received, opts);
    const log = out.kind === 'standalone' ? this.host.log.warn : this.host.log.info;
    log.call(this.host.log, `${this.host.cfg.name}: ${out.log}`);
    if (out.kind !== 'standalone' && link.state !== 'established') return; // gone meanwhile: the next connect decides again
    const again = decideWithFeedsNow(this.policies, this.host.node, sent, this.name, both.received, this.host.feedsFor(this.name), opts);
    if (again !== null && again.kind !== out.kind) return this.decideAgain(link, `our other links changed during the handshake (now: ${again.log})`);
    if (sent.discardMyData && out.kind !== 'paused') this.discardMine = false; // a paused connect resolves nothing yet
    // Only a decision that settles how the two copies relate ends a refusal of writes; a dropped link does not.
    if (out.kind === 'paused' && out.peerNewer === true) this.host.peerDataNewer(this.name, out.why);
    else if (out.kind === 'standalone' && out.peerNewer !== undefined) {
      this.host.peerDataNewer(this.name, out.peerNewer);
      this.peerIsNewer(out.peerNewer);
    } else if (out.kind !== 'paused' && (out.kind !== 'standalone' || out.splitBrain)) this.host.peerDataNewer(this.name, null);
    if (out.kind === 'standalone') {
      this.splitBrain = out.splitBrain;
      if (out.splitBrain) this.host.emit('replica.split-brain', { volume: this.host.cfg.name, peer: this.name, detail: out.log });
      this.unfreeze();
      return out.retry === true ? this.refuseForNow(out.log) : this.disable(out.log);
    }
    this.phase = 'running';
    this.ackTimer = setInterval(() => this.checkAcks(), ACK_CHECK_MS);
    this.host.emit('replica.connected', { volume: this.host.cfg.name, peer: this.name, outcome: out.kind });
    this.hold(out.kind === 'established' ? out.sharedPrimary ?? null : null, sent, both.received);
    const held = this.heldMisses.take(this.host.cfg.size);
    if (out.kind === 'established') {
      this.replication = 'Established';
      for (const m of held) link.send({ type: 'PEER_OUT_OF_SYNC', payload: encodePeerOutOfSync(m) }); // before its writes and our next STATE
      this.unfreeze();
      if (out.inSync) this.background(this.host.connectedInSync(this.name, both.received.disk), 'recording the connect');
    } else if (out.kind === 'paused') {
      this.pause(out, sent, both.received);
      this.unfreeze();
    } else {
      this.startResync(link, out.kind === 'sync-source' ? 'SyncSource' : 'SyncTarget', out.full, exchange.resyncSet(out.full), both.received.generations.current);
    }
    this.host.feedsChanged(this.name);
    // A promotion during the handshake changed what we told the peer: tell it again, so it follows or reconnects
    // (a paused link decides again).
    const now = this.host.stateFor(this.name);
    if (now.role !== sent.role || now.disk !== sent.disk || now.generations.current !== sent.generations.current) this.sendState();
  }

  // A new connect handshake; nothing this link still has queued is applied.
  private decideAgain(link: PeerLink, detail: string): void {
    this.dropped.add(link);
    if (this.link === link) this.receiver?.stop();
    this.unfreeze();
    this.host.log.info(`${this.host.cfg.name}: ${detail}: connecting to ${this.name} again`);
    this.reconnect(detail);
  }

  private startResync(link: PeerLink, direction: ResyncDirection, full: boolean, union: Bitmap, peerCurrent: string): void {
    this.replication = direction;
    this.resync.start(link, direction, full, union, peerCurrent);
  }

  // The last checkpoint is saved before the volume closes its files.
  override async stop(detail?: string): Promise<void> {
    await super.stop(detail);
    await this.resync.settled();
  }

  private endResync(): void {
    this.replication = 'Established';
    this.host.feedsChanged(this.name);
    this.sendState();
  }

  // Tell the peer our role / disk / generations changed.
  sendState(): void {
    if (this.phase !== 'running' || this.link?.state !== 'established') return;
    if (this.pausedStale(this.host.stateFor(this.name))) return this.decideAgain(this.link, `${this.host.node} changed since the ${this.held ? 'held' : 'paused'} connect`);
    this.link.send({ type: 'STATE', payload: encodeState(this.host.stateFor(this.name)) });
  }

  private onStateUpdate(link: PeerLink, f: Frame): void {
    const s = decodeState(f.payload);
    if (!s.ok) return this.drop(link, s.detail);
    if (s.value.role === 'Primary' && this.host.role === 'Primary') return this.drop(link, 'both sides are Primary: refusing two Primaries on one volume');
    this.peerRoleSent = s.value.role;
    this.peerRoleArrived(s.value.role);
    // In stream order: every write before this STATE is applied first.
    this.receiver?.inOrder({
      seq: f.seq, range: null, run: async () => {
        const before = this.peerState;
        this.peerState = s.value;
        if (this.pausedStale(this.host.stateFor(this.name))) return this.decideAgain(link, `${this.name} changed since the ${this.held ? 'held' : 'paused'} connect`);
        const g = s.value.generations;
        // In step at its generation, or at the one it last told us (we hold all it wrote before): we follow.
        const at = this.host.generations.current;
        if (before !== null && s.value.role === 'Primary' && this.inStep && (at === g.current || at === before.generations.current)) {
          await this.host.followPrimary(this.name, s.value, this.forwardsMisses);
        }
        // It became Primary, so its writes would start flowing here: they wait while we have another source
        // (in step with its new generation, followed above, so what it then tracks for us is a bitmap resync).
        const busy = s.value.role === 'Primary' && before?.role !== 'Primary' && this.inStep && s.value.feeds !== undefined
          ? pauseReason(this.host.node, this.host.feedsFor(this.name), this.name, []) : null;
        if (busy !== null) return this.decideAgain(link, `${this.name} became Primary while ${busy}`);
        if (s.value.role !== before?.role) this.host.feedsChanged(this.name);
        if (s.value.role === 'Primary' && this.host.role === 'Primary') return this.drop(link, 'both sides are Primary: refusing two Primaries on one volume');
        // A forced promotion or an invalidate elsewhere: only a new connect handshake can sync us.
        const ours = this.host.generations;
        // It followed our new generation as we became Primary: what a lost Primary left different resyncs now.
        if (before !== null && before.generations.current !== g.current && g.current === ours.current) this.host.reconcile(this.name);
        // In step with a peer that is UpToDate now (a resync from its Consistent disk left ours Consistent): UpToDate too.
        if (this.inStep && s.value.disk === 'UpToDate' && g.current === ours.current && this.host.diskState !== 'UpToDate') {
          await this.host.connectedInSync(this.name, 'UpToDate');
        }
        if (this.inStep && g.current !== ours.current && !(ours.fresh && g.fresh)) {
          this.reconnect(`${this.name} moved to generation ${g.current} and ${this.host.node} holds ${ours.current}: connecting again to resync`);
        }
      },
    });
  }

  // ---- Primary side of the write stream ----

  // Waits while this peer holds too many unacknowledged bytes (protocol A's bound).
  // Null when there is room now, so the write path awaits nothing in the usual case.
  room(): Promise<void> | null {
    return this.receivesWrites ? this.sender.room() : null;
  }

  hasRoom(): boolean {
    return this.sender.hasRoom || !this.receivesWrites;
  }

  // As Primary: our peer `peer` missed this range. A Secondary in step marks it too (followPrimary).
  tellMissed(peer: string, offset: number, length: number): void {
    if (!this.forwardsMisses) return;
    if (this.phase === 'handshake') return this.heldMisses.hold({ offset, length, peer });
    if (!this.receivesWrites || !this.inStep) return;
    this.link?.send({ type: 'PEER_OUT_OF_SYNC', payload: encodePeerOutOfSync({ offset, length, peer }) });
  }

  replicate(offset: number, data: Buffer | null, length: number, fua: boolean, waiter: WriteCompletion): void {
    this.sender.replicate(this.link as PeerLink, offset, data, length, fua, waiter, Date.now());
  }

  // Protocol C FLUSH: every write before the barrier is on the peer's stable storage.
  barrier(): Promise<boolean> {
    if (!this.receivesWrites || this.link === null) return Promise.resolve(false);
    return this.sender.barrier(this.link);
  }

  private onWriteAck(link: PeerLink, f: Frame): void {
    const s = decodeU64(f.payload, 'WRITE_ACK');
    if (!s.ok) return this.drop(link, s.detail);
    this.sender.onWriteAck(s.value, (f.flags & FLAG_ON_DISK) !== 0, Date.now());
  }

  // DRBD's ko-count x timeout: a peer that stops acknowledging is dropped, so it never stalls the application for long.
  private checkAcks(): void {
    const waited = this.sender.oldestWait(Date.now(), this.link?.peerProgressAt ?? null);
    if (waited > this.host.cfg.timeoutMs) this.dropCurrent(`no acknowledgement for ${waited} ms (timeout ${this.host.cfg.timeoutMs} ms)`);
  }

  // ---- Verify ----

  verify(): void {
    const link = this.link;
    if (link === null || this.replication !== 'Established') throw new Error(`${this.name} is ${this.connection}/${this.replication}, verify needs Connected/Established`);
    this.verifier.startSource(link);
  }

  // ---- Link end ----

  private onClosed(link: PeerLink, info: LinkCloseInfo): void {
    if (this.link !== link) return;
    // Its stream flowed to us and it never said it stopped being Primary (the newest STATE, applied or not).
    const lostPrimary = this.peerRoleSent === 'Primary' && this.replication !== 'Off' && !this.paused;
    const onPurpose = this.released(link, info);
    this.unfreeze();
    this.receiver?.stop();
    this.receiver = null;
    this.resync.cut();
    this.verifier.stop();
    this.host.feedsChanged(this.name);
    // Not when we closed it (a stop, a reconnect of ours): marks for a Primary that lives on would stay until the next failover.
    if (lostPrimary && !onPurpose) this.background(this.host.primaryLost(this.name), 'marking the lost Primary\'s last extents');
    // Unacknowledged writes may be missing on the peer: into the bitmap, then complete them.
    const lost = this.sender.lost();
    this.background(Promise.all(lost.map((w) => this.host.markOutOfSync(this.name, w.offset, w.length))).finally(() => {
      for (const w of lost) settleLost(w);
    }), 'marking unacknowledged writes out of sync');
    const end = linkEndLine(this.host.cfg.name, this.name, info, onPurpose, lost.length > 0 ? `; ${lost.length} unacknowledged write(s) marked out of sync` : '');
    this.host.log[end.level](end.line);
    this.host.emit('replica.disconnected', { volume: this.host.cfg.name, peer: this.name, reason: info.reason, detail: info.detail });
  }

  // We end this link: nothing it still has queued is handled (the frame that failed it may be followed by more).
  private drop(link: PeerLink, detail: string): void {
    this.dropped.add(link);
    if (this.link === link) this.receiver?.stop();
    link.fail(detail);
  }

  private dropCurrent(detail: string): void {
    if (this.link !== null) this.drop(this.link, detail);
  }

  // Work that runs on its own: a failure is logged (and drops the link it concerns), never an unhandled rejection.
  private background(p: Promise<unknown>, what: string, link?: PeerLink): void {
    p.catch((e: unknown) => {
      this.host.log.error(`${this.host.cfg.name}: ${what} with ${this.name} failed: ${(e as Error).message}`);
      if (link !== undefined) this.drop(link, `${what} failed here`);
    });
  }

  private unfreeze(): void {
    const r = this.release;
    this.release = null;
    r?.();
  }

  // During a resync, what is left of it on either side (the bitmap is cleared when it ends), as DRBD counts.
  // Two connected copies that are both Inconsistent (a new pair) share nothing known good: all of it, as DRBD shows.
  private outOfSyncBytes(resync: PeerStatus['resync']): number {
    if (resync !== null) return Math.max(0, resync.total_bytes - resync.done_bytes);
    if (this.phase === 'running' && this.host.diskState === 'Inconsistent' && this.peerDisk === 'Inconsistent') return this.host.disk.size;
    return this.host.bitmapFor(this.name).outOfSyncBytes();
  }

  status(): PeerStatus {
    const resync = this.resync.status(Date.now());
    return {
      ...this.sessionFields(),
      writes_sent: this.sender.writesSent,
      writes_received: this.intake.writesReceived,
      out_of_sync_bytes: this.outOfSyncBytes(resync),
      pending: this.sender.count,
      unacked: this.sender.count,
      resync,
      stale_bits: this.host.bitsStale(this.name),
      verify: this.verifier.status(),
    };
  }
}
