// What every peer session has, whatever the volume's kind: whether the user
// wants it connected (StandAlone until `connect`), its current link and
// phase (idle, handshake, running), the peer's last STATE, the split-brain
// flag, the link counters across reconnects, and the promotion agreement
// with the peer (promote-arbiter.ts). Block sessions (peer.ts) and directory
// sessions (files/dir-peer.ts) extend it.
import type { Frame } from '../link/frame.js';
import type { FrameType } from '../link/frame-types.js';
import type { LinkCloseInfo, PeerLink } from '../link/peer-link.js';
import { isPausedSync, type ConnectionState, type DiskState, type ReplicationState, type Role } from '../states.js';
import { changedForPause } from './handshake-decision.js';
import { LinkCounters, type LinkCounterFields } from './link-counters.js';
import type { PromoteArbiter, PromoteVerdict } from './promote-arbiter.js';
import { decodePromoteReply, encodePromoteReply } from './promote-wire.js';
import { decodeU64, encodeU64, type PeerState } from './wire.js';

// What every session needs of its volume, whatever the kind.
export interface SessionHost {
  readonly node: string;
  readonly cfg: { readonly name: string };
  readonly role: 'Primary' | 'Secondary';
  readonly promoteArbiter: PromoteArbiter;
  // The session went StandAlone: stop dialing it until `connect`.
  standAlone(peer: string): void;
  emit(type: string, fields: Record<string, unknown>): void;
  // The link to `peer` ended; it last said its disk was `lastDisk` (fencing, fence-peers.ts).
  peerLost(peer: PeerSessionBase, lastDisk: DiskState | null): void;
}

// The log line a link's end leaves: info when the operator asked for it, warn when it was lost.
export function linkEndLine(volume: string, peer: string, info: LinkCloseInfo, onPurpose: boolean, extra: string): { level: 'info' | 'warn'; line: string } {
  return { level: onPurpose ? 'info' : 'warn', line: `${volume}: connection to ${peer} ${onPurpose ? 'closed' : 'lost'} (${info.reason}: ${info.detail})${extra}` };
}

export const PROMOTE_FRAMES: ReadonlySet<FrameType> = new Set<FrameType>(['PROMOTE_REQUEST', 'PROMOTE_REPLY', 'PROMOTE_ABORT']);

export type Phase = 'idle' | 'handshake' | 'running';

// The status fields both kinds of peer report.
export interface SessionFields extends LinkCounterFields {
  name: string;
  address: string;
  connection: ConnectionState;
  replication: ReplicationState;
  role: Role;
  disk: DiskState;
  connected: boolean;
  split_brain: boolean;
  discard_my_data: boolean; // armed: at the next connect with this peer a split brain resolves against this node
  resync_suspended: string | null; // PausedSyncS / PausedSyncT: the other source it waits for (one source at a time)
  resync_held: string | null; // Established with bits either way: the Primary whose writes both sides take (they move once that ends)
}

export abstract class PeerSessionBase {
  protected readonly counters = new LinkCounters();
  connection: ConnectionState = 'StandAlone';
  replication: ReplicationState = 'Off';
  peerState: PeerState | null = null;
  splitBrain = false;
  fencedDisk: 'Outdated' | 'Inconsistent' | null = null; // what fencing made of the peer while it is away
  // The current link cleared a fencedDisk: the metadata must lose it before our STATE can make the peer UpToDate again.
  protected forgotFencing = false;
  private onPurpose = false; // the current link is being closed on the operator's word
  protected wantConnected = false;
  protected link: PeerLink | null = null;
  protected phase: Phase = 'idle';
  protected handshakeTimer: NodeJS.Timeout | null = null; // the peer's STATE (and BITMAP) must come in time
  protected ackTimer: NodeJS.Timeout | null = null; // checks that the peer keeps acknowledging
  private readonly asks = new Map<bigint, (v: PromoteVerdict | null) => void>(); // our promotion's requests to this peer
  private suspendedBy = ''; // while paused: the other source we wait for
  private pausedOn: { sent: PeerState; peer: PeerState } | null = null; // what the paused (or held) connect decided from
  private heldBy: string | null = null; // Established without a resync only while both take this Primary's writes
  discardMine = false; // discard-my-data for the next connect with this peer (discard-my-data.ts)
  private noFencing = false; // this link's end fences nothing: refused for now, or the peer holds the newer data

  constructor(readonly name: string, readonly address: string, private readonly sessionHost: SessionHost) {}

  get connected(): boolean {
    return this.phase === 'running';
  }

  // A link whose connect handshake runs: our STATE may have left already, the decision is still to come.
  get handshaking(): boolean {
    return this.phase === 'handshake';
  }

