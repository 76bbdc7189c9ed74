// What `tandem status` shows: the node and, per VRRP instance, its state,
// priorities, current master, VIPs and counters.
import type { TandemConfig } from '../config/types.js';
import type { InstanceStatus, VrrpEngine } from '../vrrp/engine/engine.js';
import type { HaNode, HaStatus } from './ha-node.js';
import type { AnyVolumeStatus } from '../replication/volume/status-types.js';

// One line per volume in `tandem status` (the full picture is `tandem replica status`).
export interface VolumeSummary {
  name: string;
  type: 'block' | 'directory';
  role: 'Primary' | 'Secondary';
  disk: string;
  // resync_suspended: while PausedSyncS / PausedSyncT, the other source the link waits for
  peers: Array<{ name: string; connection: string; replication: string; role: string; disk: string; sync_percent: number | null; resync_suspended: string | null }>;
}

export function summarize(v: AnyVolumeStatus): VolumeSummary {
  return {
    name: v.name,
    type: v.type,
    role: v.role,
    disk: v.disk,
    peers: v.peers.map((p) => ({
      name: p.name,
      connection: p.connection,
      replication: p.replication,
      role: p.role,
      disk: p.disk,
      sync_percent: 'resync' in p && p.resync !== null ? p.resync.percent : null,
      resync_suspended: p.resync_suspended,
    })),
  };
}

// The daemon's own phase: while 'starting', the volumes are being opened and
// the resource group built, so `ha` is still null and `volumes` may be empty.
export type DaemonPhase = 'starting' | 'running' | 'stopping';

export interface NodeStatus {
  node: string;
  pid: number;
  uptime_s: number;
  daemon: DaemonPhase;
  vrrp: InstanceStatus[];
  vrrp_socket_drops: Record<string, number>;
  volumes: VolumeSummary[];
  ha: HaStatus | null; // null: no resource group (no services or volumes, or not exactly one instance), or still starting
}

export function buildStatus(cfg: TandemConfig, engine: VrrpEngine, startedAt: number, daemon: DaemonPhase, ha: HaNode | null = null, volumes: AnyVolumeStatus[] = []): NodeStatus {
  return {
    node: cfg.node.name,
    pid: process.pid,
    uptime_s: Math.round((Date.now() - startedAt) / 1000),
    daemon,
    vrrp: engine.status(),
    vrrp_socket_drops: engine.socketDrops(),
    volumes: volumes.map(summarize),
    ha: ha?.status() ?? null,
  };
}
