// The normalized configuration: what the validator hands to the daemon once
// every key has been checked and every default filled in. Field names follow
// keepalived's keywords (snake_case in YAML, camelCase here).
import type { FencingPolicy } from '../replication/fencing.js';
import type { RestartPolicy } from '../services/restart-policy.js';

export type Family = 4 | 6;
export type VrrpVersion = 2 | 3;

export interface NodeConfig {
  name: string;
  stateDir: string;
  controlSocket: string;
}

export interface VirtualAddress {
  address: string; // canonical text form, without prefix
  prefix: number; // default 32 (IPv4) / 128 (IPv6), as keepalived
  family: Family;
  dev: string; // defaults to the instance's interface
  label?: string;
}

export interface TrackInterface {
  name: string;
  weight: number; // 0 = the instance goes FAULT while the link is down
}

export interface TrackScriptRef {
  name: string;
  weight?: number; // overrides the script's own weight when present
}

export interface ScriptConfig {
  name: string;
  script: string; // run through /bin/sh -c
  intervalMs: number; // default 1000
  timeoutMs: number; // default = interval
  weight: number; // default 0 (failure means FAULT); -253..253
  rise: number; // default 1
  fall: number; // default 1
}

export interface Authentication {
  authType: 'PASS';
  authPass: string; // 1..8 bytes, zero padded on the wire (RFC 3768 5.3.7)
}

export interface NotifyConfig {
  notify?: string;
  notifyMaster?: string;
  notifyBackup?: string;
  notifyFault?: string;
  notifyStop?: string;
}

export interface InstanceConfig extends NotifyConfig {
  name: string;
  interface: string;
  virtualRouterId: number; // 1..255
  priority: number; // 1..255; 255 = address owner
  advertIntCs: number; // centiseconds: v2 100..25500 step 100, v3 1..4095
  version: VrrpVersion;
  family: Family; // from the VIPs (and unicast addresses); IPv6 implies version 3
  initialState: 'BACKUP' | 'MASTER'; // keepalived `state`; default BACKUP
  nopreempt: boolean;
  preemptDelayMs: number; // 0..1000000
  unicastSrcIp?: string;
  unicastPeer: string[]; // empty = multicast
  checkUnicastSrc: boolean;
  authentication?: Authentication; // v2 only
  v3ChecksumAsV2: boolean;
  virtualIpaddress: VirtualAddress[];
  trackInterface: TrackInterface[];
  trackScript: TrackScriptRef[];
  garpMasterDelayMs: number; // default 5000
  garpMasterRepeat: number; // default 5
  garpMasterRefreshMs: number; // default 0 = off
}

export interface SyncGroupConfig extends NotifyConfig {
  name: string;
  members: string[];
}

export interface VrrpConfig {
  instances: InstanceConfig[];
  scripts: Record<string, ScriptConfig>;
  syncGroups: SyncGroupConfig[];
}

export interface HostPort {
  host: string; // canonical IPv4 / IPv6 text, no brackets
  port: number;
}

export interface ReplicationPeerConfig {
  name: string; // the peer's node.name; the handshake checks it
  address: HostPort; // where its replication listener is
}

export interface ReplicationTlsConfig {
  cert: string;
  key: string;
  ca: string;
}

export type ReplicationProtocol = 'A' | 'B' | 'C';

// DRBD's fencing policy (lib/replication/fencing.ts) and its fence-peer handler.
export interface FencingConfig {
  fencing: FencingPolicy; // default dont-care
  fencePeer?: string; // a shell command; required with resource-only
}

export interface AfterSbConfig {
  after_sb_0pri: string; // values checked by afterSbPolicyIssue (lib/replication/after-sb-policies.ts)
  after_sb_1pri: string;
  after_sb_2pri: string;
}

