// The Secondary side of a peer's write stream: WRITE, PEER_OUT_OF_SYNC and
// BARRIER frames checked, then queued on the link's in-order apply queue
// (write-receiver.ts); a write that fails here ends the replication as
// DRBD's on-io-error detach does. The peer session owns the link.
import type { Frame } from '../link/frame.js';
import { FLAG_FUA, FLAG_ZEROES } from '../link/frame-types.js';
import type { PeerLink } from '../link/peer-link.js';
import { isPausedSync, type ReplicationState } from '../states.js';
import type { PeerPart } from './peer-part.js';
import { decodePeerOutOfSync, decodeU64, decodeWrite } from './wire.js';

// What the intake needs from its peer session, beyond any part's.
export interface IntakeSession extends PeerPart {
  peerRoleSent(): 'Primary' | 'Secondary' | null; // the role in the newest STATE received, before it is applied
  replication(): ReplicationState;
  dropCurrent(detail: string): void;
  disable(detail: string): void;
}

export class PeerIntake {
  writesReceived = 0;

  constructor(private readonly s: IntakeSession) {}

  onWrite(link: PeerLink, f: Frame): void {
    const { host } = this.s;
    // The newest STATE counts, even while it waits its turn in the apply queue.
    if (this.s.peerRoleSent() !== 'Primary') return this.s.drop(link, 'WRITE from a peer that is not Primary');
    const r = this.s.replication();
    if (isPausedSync(r)) return this.s.drop(link, `WRITE while ${r}: the write stream waits for the other source`);
    if (host.role === 'Primary') return this.s.drop(link, 'WRITE to a Primary: one Primary per volume');
    const w = decodeWrite(f.payload, (f.flags & FLAG_ZEROES) !== 0);
    if (!w.ok) return this.s.drop(link, w.detail);
    const { offset, length, data } = w.value;
    if (offset + length > host.cfg.size) return this.s.drop(link, `WRITE ${offset}+${length} ends past the volume's ${host.cfg.size} bytes`);
    this.writesReceived++;
    this.s.receiver()?.write(f.seq, offset, length, data, (f.flags & FLAG_FUA) !== 0, Date.now());
  }

  // In stream order, so a STATE that clears our bits for that peer (followPrimary) does not overtake it.
  onPeerOutOfSync(link: PeerLink, f: Frame): void {
    const { host } = this.s;
    if (this.s.peerRoleSent() !== 'Primary') return this.s.drop(link, 'PEER_OUT_OF_SYNC from a peer that is not Primary');
    const m = decodePeerOutOfSync(f.payload);
    if (!m.ok) return this.s.drop(link, m.detail);
    const { offset, length, peer } = m.value;
    if (offset + length > host.cfg.size) return this.s.drop(link, `PEER_OUT_OF_SYNC ${offset}+${length} ends past the volume's ${host.cfg.size} bytes`);
    this.s.receiver()?.inOrder({ seq: f.seq, range: { offset, length }, run: () => host.thirdPeerMissed(this.s.peer, peer, offset, length) });
  }

  onBarrier(link: PeerLink, f: Frame): void {
    const id = decodeU64(f.payload, 'BARRIER');
    if (!id.ok) return this.s.drop(link, id.detail);
    this.s.receiver()?.barrier(f.seq, id.value);
  }

  // DRBD's on-io-error detach, for the replication: StandAlone, so the peer does not resend (a full
  // sync, maybe) into the same failing disk forever; `tandem replica connect` tries again.
  applyFailed(err: unknown): void {
    const { host } = this.s;
    const v = host.cfg.name;
    const m = (err as Error).message;
    host.log.error(`${v}: writing data from ${this.s.peer} failed: ${m}; StandAlone until \`tandem replica connect ${v}\` (fix the disk first)`);
    host.localDiskFailed(m);
    host.emit('replica.disk-error', { volume: v, peer: this.s.peer, detail: m });
    // Read on both nodes: named, not "the peer".
    this.s.dropCurrent(`${host.node} could not write: ${m}`); // nothing queued behind the failed write is handled
    this.s.disable(`${host.node} could not write: ${m}`);
  }
}
