// What the source believes one peer's tree holds: the peer's manifest at
// connect, then every change sent (the peer applies in stream order, so once
// everything sent is applied this is its tree). A change the peer refused is
// forgotten, so the next look sends it again.
import { DIR_MODE } from './apply.js';
import { sameMtime, type Manifest, type ManifestEntry } from './manifest.js';

export class PeerView {
  constructor(private readonly entries: Manifest) {}

  get(path: string): ManifestEntry | undefined {
    return this.entries.get(path);
  }

  // A change sent: the entry it leaves, or null for a removal (with everything below a directory).
  record(path: string, entry: ManifestEntry | null): void {
    const view = this.entries;
    if (entry !== null) {
      view.set(path, entry);
      // The peer's apply creates missing parents with DIR_MODE (apply.ts ensureParents).
      for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
        const parent = path.slice(0, i);
        if (view.has(parent)) break;
        view.set(parent, { type: 'dir', size: 0, mtimeMs: 0, mode: DIR_MODE });
      }
      return;
    }
    const was = view.get(path);
    view.delete(path);
    // Only a directory has entries below it (record() keeps every parent in the view).
    if (was?.type !== 'dir') return;
    const prefix = `${path}/`;
    for (const k of view.keys()) if (k.startsWith(prefix)) view.delete(k);
  }

  forget(path: string): void {
    this.entries.delete(path);
  }

  // Paths where a fresh walk of our tree (no hashes) differs from the view: changes the watcher missed.
  differences(local: Manifest): string[] {
    const out: string[] = [];
    for (const [p, e] of local) {
      const v = this.entries.get(p);
      if (v === undefined || !sameEntry(e, v)) out.push(p);
    }
    for (const p of this.entries.keys()) if (!local.has(p)) out.push(p);
    return out;
  }
}

// What a quick check compares (rsync's size + mtime, plus type, mode, target); directories by type and mode.
export function sameEntry(a: ManifestEntry, b: ManifestEntry): boolean {
  if (a.type !== b.type || a.mode !== b.mode) return a.type === 'symlink' && b.type === 'symlink' && a.target === b.target;
  if (a.type === 'dir') return true;
  if (a.type === 'symlink') return a.target === b.target;
  return a.size === b.size && sameMtime(a.mtimeMs, b.mtimeMs);
}