  // One side has another source (one-source.ts): the link stays up and moves no data; the Primary tracks what the peer misses.
  get paused(): boolean {
    return isPausedSync(this.replication);
  }

  // The connect decided to wait (one-source.ts): the link stays up and moves nothing until a side changes.
  protected pause(out: { replication: 'PausedSyncS' | 'PausedSyncT'; why: string; peerNewer?: boolean }, sent: PeerState, peer: PeerState): void {
    this.replication = out.replication;
    this.suspendedBy = out.why;
    this.pausedOn = { sent, peer };
    this.heldBy = null;
    if (out.peerNewer === true) this.peerIsNewer(out.why);
  }

  // We are a Primary whose peer's data is to replace ours (handshake-decision.ts): an HA node steps down, and
  // losing this link must not fence the peer that holds the newer copy.
  protected peerIsNewer(why: string): void {
    this.noFencing = true;
    this.sessionHost.emit('replica.peer-newer', { volume: this.sessionHost.cfg.name, peer: this.name, detail: why });
  }

  // Established with bits either way, only because both sides take `primary`'s writes (handshake-decision.ts):
  // like a paused link, it decides again once that changes, so the bits do not outlive the reason.
  protected hold(primary: string | null, sent: PeerState, peer: PeerState): void {
    this.heldBy = primary;
    this.pausedOn = primary === null ? null : { sent, peer };
  }

  protected get held(): boolean {
    return this.heldBy !== null && this.replication === 'Established';
  }

  // A paused or held link decides again (a new connect handshake) once a side's role, disk, generation or feeds changed.
  protected pausedStale(ours: PeerState): boolean {
    const d = this.pausedOn;
    if (!(this.paused || this.held) || d === null || this.peerState === null) return false;
    return changedForPause(d.sent, ours) || changedForPause(d.peer, this.peerState);
  }

  // Running, the link up: a link already closed but not yet wound up (its last frames still being read) moves nothing more.
  get linkUp(): boolean {
    return this.phase === 'running' && this.link?.state === 'established';
  }

  get peerRole(): Role {
    return this.phase === 'running' && this.peerState ? this.peerState.role : 'Unknown';
  }

  get peerDisk(): DiskState {
    if (this.phase === 'running' && this.peerState) return this.peerState.disk;
    return this.link === null ? this.fencedDisk ?? 'DUnknown' : 'DUnknown';
  }

  // What the volume's metadata kept from fencing before a restart.
  rememberFenced(disk: 'Outdated' | 'Inconsistent'): void {
    if (this.link === null) this.fencedDisk = disk;
  }

  // `tandem replica connect`: leave StandAlone; the link layer dials or waits.
  enable(): void {
    this.wantConnected = true;
    this.splitBrain = false;
    if (this.connection === 'StandAlone') this.connection = 'Connecting';
  }

  // `tandem replica disconnect`, or a handshake that must not go on: StandAlone until enable().
  // `onPurpose`: the operator asked, so the close is no error.
  disable(detail: string, onPurpose = false): void {
    this.wantConnected = false;
    this.connection = 'StandAlone';
    if (onPurpose) this.closeOnPurpose(detail);
    else this.link?.close(detail);
    this.sessionHost.standAlone(this.name);
  }

  // Drop the link and connect again (a new connect handshake); the dialing side redials. The peer hears it is planned.
  reconnect(detail: string): void {
    this.closeOnPurpose(detail, true);
  }

  // A connect refused for a passing reason (two Primaries while one hands over): the link closes as an error,
  // shown in status, and the dialing side redials with its backoff; StandAlone would never look again.
  protected refuseForNow(detail: string): void {
    this.noFencing = true; // a peer we meet again within seconds is not lost: no fence handler per redial
    this.link?.close(detail);
  }

  // A close the operator asked for (disconnect, invalidate, stop) is no error: not last_error, logged as info.
  private closeOnPurpose(detail: string, again = false): void {
    if (this.link === null) return;
    this.onPurpose = true;
    if (again) this.link.reconnect(detail);
    else this.link.close(detail);
  }

  // A link that never got to us (authentication failed, refused) still explains why we are not connected.
  noteError(reason: string, detail: string): void {
    this.counters.noteError(reason, detail);
  }

