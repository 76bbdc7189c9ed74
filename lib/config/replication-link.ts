// What every kind of replication volume shares, block or directory: its name
// and metadata file, the link to its peers (listen, peers, timeouts) and the
// split-brain policies; plus the draft the checks across volumes read.
import { posix } from 'node:path';
import { afterSbKey, afterSbPolicyIssue, type Primaries } from '../replication/after-sb-policies.js';
import { FENCING_POLICIES } from '../replication/fencing.js';
import { Fields, oneOf, seconds } from './checks.js';
import { absolutePath, command, hostPort } from './names.js';
import type { KeyPath } from './path.js';
import type { NbdDraft } from './replication-nbd.js';
import { readPeers, type PeerDraft } from './replication-peers.js';
import type { AfterSbConfig, FencingConfig, HostPort, ReplicationPeerConfig, VolumeConfig } from './types.js';

export const DEFAULT_TIMEOUT_MS = 6000;
export const DEFAULT_PING_INTERVAL_MS = 1000;
export const DEFAULT_PING_TIMEOUT_MS = 5000;
export const DEFAULT_AFTER_SB = 'disconnect';
export const DEFAULT_FENCING = 'dont-care';
export const listenAddress = hostPort(false);

// The keys only one volume type takes: written on the other, they are
// refused with a message naming their type.
export const BLOCK_ONLY_KEYS = ['device', 'size', 'nbd', 'block_size', 'al_extents', 'csums_resync', 'resync_max_rate'] as const;
export const DIRECTORY_ONLY_KEYS = ['path', 'exclude', 'settle'] as const;
export const VOLUME_TYPES = ['block', 'directory'] as const;
export type VolumeType = (typeof VOLUME_TYPES)[number];

// Hints for the keys of `other` volumes written on this one; `own` says
// what this type replicates instead.
export function otherTypeHints(keys: readonly string[], other: VolumeType, own: string): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, `${k} belongs to ${other} volumes (type: ${other}); ${own}`]));
}

// DRBD keywords a migrating user may bring along, for every volume type.
const SECRET_HINT = 'the shared secret is read from replication.secret_file, set once for all volumes';
export const LINK_HINTS: Readonly<Record<string, string>> = {
  'meta-disk': 'DRBD\'s meta-disk is written metadata here: a file path (default <state_dir>/<name>.meta)',
  meta_disk: 'DRBD\'s meta-disk is written metadata here: a file path (default <state_dir>/<name>.meta)',
  address: 'this node\'s replication address is listen; the other nodes\' go in peers[].address',
  on: 'DRBD\'s "on HOST" sections are written as listen (this node) and peers (the others)',
  secret_file: SECRET_HINT,
  'shared-secret': SECRET_HINT,
  shared_secret: SECRET_HINT,
  'cram-hmac-alg': SECRET_HINT,
  'allow-two-primaries': 'not supported: a volume has at most one primary, the VRRP master',
  allow_two_primaries: 'not supported: a volume has at most one primary, the VRRP master',
  'fence-peer': 'DRBD\'s handlers { fence-peer } is written fence_peer: COMMAND on the volume',
  handlers: 'DRBD\'s handlers { fence-peer } is written fence_peer: COMMAND on the volume',
};

// The default metadata file, until crossCheck knows node.state_dir.
export const defaultMetadata = (stateDir: string, name: string): string => posix.join(stateDir, `${name}.meta`);

// What the checks across volumes and sections need, even from a broken volume.
export interface VolumeDraft {
  at: KeyPath;
  type: VolumeType;
  name?: string;
  device?: string; // block volumes
  path?: string; // directory volumes: the replicated tree
  metadata?: string; // only when written
  listen?: HostPort;
  peers: PeerDraft[];
  nbd?: NbdDraft; // block volumes
  afterSb: AfterSbConfig;
  config?: VolumeConfig; // set when the volume read without errors
}

// The shared keys as read; `listen` and `name` are undefined when invalid.
export interface LinkRead {
  name?: string;
  metadata?: string;
  listen?: HostPort;
  peers: PeerDraft[];
  afterSb: AfterSbConfig;
  timeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  fencing: FencingConfig;
}

// Everything but type and protocol, whose checks differ per type; `name` is
// read first by the caller (undefined when invalid).
export function readLink(f: Fields, name: string | undefined): LinkRead {
  const metadata = f.optional('metadata', absolutePath);
  const listen = f.required('listen', listenAddress);
  const peers = readPeers(f, listen, f.issues);
  const afterSb = readAfterSb(f);
  const out: LinkRead = { peers, afterSb, ...readTimes(f), fencing: readFencing(f) };
  if (name !== undefined) out.name = name;
  if (metadata !== undefined) out.metadata = metadata;
  if (listen !== undefined) out.listen = listen;
  return out;
}

