// What `tandem status` shows: the node and, per VRRP instance, its state,
// priorities, current master, VIPs and counters.
import type { TandemConfig } from '../config/types.js';
import type { InstanceStatus, VrrpEngine } from '../vrrp/engine/engine.js';

export interface NodeStatus {
  node: string;
  pid: number;
  uptime_s: number;
  vrrp: InstanceStatus[];
  vrrp_socket_drops: Record<string, number>;
}

export function buildStatus(cfg: TandemConfig, engine: VrrpEngine, startedAt: number): NodeStatus {
  return {
    node: cfg.node.name,
    pid: process.pid,
    uptime_s: Math.round((Date.now() - startedAt) / 1000),
    vrrp: engine.status(),
    vrrp_socket_drops: engine.socketDrops(),
  };
}
