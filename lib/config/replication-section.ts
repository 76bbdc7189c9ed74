// `replication`: the shared secret, optional TLS, and the replicated volumes.
// Absent means no replication (a VRRP-only node). What needs the node section
// (its name, state_dir and control socket) is checked in crossCheck, which
// also fills the default metadata path <state_dir>/<name>.meta and checks
// where directory volumes' trees lie.
import { afterSbPolicyIssue } from '../replication/after-sb-policies.js';
import { activityLogPath } from '../replication/block/activity-log.js';
import { Fields, mapping, text } from './checks.js';
import type { Issues } from './issues.js';
import { absolutePath } from './names.js';
import { DEFAULT_STATE_DIR } from './node-section.js';
import type { KeyPath } from './path.js';
import { checkAcrossVolumes, samePathKey, volumeFiles } from './replication-across.js';
import { defaultMetadata, type VolumeDraft } from './replication-link.js';
import { checkTrees } from './replication-trees.js';
import { readVolume } from './replication-volume.js';
import type { Section } from './section.js';
import { checkKeys } from './suggest.js';
import type { NodeConfig, ReplicationConfig, ReplicationTlsConfig } from './types.js';

export const REPLICATION_KEYS = ['secret_file', 'tls', 'congestion_control', 'volumes'] as const;
// The links' TCP congestion control (tcp(7) TCP_CONGESTION), whatever the
// host's default: a host set to BBR for its Internet traffic would pace a
// replication stream to BBR's bandwidth estimate, which on a LAN link holds
// a single stream well below the link (docs/replication.md "Links").
export const DEFAULT_CONGESTION_CONTROL = 'cubic';
export const HOST_CONGESTION_CONTROL = 'system'; // keep the host's net.ipv4.tcp_congestion_control
const congestionControl = text(
  `"${HOST_CONGESTION_CONTROL}" (the host's net.ipv4.tcp_congestion_control) or the name of a TCP congestion control algorithm: 1..15 characters from a-z 0-9 _ (cubic, bbr, reno, ...)`,
  (s) => /^[a-z0-9_]{1,15}$/.test(s),
);
export const TLS_KEYS = ['cert', 'key', 'ca'] as const;
const REPLICATION_HINTS: Readonly<Record<string, string>> = {
  resources: 'DRBD\'s resources are written as volumes here',
  resource: 'DRBD\'s resources are written as volumes here',
  shared_secret: 'the secret is read from a file: write secret_file: /path',
  congestion: 'the links\' TCP congestion control is congestion_control: cubic (the default), bbr, ... or system',
  tcp_congestion_control: 'the links\' TCP congestion control is congestion_control: cubic (the default), bbr, ... or system',
};

// The drafts behind each validated section, for crossCheck: they keep the
// key paths and say which metadata paths were defaulted.
const DRAFTS = new WeakMap<ReplicationConfig, readonly VolumeDraft[]>();

export const replicationSection: Section<'replication'> = {
  key: 'replication',
  validate(raw, at, { issues }) {
    if (raw === undefined) return { secretFile: '', congestionControl: DEFAULT_CONGESTION_CONTROL, volumes: [] };
    const obj = mapping(raw, at, issues, `keys: ${REPLICATION_KEYS.join(', ')}`);
    if (obj === undefined) return undefined;
    checkKeys(obj, REPLICATION_KEYS, at, issues, REPLICATION_HINTS);
    const f = new Fields(obj, at, issues);
    const drafts = readVolumes(f.raw('volumes'), f.path('volumes'), issues);
    const volumesWritten = Array.isArray(f.raw('volumes')) && (f.raw('volumes') as unknown[]).length > 0;
    const secretFile = readSecretFile(f, volumesWritten);
    const tls = f.has('tls') ? readTls(f.raw('tls'), f.path('tls'), issues) : undefined;
    const cc = f.withDefault('congestion_control', congestionControl, DEFAULT_CONGESTION_CONTROL);
    checkAcrossVolumes(drafts, issues);
    const out: ReplicationConfig = { secretFile: secretFile ?? '', congestionControl: cc === HOST_CONGESTION_CONTROL ? null : cc, volumes: drafts.flatMap((d) => (d.config === undefined ? [] : [d.config])) };
    if (tls !== undefined) out.tls = tls;
    DRAFTS.set(out, drafts);
    return out;
  },
  crossCheck(config, { issues }) {
    const drafts = config.replication === undefined ? undefined : DRAFTS.get(config.replication);
    if (drafts === undefined) return;
    const stateDir = config.node?.stateDir ?? DEFAULT_STATE_DIR;
    fillMetadata(drafts, stateDir, issues);
    checkTrees(drafts, stateDir, config.node, issues);
    if (config.node !== undefined && config.node.name !== '') checkAgainstNode(drafts, config.node, issues);
  },
};

