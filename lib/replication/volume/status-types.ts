// What `tandem replica status` reports per volume and per peer: the shape the
// daemon returns over the control socket (JSON) and the CLI prints. Names and
// states are DRBD's (drbdsetup status --verbose --statistics).
import type { DirectoryVolumeStatus } from '../files/dir-status.js';
import type { ConnectionState, DiskState, ReplicationState, Role } from '../states.js';

export interface ResyncProgress {
  direction: 'SyncSource' | 'SyncTarget';
  full: boolean;
  total_bytes: number; // out of sync when the resync began
  done_bytes: number;
  percent: number; // 0..100, one decimal
  rate_bytes_per_s: number; // over the last few seconds
  eta_s: number | null; // null while the rate is still unknown
  max_rate_bytes_per_s: number | null; // as SyncTarget, its resync_max_rate; null: no cap here
}

export interface VerifyProgress {
  direction: 'VerifyS' | 'VerifyT';
  total_bytes: number;
  done_bytes: number;
  percent: number;
  mismatched_bytes: number; // found so far (marked out of sync)
}

export interface PeerStatus {
  name: string;
  address: string; // host:port of the peer's replication listener
  connection: ConnectionState;
  replication: ReplicationState; // 'Off' unless Connected
  role: Role; // the peer's role; 'Unknown' unless Connected
  disk: DiskState; // the peer's disk; 'DUnknown' unless Connected
  connected: boolean;
  uptime_s: number | null; // since the current connection was established
  tcp_congestion: string | null; // the link's TCP congestion control (replication.congestion_control), as the kernel reports it; null unless connected
  bytes_sent: number;
  bytes_received: number;
  writes_sent: number; // WRITE frames replicated to this peer (an application write over 4 MiB is one per 4 MiB)
  writes_received: number; // WRITE frames taken from this peer, counted the same way
  last_sent_at: string | null; // ISO 8601
  last_received_at: string | null;
  out_of_sync_bytes: number; // blocks this peer lacks (our bitmap for it); during a resync, what is left of it
  pending: number; // writes sent to this peer, not yet acknowledged
  unacked: number; // same as pending, kept for drbdsetup's column name (ua)
  disconnects: number;
  last_error: { reason: string; detail: string; at: string } | null; // the last close not asked for here (disconnect, invalidate, stop are not errors)
  resync: ResyncProgress | null;
  resync_suspended: string | null; // PausedSyncS / PausedSyncT: the other source it waits for (one source at a time)
  resync_held: string | null; // Established with bits either way: the Primary whose writes both sides take (they move once that ends)
  stale_bits: boolean; // our out-of-sync blocks for this peer are marks of our own crash as Secondary: they resync from it
  verify: VerifyProgress | null;
  split_brain: boolean; // the last connect attempt found a split brain (and it was not resolved)
  discard_my_data: boolean; // discard-my-data is armed: at the next connect with this peer a split brain resolves against this node
}

export interface VolumeStatus {
  name: string;
  type: 'block';
  role: 'Primary' | 'Secondary';
  disk: DiskState;
  protocol: 'A' | 'B' | 'C';
  size_bytes: number;
  device: string;
  nbd: { tcp: string | null; socket: string | null; clients: number } | null; // null unless Primary
  generations: { current: string; history: string[]; bitmap: Record<string, string> };
  suspended: boolean; // the volume refused I/O after a local disk error
  peers: PeerStatus[];
}

// A block volume's status or a directory volume's (files/dir-status.ts), told apart by `type`.
export type AnyVolumeStatus = VolumeStatus | DirectoryVolumeStatus;

export interface ReplicaStatus {
  node: string;
  volumes: AnyVolumeStatus[];
}

// Control-socket commands and their request fields; each replies
// { ok: true, result: AnyVolumeStatus } or { ok: false, error: "why, and what is allowed" }.
export type ReplicaCommand =
  | { command: 'replica.status'; volume?: string } // result: ReplicaStatus
  | { command: 'replica.primary'; volume: string; force?: boolean }
  | { command: 'replica.secondary'; volume: string; force?: boolean }
  | { command: 'replica.connect'; volume: string }
  | { command: 'replica.disconnect'; volume: string }
  | { command: 'replica.verify'; volume: string } // starts verify; result as above, verify progress in peers
  | { command: 'replica.invalidate'; volume: string }
  | { command: 'replica.outdate'; volume: string; by?: string }
  | { command: 'replica.discard-my-data'; volume: string }
  | { command: 'replica.flush'; volume: string }; // waits until every change made before it is replicated (C: on the peers' disks)
