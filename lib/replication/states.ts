// The state names of a replicated volume, exactly as DRBD 9 spells them, so
// logs, status, events and docs use one word per state (architecture.md).

// DRBD 9 guide "Resource roles": Unknown only for a peer we are not connected to.
export type Role = 'Primary' | 'Secondary' | 'Unknown';
export const ROLES: readonly Role[] = ['Primary', 'Secondary', 'Unknown'];

// DRBD 9 guide "Disk states"; DUnknown is only ever a peer's disk while disconnected.
export type DiskState = 'Diskless' | 'Attaching' | 'Inconsistent' | 'Outdated' | 'DUnknown' | 'Consistent' | 'UpToDate';
export const DISK_STATES: readonly DiskState[] = ['Diskless', 'Attaching', 'Inconsistent', 'Outdated', 'DUnknown', 'Consistent', 'UpToDate'];

// DRBD 9 guide "Connection states" (per peer).
export type ConnectionState = 'StandAlone' | 'Connecting' | 'Connected' | 'NetworkFailure' | 'ProtocolError' | 'Timeout';
export const CONNECTION_STATES: readonly ConnectionState[] = ['StandAlone', 'Connecting', 'Connected', 'NetworkFailure', 'ProtocolError', 'Timeout'];

// DRBD 9 guide "Replication states" (per peer, meaningful while Connected).
export type ReplicationState =
  | 'Off' | 'Established' | 'SyncSource' | 'SyncTarget' | 'PausedSyncS' | 'PausedSyncT'
  | 'VerifyS' | 'VerifyT' | 'Ahead' | 'Behind';
export const REPLICATION_STATES: readonly ReplicationState[] = [
  'Off', 'Established', 'SyncSource', 'SyncTarget', 'PausedSyncS', 'PausedSyncT', 'VerifyS', 'VerifyT', 'Ahead', 'Behind',
];

// The write stream flows and no resync runs (a verify only compares): the two sides hold the same data.
export const isInStep = (r: ReplicationState): boolean => r === 'Established' || r === 'VerifyS' || r === 'VerifyT';

// A resync or write stream that waits for another source to finish (one-source.ts): the peer takes none of our writes.
export const isPausedSync = (r: ReplicationState): boolean => r === 'PausedSyncS' || r === 'PausedSyncT';

export const isRole = (v: unknown): v is Role => (ROLES as readonly unknown[]).includes(v);
export const isDiskState = (v: unknown): v is DiskState => (DISK_STATES as readonly unknown[]).includes(v);

// A disk whose blocks are a complete image of some generation (DRBD 9 guide
// "Disk states": Consistent, Outdated and UpToDate all are; Inconsistent is not).
export const hasConsistentData = (d: DiskState): boolean => d === 'UpToDate' || d === 'Consistent' || d === 'Outdated';

export type PromoteRefusal = 'disk-outdated' | 'disk-not-up-to-date' | 'no-local-disk';
export type PromoteVerdict = { ok: true; forced: boolean } | { ok: false; reason: PromoteRefusal; message: string };

// Only UpToDate may become Primary. `--force` also takes Consistent,
// Inconsistent (the forced first Primary of a new volume) and Outdated (the
// disaster case: the node with newer data is lost for good), as DRBD's
// `primary --force` does; the HA conductor never forces.
export function canPromote(disk: DiskState, force: boolean): PromoteVerdict {
  if (disk === 'UpToDate') return { ok: true, forced: false };
  if (disk === 'Diskless' || disk === 'Attaching' || disk === 'DUnknown') {
    return { ok: false, reason: 'no-local-disk', message: `the disk is ${disk}: there is no local data to serve` };
  }
  if (force) return { ok: true, forced: true };
  if (disk === 'Outdated') {
    return { ok: false, reason: 'disk-outdated', message: 'the disk is Outdated (a Primary went on writing without this node): connect and resync first; promote with --force only if the newer copy is lost for good' };
  }
  return { ok: false, reason: 'disk-not-up-to-date', message: `the disk is ${disk}, not UpToDate; promote with --force only if you know this copy is the one to keep` };
}