function readVolumes(raw: unknown, at: KeyPath, issues: Issues): VolumeDraft[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.error(at, raw, 'must be a list of volumes (- name: db ...), or [] for none');
    return [];
  }
  return raw.flatMap((v: unknown, i) => readVolume(v, [...at, i], issues) ?? []);
}

function readSecretFile(f: Fields, needed: boolean): string | undefined {
  if (f.has('secret_file') || !needed) return f.optional('secret_file', absolutePath);
  f.issues.error(f.path('secret_file'), undefined, `required key is missing when there are volumes: must be ${absolutePath.allowed}, the file holding the secret the nodes authenticate each other with`);
  return undefined;
}

function readTls(raw: unknown, at: KeyPath, issues: Issues): ReplicationTlsConfig | undefined {
  const obj = mapping(raw, at, issues, `cert, key and ca, each ${absolutePath.allowed}`);
  if (obj === undefined) return undefined;
  checkKeys(obj, TLS_KEYS, at, issues);
  const f = new Fields(obj, at, issues);
  const cert = f.required('cert', absolutePath);
  const key = f.required('key', absolutePath);
  const ca = f.required('ca', absolutePath);
  return cert === undefined || key === undefined || ca === undefined ? undefined : { cert, key, ca };
}

// Volumes without a metadata key get <state_dir>/<name>.meta (and a block
// volume <name>.meta.al beside it), which must not be a file another volume
// writes.
function fillMetadata(drafts: readonly VolumeDraft[], stateDir: string, issues: Issues): void {
  const written = new Map(drafts.flatMap((d) => volumeFiles(d)).map((f) => [samePathKey(f.path), f.what]));
  for (const d of drafts) {
    if (d.metadata !== undefined || d.name === undefined) continue;
    const path = defaultMetadata(stateDir, d.name);
    if (d.config !== undefined) d.config.metadata = path;
    const own = d.type === 'block' ? [path, activityLogPath(path)] : [path];
    const clash = own.map((p) => ({ p, taken: written.get(samePathKey(p)) })).find((c) => c.taken !== undefined);
    if (clash !== undefined) {
      issues.error([...d.at, 'metadata'], undefined, `defaults to ${path} (node.state_dir/NAME.meta)${clash.p === path ? '' : ` with its activity log ${clash.p}`}, which is also ${clash.taken}: set metadata to a path of its own`);
    }
  }
}

function checkAgainstNode(drafts: readonly VolumeDraft[], node: NodeConfig, issues: Issues): void {
  for (const d of drafts) {
    for (const p of d.peers) {
      if (p.name === node.name) issues.error([...p.at, 'name'], p.name, `${p.name} is this node's own name (node.name): peers lists the other nodes`);
    }
    // discard-node-NAME must name a node of this volume; with an unreadable
    // peer name the list is incomplete, so the check waits for a clean read.
    if (d.peers.length > 0 && d.peers.every((p) => p.name !== undefined)) {
      const names = [node.name, ...d.peers.flatMap((p) => (p.name === undefined ? [] : [p.name]))];
      const problem = afterSbPolicyIssue(0, d.afterSb.after_sb_0pri, names);
      if (problem !== null) issues.error([...d.at, 'after_sb_0pri'], d.afterSb.after_sb_0pri, problem);
    }
    const socket = d.nbd?.config.socket;
    if (d.nbd !== undefined && socket !== undefined && samePathKey(socket) === samePathKey(node.controlSocket)) {
      const at = d.nbd.socketAt ?? [...d.at, 'nbd'];
      issues.error(at, d.nbd.socketAt === undefined ? undefined : socket, `${socket} is node.control_socket: the nbd socket needs a path of its own`);
    }
  }
}

// The volume names as written, those of volumes with other errors included,
// for the checks of other sections (services' requires); undefined when a
// volume's name could not be read, so the list may be incomplete.
export function writtenVolumeNames(replication: ReplicationConfig): string[] | undefined {
  const drafts = DRAFTS.get(replication);
  if (drafts === undefined) return replication.volumes.map((v) => v.name);
  const names = drafts.flatMap((d) => (d.name === undefined ? [] : [d.name]));
  return names.length === drafts.length ? names : undefined;
}
