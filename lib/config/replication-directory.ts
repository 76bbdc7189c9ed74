// A `type: directory` entry of replication.volumes (issue 4): a tree kept
// identical on every peer, file by file. It shares name, metadata, listen,
// peers, after_sb_* and the timeouts with block volumes (replication-link.ts);
// where its path may not lie is checked in replication-trees.ts.
import { compileExclude, MAX_EXCLUDE_PATTERNS } from '../replication/files/exclude.js';
import { Fields, oneOf, seconds, type Check } from './checks.js';
import type { Issues } from './issues.js';
import { absolutePath, nodeName } from './names.js';
import { DEFAULT_STATE_DIR } from './node-section.js';
import type { KeyPath } from './path.js';
import { samePathKey } from './replication-across.js';
import {
  BLOCK_ONLY_KEYS, defaultMetadata, LINK_HINTS, linkDraft, otherTypeHints, peerConfigs, readLink, type VolumeDraft,
} from './replication-link.js';
import { checkKeys } from './suggest.js';
import type { DirectoryVolumeConfig } from './types.js';

export const DIRECTORY_KEYS = [
  'name', 'type', 'path', 'exclude', 'metadata', 'protocol', 'listen', 'peers',
  'after_sb_0pri', 'after_sb_1pri', 'after_sb_2pri', 'settle', 'timeout', 'ping_interval', 'ping_timeout', 'fencing', 'fence_peer',
] as const;

const DIRECTORY_HINTS: Readonly<Record<string, string>> = {
  ...LINK_HINTS,
  ...otherTypeHints(BLOCK_ONLY_KEYS, 'block', 'a directory volume replicates the tree at path'),
};

export const DEFAULT_DIRECTORY_PROTOCOL = 'C';
export const DEFAULT_SETTLE_MS = 50;
const PATTERN_ALLOWED = 'an rsync-like pattern: "*.tmp" matches a name at any depth, "cache/**" a path from the volume root, "build/" directories only';
const EXCLUDE_ALLOWED = `a list of at most ${MAX_EXCLUDE_PATTERNS} patterns such as ["*.tmp", "cache/**"], or [] for none`;

const protocol = oneOf(['A', 'C'] as const);
const settle = seconds(0, 10, 1000);

// The replicated tree: "/" (however written) would replicate the whole system.
const treePath: Check<string> = {
  allowed: `${absolutePath.allowed}, not "/": the directory whose tree is replicated`,
  read(value, at, issues) {
    const absolute = typeof value === 'string' && value.startsWith('/') && !value.includes('\0');
    if (absolute && samePathKey(value) !== '/') return value;
    issues.error(at, value, `${absolute ? `${JSON.stringify(value)} is the root of the file system: ` : ''}must be ${treePath.allowed}`);
    return undefined;
  },
};

export function readDirectoryVolume(obj: Record<string, unknown>, at: KeyPath, issues: Issues): VolumeDraft {
  const before = issues.count;
  checkKeys(obj, DIRECTORY_KEYS, at, issues, DIRECTORY_HINTS);
  const f = new Fields(obj, at, issues);
  const name = f.required('name', nodeName);
  const path = f.required('path', treePath);
  const exclude = readExclude(f);
  const proto = readProtocol(f);
  const link = readLink(f, name);
  const settleMs = f.withDefault('settle', settle, DEFAULT_SETTLE_MS);

  const draft = linkDraft(at, 'directory', link);
  if (path !== undefined) draft.path = path;
  if (issues.count > before || name === undefined || path === undefined || exclude === undefined || link.listen === undefined) return draft;
  const config: DirectoryVolumeConfig = {
    name, type: 'directory', path, exclude,
    metadata: link.metadata ?? defaultMetadata(DEFAULT_STATE_DIR, name),
    protocol: proto, listen: link.listen, peers: peerConfigs(link.peers), afterSb: link.afterSb, settleMs,
    timeoutMs: link.timeoutMs, pingIntervalMs: link.pingIntervalMs, pingTimeoutMs: link.pingTimeoutMs, ...link.fencing,
  };
  draft.config = config;
  return draft;
}

// A or C; B (received, not yet on disk) has no meaning for whole files.
function readProtocol(f: Fields): 'A' | 'C' {
  const raw = f.raw('protocol');
  if (typeof raw === 'string' && raw.toUpperCase() === 'B') {
    f.issues.error(f.path('protocol'), raw, 'protocol B is for block volumes; a directory volume takes A (asynchronous) or C (a change counts once every peer applied and fsynced it)');
    return DEFAULT_DIRECTORY_PROTOCOL;
  }
  const proto = f.withDefault('protocol', protocol, DEFAULT_DIRECTORY_PROTOCOL);
  if (proto === 'A') {
    f.issues.warn(f.path('protocol'), proto, 'protocol A counts a change once it is queued for the peers, before any peer applied it: counted changes can be lost if the primary dies; protocol C waits until every peer applied and fsynced it');
  }
  return proto;
}

// Each pattern is compiled as the daemon will compile it, so a pattern the
// config accepts never stops the volume at start.
function readExclude(f: Fields): string[] | undefined {
  if (!f.has('exclude')) return [];
  const raw = f.raw('exclude');
  if (!Array.isArray(raw) || raw.length > MAX_EXCLUDE_PATTERNS) {
    const count = Array.isArray(raw) ? ` (got ${raw.length})` : '';
    f.issues.error(f.path('exclude'), raw, `must be ${EXCLUDE_ALLOWED}${count}`);
    return undefined;
  }
  const out: string[] = [];
  raw.forEach((pattern: unknown, i) => {
    const problem = patternIssue(pattern);
    if (problem === undefined && typeof pattern === 'string') out.push(pattern);
    else f.issues.error(f.path('exclude', i), pattern, problem ?? `must be ${PATTERN_ALLOWED}`);
  });
  return out.length === raw.length ? out : undefined;
}

function patternIssue(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return `must be a string, ${PATTERN_ALLOWED} (quote it in YAML if it starts with "*" or "[")`;
  // No path holds a NUL byte: such a pattern would match nothing, silently.
  if (pattern.includes('\0')) return `holds a NUL byte, which no path can: must be ${PATTERN_ALLOWED}`;
  try {
    compileExclude([pattern]);
    return undefined;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return `${why}: must be ${PATTERN_ALLOWED}`;
  }
}
