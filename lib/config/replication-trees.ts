// Where a directory volume's tree may lie. Two trees never overlap (equal or
// nested), and no tree holds a file the node writes on its own: a volume's
// device or metadata file, node.state_dir, node.control_socket. Replication
// would overwrite such a file on a secondary, and send its changes from the
// primary as if they were the application's.
import type { Issues } from './issues.js';
import { renderPath } from './path.js';
import { samePathKey, volumeFiles, volumeLabel } from './replication-across.js';
import type { VolumeDraft } from './replication-link.js';
import type { NodeConfig } from './types.js';

// Whether `inner` is `outer` or lies below it (paths compared normalized).
export function isWithin(inner: string, outer: string): boolean {
  const i = samePathKey(inner);
  const o = samePathKey(outer);
  return i === o || i.startsWith(o.endsWith('/') ? o : `${o}/`);
}

// `node` is undefined when the node section did not read; `stateDir` is then
// the default, as for the default metadata files.
export function checkTrees(drafts: readonly VolumeDraft[], stateDir: string, node: NodeConfig | undefined, issues: Issues): void {
  const trees = drafts.flatMap((d) => (d.path === undefined ? [] : [{ d, path: d.path }]));
  if (trees.length === 0) return;
  const owned = [
    ...(node === undefined ? [] : [{ path: node.stateDir, what: 'node.state_dir' }, { path: node.controlSocket, what: 'node.control_socket' }]),
    ...drafts.flatMap((d) => volumeFiles(d, stateDir)),
  ];
  trees.forEach(({ d, path }, i) => {
    const at = [...d.at, 'path'];
    const other = trees.slice(0, i).find((t) => isWithin(path, t.path) || isWithin(t.path, path));
    if (other !== undefined) {
      const how = samePathKey(path) === samePathKey(other.path) ? 'is also' : isWithin(path, other.path) ? 'is inside' : 'contains';
      issues.error(at, path, `${path} ${how} ${other.path}, the path of ${volumeLabel(other.d)} (${renderPath([...other.d.at, 'path'])}): the trees of two directory volumes may not overlap; give each a directory of its own, neither inside the other`);
      return;
    }
    const file = owned.find((o) => isWithin(o.path, path));
    if (file === undefined) return;
    const how = samePathKey(file.path) === samePathKey(path) ? `is ${file.what}` : `contains ${file.path}, ${file.what}`;
    issues.error(at, path, `${path} ${how}: the node writes that itself, so it may not lie in a replicated tree (replication would overwrite it on a secondary, or send its changes to the peers); choose another path, or move it elsewhere`);
  });
}