// The draft of a volume of either type, without its config.
export function linkDraft(at: KeyPath, type: VolumeType, link: LinkRead): VolumeDraft {
  const draft: VolumeDraft = { at, type, peers: link.peers, afterSb: link.afterSb };
  if (link.name !== undefined) draft.name = link.name;
  if (link.metadata !== undefined) draft.metadata = link.metadata;
  if (link.listen !== undefined) draft.listen = link.listen;
  return draft;
}

// The peers of a volume that read without errors.
export const peerConfigs = (peers: readonly PeerDraft[]): ReplicationPeerConfig[] =>
  peers.flatMap((p) => (p.name === undefined || p.address === undefined ? [] : [{ name: p.name, address: p.address }]));

function readTimes(f: Fields): Pick<LinkRead, 'timeoutMs' | 'pingIntervalMs' | 'pingTimeoutMs'> {
  const timeoutMs = f.withDefault('timeout', seconds(0.1, 600, 1000), DEFAULT_TIMEOUT_MS);
  const pingInterval = f.optional('ping_interval', seconds(0.1, 120, 1000));
  const pingTimeout = f.optional('ping_timeout', seconds(0.1, 600, 1000));
  const pingIntervalMs = pingInterval ?? DEFAULT_PING_INTERVAL_MS;
  const pingTimeoutMs = pingTimeout ?? DEFAULT_PING_TIMEOUT_MS;
  // Compared only when both are readable, so one bad value is one issue.
  const readable = (pingInterval !== undefined || !f.has('ping_interval')) && (pingTimeout !== undefined || !f.has('ping_timeout'));
  if (readable && pingTimeoutMs <= pingIntervalMs) {
    const [key, value] = f.has('ping_timeout') ? ['ping_timeout', f.raw('ping_timeout')] : ['ping_interval', f.raw('ping_interval')];
    f.issues.error(f.path(key), value, `ping_timeout (${pingTimeoutMs / 1000} s) must be longer than ping_interval (${pingIntervalMs / 1000} s): a link is only dropped after a ping had time to come back`);
  }
  return { timeoutMs, pingIntervalMs, pingTimeoutMs };
}

// fencing: resource-only needs a handler to run; a handler without it never runs.
function readFencing(f: Fields): FencingConfig {
  const raw = f.raw('fencing');
  if (raw === 'resource-and-stonith') {
    f.issues.error(f.path('fencing'), raw, 'resource-and-stonith (freezing I/O until the peer is shot) is not supported: write fencing: resource-only with a fence_peer handler that powers the peer off and exits 7');
  }
  const fencing = raw === 'resource-and-stonith' ? DEFAULT_FENCING : f.withDefault('fencing', oneOf(FENCING_POLICIES), DEFAULT_FENCING);
  const fencePeer = f.optional('fence_peer', command);
  if (fencing === 'resource-only' && fencePeer === undefined && !f.has('fence_peer')) {
    f.issues.error(f.path('fencing'), fencing, 'fencing: resource-only runs a fence_peer handler when a peer is lost: add fence_peer: COMMAND (exit 4 once the peer is outdated; see docs/replication.md "Fencing")');
  }
  if (fencing === 'dont-care' && fencePeer !== undefined) {
    f.issues.warn(f.path('fence_peer'), fencePeer, 'fence_peer runs only with fencing: resource-only; with dont-care (the default) it is never run');
  }
  return fencePeer === undefined ? { fencing } : { fencing, fencePeer };
}

// Shapes only: whether discard-node-NAME names a node of this volume needs
// node.name, so the section's crossCheck checks that.
function readAfterSb(f: Fields): AfterSbConfig {
  const read = (n: Primaries): string => {
    const key = afterSbKey(n);
    if (!f.has(key)) return DEFAULT_AFTER_SB;
    const value = f.raw(key);
    const problem = afterSbPolicyIssue(n, value);
    if (problem === null && typeof value === 'string') return value;
    f.issues.error(f.path(key), value, problem ?? `${key} must be a string`);
    return DEFAULT_AFTER_SB;
  };
  return { after_sb_0pri: read(0), after_sb_1pri: read(1), after_sb_2pri: read(2) };
}
