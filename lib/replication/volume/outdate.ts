// `tandem replica outdate NAME` for a volume of either kind (drbdadm
// outdate): a fence-peer handler on the Primary's node runs it here, so this
// node's copy can no longer be promoted without --force.
import { TandemError } from '../../errors.js';
import { outdateVerdict } from '../fencing.js';
import type { DiskState, Role } from '../states.js';
import type { VolumeLog } from './host.js';

export interface OutdateHost {
  readonly role: 'Primary' | 'Secondary';
  readonly diskState: DiskState;
  readonly log: VolumeLog;
  emit(type: string, fields: Record<string, unknown>): void;
}

export interface OutdatePeer {
  readonly name: string;
  readonly peerRole: Role;
  readonly paused: boolean;
  reconnect(detail: string): void;
}

// Throws OUTDATE_REFUSED with the reason; `setDisk` saves and announces the
// change. `by`: the Primary asking through its fence-peer handler; a link to
// it that we still think alive is dropped, so the next connect resyncs us.
export async function outdateVolume(volume: string, host: OutdateHost, peers: Iterable<OutdatePeer>, by: string | null, setDisk: () => Promise<void>): Promise<void> {
  const all = [...peers];
  // --by names the Primary asking (a fence-peer handler passes its own node): only a peer of ours can be it.
  if (by !== null && !all.some((p) => p.name === by)) {
    throw new TandemError('OUTDATE_REFUSED', `${volume}: --by ${by}: not a peer of this volume (its peers: ${all.map((p) => p.name).join(', ')})`);
  }
  // A paused link to the Primary (one-source.ts) takes none of its writes: it does not keep this disk up to date.
  const primary = all.find((p) => p.peerRole === 'Primary' && !p.paused) ?? null;
  const v = outdateVerdict(host.role, host.diskState, primary?.name ?? null, by);
  if (!v.ok) throw new TandemError('OUTDATE_REFUSED', `${volume}: ${v.message}`);
  const was = host.diskState;
  if (v.change) await setDisk();
  if (primary !== null) primary.reconnect(`${primary.name} outdated us: it goes on without us`);
  if (!v.change) return;
  host.log.warn(`${volume}: disk ${was} -> Outdated (replica outdate${by === null ? '' : ` by ${by}`}): promotion now needs a resync from the newer copy, or --force`);
  host.emit('replica.outdated', { volume, was, by });
}
