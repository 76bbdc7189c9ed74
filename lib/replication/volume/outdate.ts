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
}

// Throws OUTDATE_REFUSED with the reason; `setDisk` saves and announces the change.
export async function outdateVolume(volume: string, host: OutdateHost, peers: Iterable<OutdatePeer>, setDisk: () => Promise<void>): Promise<void> {
  const primary = [...peers].find((p) => p.peerRole === 'Primary')?.name ?? null;
  const v = outdateVerdict(host.role, host.diskState, primary);
  if (!v.ok) throw new TandemError('OUTDATE_REFUSED', `${volume}: ${v.message}`);
  if (!v.change) return;
  const was = host.diskState;
  await setDisk();
  host.log.warn(`${volume}: disk ${was} -> Outdated (replica outdate): promotion now needs a resync from the newer copy, or --force`);
  host.emit('replica.outdated', { volume, was });
}
