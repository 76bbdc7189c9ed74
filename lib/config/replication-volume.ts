// One entry of replication.volumes: a block device or image file replicated
// DRBD-style to 1..31 peers and served to local users over NBD. Checks that
// span volumes, or need the node section, are in replication-section.ts.
import { posix } from 'node:path';
import { afterSbKey, afterSbPolicyIssue, type Primaries } from '../replication/after-sb-policies.js';
import { bool, byteSize, check, Fields, integer, mapping, oneOf, seconds } from './checks.js';
import type { Issues } from './issues.js';
import { absolutePath, hostPort, objectName } from './names.js';
import { DEFAULT_STATE_DIR } from './node-section.js';
import type { KeyPath } from './path.js';
import { readNbd, type NbdDraft } from './replication-nbd.js';
import { readPeers, type PeerDraft } from './replication-peers.js';
import { checkKeys } from './suggest.js';
import type { AfterSbConfig, BlockVolumeConfig, HostPort } from './types.js';

export const VOLUME_KEYS = [
  'name', 'type', 'device', 'size', 'metadata', 'protocol', 'listen', 'peers', 'nbd',
  'after_sb_0pri', 'after_sb_1pri', 'after_sb_2pri', 'block_size', 'al_extents',
  'timeout', 'ping_interval', 'ping_timeout', 'csums_resync',
] as const;

// DRBD keywords a migrating user may bring along, with what to write instead.
const SECRET_HINT = 'the shared secret is read from replication.secret_file, set once for all volumes';
const VOLUME_HINTS: Readonly<Record<string, string>> = {
  disk: 'DRBD\'s disk (the backing device or image file) is written device here',
  'meta-disk': 'DRBD\'s meta-disk is written metadata here: a file path (default <state_dir>/<name>.meta)',
  meta_disk: 'DRBD\'s meta-disk is written metadata here: a file path (default <state_dir>/<name>.meta)',
  address: 'this node\'s replication address is listen; the other nodes\' go in peers[].address',
  on: 'DRBD\'s "on HOST" sections are written as listen (this node) and peers (the others)',
  secret_file: SECRET_HINT,
  'shared-secret': SECRET_HINT,
  shared_secret: SECRET_HINT,
  'cram-hmac-alg': SECRET_HINT,
  'csums-alg': 'tandem chooses the checksum itself: write csums_resync: true',
  csums_alg: 'tandem chooses the checksum itself: write csums_resync: true',
  'allow-two-primaries': 'not supported: a volume has at most one primary, the VRRP master',
  allow_two_primaries: 'not supported: a volume has at most one primary, the VRRP master',
};

export const DEFAULT_PROTOCOL = 'C';
export const DEFAULT_BLOCK_SIZE = 4096;
export const DEFAULT_AL_EXTENTS = 1237; // DRBD's default
export const DEFAULT_TIMEOUT_MS = 6000;
export const DEFAULT_PING_INTERVAL_MS = 1000;
export const DEFAULT_PING_TIMEOUT_MS = 5000;
export const DEFAULT_AFTER_SB = 'disconnect';
export const SIZE_ALIGN = 4096; // the device is read and written in 4 KiB pages
export const MAX_VOLUME_BYTES = 2 ** 52; // 4 PiB: byte offsets stay exact in a double

// The default metadata file, until crossCheck knows node.state_dir.
export const defaultMetadata = (stateDir: string, name: string): string => posix.join(stateDir, `${name}.meta`);

const blockSize = check('a power of two 512..1048576 (bytes)', (v) =>
  Number.isInteger(v) && Number(v) >= 512 && Number(v) <= 2 ** 20 && (Number(v) & (Number(v) - 1)) === 0 ? Number(v) : undefined,
);
const protocol = oneOf(['A', 'B', 'C'] as const);
const volumeSize = byteSize(SIZE_ALIGN, MAX_VOLUME_BYTES);
export const listenAddress = hostPort(false);

// What the checks across volumes and sections need, even from a broken volume.
export interface VolumeDraft {
  at: KeyPath;
  name?: string;
  device?: string;
  metadata?: string; // only when written
  listen?: HostPort;
  peers: PeerDraft[];
  nbd: NbdDraft;
  afterSb: AfterSbConfig;
  config?: BlockVolumeConfig; // set when the volume read without errors
}

