// One entry of replication.volumes: by its type, a block device or image file
// replicated DRBD-style to 1..31 peers and served to local users over NBD
// (read here), or a directory tree (replication-directory.ts). Checks that
// span volumes, or need the node section, are in replication-section.ts.
import { bool, byteRate, byteSize, check, Fields, integer, mapping, oneOf } from './checks.js';
import type { Issues } from './issues.js';
import { absolutePath, nodeName } from './names.js';
import { DEFAULT_STATE_DIR } from './node-section.js';
import type { KeyPath } from './path.js';
import { readDirectoryVolume } from './replication-directory.js';
import {
  defaultMetadata, DIRECTORY_ONLY_KEYS, LINK_HINTS, linkDraft, otherTypeHints, peerConfigs, readLink, VOLUME_TYPES,
  type VolumeDraft, type VolumeType,
} from './replication-link.js';
import { readNbd } from './replication-nbd.js';
import { checkKeys } from './suggest.js';

export const VOLUME_KEYS = [
  'name', 'type', 'device', 'size', 'metadata', 'protocol', 'listen', 'peers', 'nbd',
  'after_sb_0pri', 'after_sb_1pri', 'after_sb_2pri', 'block_size', 'al_extents',
  'timeout', 'ping_interval', 'ping_timeout', 'csums_resync', 'resync_max_rate', 'fencing', 'fence_peer',
] as const;

// DRBD keywords a migrating user may bring along, with what to write instead,
// and the keys of directory volumes.
const VOLUME_HINTS: Readonly<Record<string, string>> = {
  ...LINK_HINTS,
  ...otherTypeHints(DIRECTORY_ONLY_KEYS, 'directory', 'a block volume replicates its device'),
  disk: 'DRBD\'s disk (the backing device or image file) is written device here',
  'csums-alg': 'tandem chooses the checksum itself: write csums_resync: true',
  csums_alg: 'tandem chooses the checksum itself: write csums_resync: true',
  'c-max-rate': 'DRBD\'s c-max-rate is written resync_max_rate, e.g. 100MiB/s',
  c_max_rate: 'DRBD\'s c-max-rate is written resync_max_rate, e.g. 100MiB/s',
  'resync-rate': 'tandem has no fixed resync rate (it follows the link and the application); a cap is written resync_max_rate, e.g. 100MiB/s',
  resync_rate: 'tandem has no fixed resync rate (it follows the link and the application); a cap is written resync_max_rate, e.g. 100MiB/s',
};

export const DEFAULT_PROTOCOL = 'C';
export const DEFAULT_BLOCK_SIZE = 4096;
export const DEFAULT_AL_EXTENTS = 1237; // DRBD's default
export const SIZE_ALIGN = 4096; // the device is read and written in 4 KiB pages
export const MAX_VOLUME_BYTES = 2 ** 52; // 4 PiB: byte offsets stay exact in a double

const blockSize = check('a power of two 512..1048576 (bytes)', (v) =>
  Number.isInteger(v) && Number(v) >= 512 && Number(v) <= 2 ** 20 && (Number(v) & (Number(v) - 1)) === 0 ? Number(v) : undefined,
);
const protocol = oneOf(['A', 'B', 'C'] as const);
const volumeSize = byteSize(SIZE_ALIGN, MAX_VOLUME_BYTES);
const volumeType = oneOf(VOLUME_TYPES);
const resyncRate = byteRate({ bytes: 64 << 10, text: '64KiB/s' }, { bytes: 2 ** 40, text: '1TiB/s' });

export function readVolume(raw: unknown, at: KeyPath, issues: Issues): VolumeDraft | undefined {
  const obj = mapping(raw, at, issues, `a volume with keys such as ${VOLUME_KEYS.slice(0, 7).join(', ')}`);
  if (obj === undefined) return undefined;
  return readType(obj, at, issues) === 'directory' ? readDirectoryVolume(obj, at, issues) : readBlockVolume(obj, at, issues);
}

// The type, block when absent; when it is invalid, the keys written decide
// which reader reports the rest, so a typo in "directory" is one issue.
function readType(obj: Record<string, unknown>, at: KeyPath, issues: Issues): VolumeType {
  if (!Object.hasOwn(obj, 'type')) return 'block';
  const type = volumeType.read(obj['type'], [...at, 'type'], issues);
  return type ?? (Object.hasOwn(obj, 'path') && !Object.hasOwn(obj, 'device') ? 'directory' : 'block');
}

function readBlockVolume(obj: Record<string, unknown>, at: KeyPath, issues: Issues): VolumeDraft {
  const before = issues.count;
  checkKeys(obj, VOLUME_KEYS, at, issues, VOLUME_HINTS);
  const f = new Fields(obj, at, issues);
  const name = f.required('name', nodeName);
  const device = f.required('device', absolutePath);
  const blockBytes = f.withDefault('block_size', blockSize, DEFAULT_BLOCK_SIZE);
  const size = readSize(f, blockBytes);
  const proto = f.withDefault('protocol', protocol, DEFAULT_PROTOCOL);
  if (proto !== 'C') {
    const when = proto === 'A' ? 'once it is on the local disk and in the send buffer' : 'once the peer has received it, before it is on the peer\'s disk';
    issues.warn(f.path('protocol'), proto, `protocol ${proto} acknowledges a write ${when}: acknowledged writes can be lost if the primary dies; protocol C waits for the peers' disks`);
  }
  const link = readLink(f, name);
  const nbd = readNbd(f, name, issues);
  const alExtents = f.withDefault('al_extents', integer(7, 65534), DEFAULT_AL_EXTENTS);
  const csumsResync = f.withDefault('csums_resync', bool, false);
  const resyncMaxRate = f.optional('resync_max_rate', resyncRate) ?? null;

  const draft: VolumeDraft = { ...linkDraft(at, 'block', link), nbd };
  if (device !== undefined) draft.device = device;
  if (issues.count > before || name === undefined || device === undefined || size === undefined || link.listen === undefined) return draft;
  draft.config = {
    name, type: 'block', device, size,
    metadata: link.metadata ?? defaultMetadata(DEFAULT_STATE_DIR, name),
    protocol: proto, listen: link.listen, peers: peerConfigs(link.peers),
    nbd: nbd.config, afterSb: link.afterSb, blockSize: blockBytes, alExtents,
    timeoutMs: link.timeoutMs, pingIntervalMs: link.pingIntervalMs, pingTimeoutMs: link.pingTimeoutMs, csumsResync, resyncMaxRate, ...link.fencing,
  };
  return draft;
}

// A multiple of 4096 always; of block_size too when that is larger, so the
// bitmap covers the device exactly.
function readSize(f: Fields, blockBytes: number): number | undefined {
  const size = f.required('size', volumeSize);
  if (size === undefined || size % blockBytes === 0) return size;
  f.issues.error(f.path('size'), f.raw('size'), `${size} bytes is not a multiple of block_size (${blockBytes}): the bitmap tracks whole blocks, so the size must be a multiple of ${blockBytes}`);
  return undefined;
}
