// What every peer session has, whatever the volume's kind: whether the user
// wants it connected (StandAlone until `connect`), its current link and
// phase (idle, handshake, running), the peer's last STATE, the split-brain
// flag, and the link counters across reconnects. Block sessions (peer.ts)
// and directory sessions (files/dir-peer.ts) extend it.
import type { LinkCloseInfo, PeerLink } from '../link/peer-link.js';
import type { ConnectionState, DiskState, ReplicationState, Role } from '../states.js';
import { LinkCounters, type LinkCounterFields } from './link-counters.js';
import type { PeerState } from './wire.js';

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
}

export abstract class PeerSessionBase {
  protected readonly counters = new LinkCounters();
  connection: ConnectionState = 'StandAlone';
  replication: ReplicationState = 'Off';
  peerState: PeerState | null = null;
  splitBrain = false;
  protected wantConnected = false;
  protected link: PeerLink | null = null;
  protected phase: Phase = 'idle';
  protected handshakeTimer: NodeJS.Timeout | null = null; // the peer's STATE (and BITMAP) must come in time
  protected ackTimer: NodeJS.Timeout | null = null; // checks that the peer keeps acknowledging

  constructor(readonly name: string, readonly address: string, private readonly onStandAlone: (peer: string) => void) {}

  get connected(): boolean {
    return this.phase === 'running';
  }

  get peerRole(): Role {
    return this.phase === 'running' && this.peerState ? this.peerState.role : 'Unknown';
  }

  get peerDisk(): DiskState {
    return this.phase === 'running' && this.peerState ? this.peerState.disk : 'DUnknown';
  }

  // `tandem replica connect`: leave StandAlone; the link layer dials or waits.
  enable(): void {
    this.wantConnected = true;
    this.splitBrain = false;
    if (this.connection === 'StandAlone') this.connection = 'Connecting';
  }

  // `tandem replica disconnect`, or a handshake that must not go on: StandAlone until enable().
  disable(detail: string): void {
    this.wantConnected = false;
    this.connection = 'StandAlone';
    this.link?.close(detail);
    this.onStandAlone(this.name);
  }

  // Drop the link and connect again (a new connect handshake); the dialing side redials.
  reconnect(detail: string): void {
    this.link?.close(detail);
  }

  // A link that never got to us (authentication failed, refused) still explains why we are not connected.
  noteError(reason: string, detail: string): void {
    this.counters.noteError(reason, detail);
  }

  async stop(): Promise<void> {
    const link = this.link;
    this.disable('volume stopping');
    if (link !== null) await link.closed;
  }

  // Takes a new authenticated link into the handshake phase; false (and the link closed) when refused.
  protected claim(link: PeerLink): boolean {
    if (!this.wantConnected || this.link !== null) {
      link.close(this.link !== null ? 'already connected to this peer' : 'volume is StandAlone (tandem replica connect NAME)');
      return false;
    }
    this.link = link;
    this.phase = 'handshake';
    this.connection = 'Connected';
    this.replication = 'Off';
    this.peerState = null;
    this.counters.adopted(link);
    return true;
  }

  // The current link ended: back to Connecting (or StandAlone), its counters added to the totals.
  protected released(link: PeerLink, info: LinkCloseInfo): void {
    this.link = null;
    this.phase = 'idle';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.ackTimer) clearInterval(this.ackTimer);
    this.handshakeTimer = null;
    this.ackTimer = null;
    this.replication = 'Off';
    if (this.connection !== 'StandAlone') this.connection = this.wantConnected ? 'Connecting' : 'StandAlone';
    this.counters.closed(link, info);
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
      ...this.counters.fields(this.link, running),
    };
  }
}