export function readVolume(raw: unknown, at: KeyPath, issues: Issues): VolumeDraft | undefined {
  const obj = mapping(raw, at, issues, `a volume with keys such as ${VOLUME_KEYS.slice(0, 7).join(', ')}`);
  if (obj === undefined) return undefined;
  const before = issues.count;
  checkKeys(obj, VOLUME_KEYS, at, issues, VOLUME_HINTS);
  const f = new Fields(obj, at, issues);
  const name = f.required('name', objectName);
  readType(f);
  const device = f.required('device', absolutePath);
  const blockBytes = f.withDefault('block_size', blockSize, DEFAULT_BLOCK_SIZE);
  const size = readSize(f, blockBytes);
  const metadata = f.optional('metadata', absolutePath);
  const proto = f.withDefault('protocol', protocol, DEFAULT_PROTOCOL);
  if (proto !== 'C') {
    const when = proto === 'A' ? 'once it is on the local disk and in the send buffer' : 'once the peer has received it, before it is on the peer\'s disk';
    issues.warn(f.path('protocol'), proto, `protocol ${proto} acknowledges a write ${when}: acknowledged writes can be lost if the primary dies; protocol C waits for the peers' disks`);
  }
  const listen = f.required('listen', listenAddress);
  const peers = readPeers(f, listen, issues);
  const nbd = readNbd(f, name, issues);
  const afterSb = readAfterSb(f);
  const alExtents = f.withDefault('al_extents', integer(7, 65534), DEFAULT_AL_EXTENTS);
  const timeoutMs = f.withDefault('timeout', seconds(0.1, 600, 1000), DEFAULT_TIMEOUT_MS);
  const pingInterval = f.optional('ping_interval', seconds(0.1, 120, 1000));
  const pingTimeout = f.optional('ping_timeout', seconds(0.1, 600, 1000));
  const pingIntervalMs = pingInterval ?? DEFAULT_PING_INTERVAL_MS;
  const pingTimeoutMs = pingTimeout ?? DEFAULT_PING_TIMEOUT_MS;
  // Compared only when both are readable, so one bad value is one issue.
  const readable = (pingInterval !== undefined || !f.has('ping_interval')) && (pingTimeout !== undefined || !f.has('ping_timeout'));
  if (readable && pingTimeoutMs <= pingIntervalMs) {
    const [key, value] = f.has('ping_timeout') ? ['ping_timeout', f.raw('ping_timeout')] : ['ping_interval', f.raw('ping_interval')];
    issues.error(f.path(key), value, `ping_timeout (${pingTimeoutMs / 1000} s) must be longer than ping_interval (${pingIntervalMs / 1000} s): a link is only dropped after a ping had time to come back`);
  }
  const csumsResync = f.withDefault('csums_resync', bool, false);

  const draft: VolumeDraft = { at, peers, nbd, afterSb };
  if (name !== undefined) draft.name = name;
  if (device !== undefined) draft.device = device;
  if (metadata !== undefined) draft.metadata = metadata;
  if (listen !== undefined) draft.listen = listen;
  if (issues.count > before || name === undefined || device === undefined || size === undefined || listen === undefined) return draft;
  draft.config = {
    name, type: 'block', device, size,
    metadata: metadata ?? defaultMetadata(DEFAULT_STATE_DIR, name),
    protocol: proto, listen,
    peers: peers.flatMap((p) => (p.name === undefined || p.address === undefined ? [] : [{ name: p.name, address: p.address }])),
    nbd: nbd.config, afterSb, blockSize: blockBytes, alExtents, timeoutMs, pingIntervalMs, pingTimeoutMs, csumsResync,
  };
  return draft;
}

function readType(f: Fields): void {
  if (!f.has('type')) return;
  const value = f.raw('type');
  if (value === 'directory') {
    f.issues.error(f.path('type'), value, 'directory volumes are not implemented yet (issue 4): must be "block"');
    return;
  }
  f.optional('type', oneOf(['block'] as const));
}

// A multiple of 4096 always; of block_size too when that is larger, so the
// bitmap covers the device exactly.
function readSize(f: Fields, blockBytes: number): number | undefined {
  const size = f.required('size', volumeSize);
  if (size === undefined || size % blockBytes === 0) return size;
  f.issues.error(f.path('size'), f.raw('size'), `${size} bytes is not a multiple of block_size (${blockBytes}): the bitmap tracks whole blocks, so the size must be a multiple of ${blockBytes}`);
  return undefined;
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
