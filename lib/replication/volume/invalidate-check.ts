// Whether `tandem replica invalidate` may drop this node's data, for a volume
// of either kind (drbdadm invalidate): not on a Primary, not while a resync or
// verify runs on one of its links (DRBD: "Resync already running"), and,
// when connected, only with a connected peer whose data is UpToDate to take
// the full sync from (DRBD: "Need access to UpToDate data"). Disconnected it
// only marks the data Inconsistent, as DRBD's local invalidate does. Pure.
import { TandemError } from '../../errors.js';
import type { DiskState, ReplicationState } from '../states.js';

export interface InvalidatePeer {
  readonly name: string;
  readonly connected: boolean;
  readonly handshaking: boolean;
  readonly replication: ReplicationState;
  readonly peerDisk: DiskState;
}

// Null, or why not (a sentence after the volume's name).
export function invalidateRefusal(role: 'Primary' | 'Secondary', peers: Iterable<InvalidatePeer>): string | null {
  if (role === 'Primary') return 'is Primary: its data is in use; make it Secondary first';
  const all = [...peers];
  // What that peer holds is not known yet: it may be the one needing our data.
  const meeting = all.find((p) => p.handshaking);
  if (meeting !== undefined) return `is in its connect handshake with ${meeting.name}: try again once that has decided (tandem replica status)`;
  const connected = all.filter((p) => p.connected);
  // A SyncSource may hold the only good copy; a SyncTarget or verify is replacing or checking this one already.
  const busy = connected.find((p) => p.replication !== 'Established');
  if (busy !== undefined) {
    const what = busy.replication === 'PausedSyncS' || busy.replication === 'PausedSyncT' ? 'a resync waiting' : 'a resync or verify running';
    return `has ${what} with ${busy.name} (${busy.replication}): invalidate once it has ended`;
  }
  if (connected.length > 0 && !connected.some((p) => p.peerDisk === 'UpToDate')) {
    const disks = connected.map((p) => `${p.name} ${p.peerDisk}`).join(', ');
    return `has no connected peer with UpToDate data to take a full sync from (${disks}); its own data may be the best copy. To mark it Inconsistent anyway, disconnect first`;
  }
  return null;
}

// Throws INVALIDATE_REFUSED with the reason, for either kind of volume.
export function checkInvalidate(volume: string, role: 'Primary' | 'Secondary', peers: Iterable<InvalidatePeer>): void {
  const refused = invalidateRefusal(role, peers);
  if (refused !== null) throw new TandemError('INVALIDATE_REFUSED', `${volume} ${refused}`);
}