export interface BlockVolumeConfig extends FencingConfig {
  name: string;
  type: 'block';
  device: string; // image file (created at `size` when missing) or block device
  size: number; // bytes
  metadata: string; // metadata file; default <state_dir>/<name>.meta
  protocol: ReplicationProtocol; // default C
  listen: HostPort; // this node's replication address
  peers: ReplicationPeerConfig[];
  nbd: { tcp?: HostPort; socket?: string }; // default: socket /run/tandem/<name>.nbd only, no TCP
  afterSb: AfterSbConfig;
  blockSize: number; // bitmap granularity, bytes (default 4096)
  alExtents: number; // activity-log extents (default 1237)
  timeoutMs: number; // a peer that does not acknowledge for this long is dropped (default 6000)
  pingIntervalMs: number; // default 1000
  pingTimeoutMs: number; // default 5000: silent this long -> link dropped
  csumsResync: boolean; // checksum-based resync (default false)
  resyncMaxRate: number | null; // bytes per second a resync into this node asks for at most; null: no limit (default)
}

// A watched directory kept identical on every peer (issue 4).
export interface DirectoryVolumeConfig extends FencingConfig {
  name: string;
  type: 'directory';
  path: string; // absolute; the tree replicated (created when missing)
  exclude: string[]; // rsync-like patterns (lib/replication/files/exclude.ts), not replicated
  metadata: string; // generation record; default <state_dir>/<name>.meta
  protocol: 'A' | 'C'; // C (default): a change counts once every peer applied and fsynced it
  listen: HostPort;
  peers: ReplicationPeerConfig[];
  afterSb: AfterSbConfig;
  settleMs: number; // a changed file is sent once it was quiet this long (default 50): bursts coalesce
  timeoutMs: number; // a peer that does not acknowledge for this long is dropped (default 6000)
  pingIntervalMs: number; // default 1000
  pingTimeoutMs: number; // default 5000
}

export type VolumeConfig = BlockVolumeConfig | DirectoryVolumeConfig;

export interface ReplicationConfig {
  secretFile: string; // '' only when there are no volumes
  tls?: ReplicationTlsConfig;
  congestionControl: string | null; // the links' TCP congestion control; null: the host's default
  volumes: VolumeConfig[];
}

// How a service is probed once started (issue 5); timeoutMs < intervalMs.
// Shaped like lib/services' HealthProbe, plus the interval.
export type HealthCheckConfig =
  | { kind: 'http'; url: string; intervalMs: number; timeoutMs: number } // healthy on a 2xx or 3xx answer
  | { kind: 'tcp'; host: string; port: number; intervalMs: number; timeoutMs: number } // healthy when it accepts a connection; host canonical
  | { kind: 'exec'; argv: string[]; intervalMs: number; timeoutMs: number }; // healthy on exit status 0

interface ServiceBase {
  name: string;
  requires: string[]; // replication volumes that must be Primary before the service starts
  health: HealthCheckConfig | null; // null: healthy once started
  restart: RestartPolicy; // default DEFAULT_RESTART_POLICY (lib/services/restart-policy.ts)
  startTimeoutMs: number; // to become healthy (default 60000)
  stopTimeoutMs: number; // SIGTERM, then SIGKILL after this long (default 30000)
}

// A managed service: the list order is the start order, stopped in reverse.
export type ServiceConfig =
  | (ServiceBase & { kind: 'unit'; unit: string }) // a systemd unit, "NAME.service"
  | (ServiceBase & { kind: 'command'; argv: string[]; user?: string; env: Record<string, string> }) // argv[0] absolute
  | (ServiceBase & { kind: 'oneshot'; start: string[]; stop: string[] }); // run to completion at start and at stop

// Boot safety: a node that has not heard its peer since it started waits, unless one of these lets it go alone.
export interface StartupConfig {
  standaloneAfterMs?: number; // absent: wait for the peer forever
  witness?: string; // canonical IP address; its ping answer lets the node start alone
  faultHoldMs?: number; // after a failed takeover or a spent restart budget, FAULT this long (default 30 s)
}

export interface TandemConfig {
  node: NodeConfig;
  vrrp: VrrpConfig;
  replication: ReplicationConfig;
  services: ServiceConfig[]; // default []
  startup: StartupConfig; // default {}
}

// One problem found while validating; all of them are reported at once.
export interface ConfigIssue {
  path: string; // e.g. "vrrp.instances[0].priority"
  value: unknown; // the offending value as written (undefined when missing)
  message: string; // what is allowed, e.g. "must be an integer 1..255"
  line?: number; // 1-based position in the YAML source, when it is known
  column?: number;
}