  // Our promotion asks this peer: its verdict, or null when the link ended
  // first or the peer did not answer in time (then the link is dropped: a
  // peer that cannot answer is treated as gone, and resyncs when it is back).
  askPromotion(id: bigint, timeoutMs: number): Promise<PromoteVerdict | null> {
    const link = this.link;
    if (link === null || link.state !== 'established') return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        settle(null);
        link.fail(`no answer to PROMOTE_REQUEST within ${timeoutMs} ms`);
      }, timeoutMs);
      const settle = (v: PromoteVerdict | null): void => {
        clearTimeout(timer);
        this.asks.delete(id);
        resolve(v);
      };
      this.asks.set(id, settle);
      link.send({ type: 'PROMOTE_REQUEST', payload: encodeU64(id) });
    });
  }

  // Our promotion gave up after this peer granted it: the peer releases its hold.
  abortPromotion(id: bigint): void {
    if (this.link?.state === 'established') this.link.send({ type: 'PROMOTE_ABORT', payload: encodeU64(id) });
  }

  // A PROMOTE_* frame, in any phase: null when handled, else why the link must drop.
  protected onPromoteFrame(link: PeerLink, f: Frame): string | null {
    const arbiter = this.sessionHost.promoteArbiter;
    if (f.type === 'PROMOTE_REPLY') {
      const r = decodePromoteReply(f.payload);
      if (!r.ok) return r.detail;
      const settle = this.asks.get(r.value.id);
      if (settle === undefined) return `PROMOTE_REPLY ${r.value.id} answers no request of ours`;
      settle(r.value.verdict);
      return null;
    }
    const id = decodeU64(f.payload, f.type);
    if (!id.ok) return id.detail;
    if (f.type === 'PROMOTE_ABORT') {
      arbiter.release(this.name, id.value);
      return null;
    }
    const verdict = arbiter.answer(this.name, id.value, this.sessionHost.role, Date.now());
    link.send({ type: 'PROMOTE_REPLY', payload: encodePromoteReply(id.value, verdict) });
    return null;
  }

  // The peer's STATE arrived (before it is applied in stream order): a Primary's grant is used up.
  protected peerRoleArrived(role: Role): void {
    if (role === 'Primary') this.sessionHost.promoteArbiter.release(this.name);
  }

  // `detail`: why, as the peer and our log see it.
  async stop(detail = 'volume stopping'): Promise<void> {
    const link = this.link;
    this.disable(detail, true);
    if (link !== null) await link.closed;
  }

  // Takes a new authenticated link into the handshake phase; false (and the link closed) when refused.
  protected claim(link: PeerLink): boolean {
    if (!this.wantConnected || this.link !== null) {
      // Read on the other node: say where `connect` helps.
      const h = this.sessionHost;
      link.close(this.link !== null ? 'already connected to this peer' : `${h.cfg.name} is StandAlone on ${h.node} (\`tandem replica connect ${h.cfg.name}\` there)`);
      return false;
    }
    this.link = link;
    this.phase = 'handshake';
    this.connection = 'Connected';
    this.replication = 'Off';
    this.peerState = null;
    this.forgotFencing = this.fencedDisk !== null;
    this.fencedDisk = null; // the peer tells its state itself now
    this.counters.adopted(link);
    return true;
  }

  // The current link ended: back to Connecting (or StandAlone), its counters
  // added to the totals. Returns whether we closed it on the operator's word.
  protected released(link: PeerLink, info: LinkCloseInfo): boolean {
    // Ours on purpose, or the peer's reconnect (it said so): no error either way.
    const onPurpose = (this.onPurpose && info.reason === 'local-close') || info.reason === 'peer-reconnect';
    const connected = this.phase === 'running';
    this.onPurpose = false;
    this.link = null;
    this.phase = 'idle';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.ackTimer) clearInterval(this.ackTimer);
    this.handshakeTimer = null;
    this.ackTimer = null;
    this.replication = 'Off';
    if (this.connection !== 'StandAlone') this.connection = this.wantConnected ? 'Connecting' : 'StandAlone';
    this.counters.closed(link, info, onPurpose, connected);
    // The link is gone: our questions have no answer, and what it held is free.
    for (const settle of [...this.asks.values()]) settle(null);
    this.sessionHost.promoteArbiter.release(this.name);
    if (!this.noFencing) this.sessionHost.peerLost(this, this.peerState?.disk ?? null);
    this.noFencing = false;
    return onPurpose;
  }

  protected sessionFields(): SessionFields {
    const running = this.phase === 'running';
    return {
      name: this.name,
      address: this.address,
      // A link still in its handshake is not Connected yet for the user.
      connection: running ? 'Connected' : this.connection === 'Connected' ? 'Connecting' : this.connection,
      replication: this.replication,
      role: this.peerRole,
      disk: this.peerDisk,
      connected: running,
      split_brain: this.splitBrain,
      discard_my_data: this.discardMine,
      resync_suspended: this.paused ? this.suspendedBy : null,
      resync_held: this.held ? this.heldBy : null,
      ...this.counters.fields(this.link, running),
    };
  }
}
