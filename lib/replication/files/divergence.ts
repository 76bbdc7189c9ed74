// Divergence on a Secondary (issue 4 "Safety"): the tree is written only by
// the receiver, so a watcher event on a path whose state is not what we last
// applied is a local change by someone else. It is reported, not undone: the
// next reconcile from the Primary replaces it, and says so.
import { lstat, readlink } from 'node:fs/promises';
import type { Manifest, ManifestEntry } from './manifest.js';

const CHECK_DELAY_MS = 200; // let our own rename's events arrive and settle first
const RECENT = 20;

export class DivergenceWatch {
  private view: Manifest = new Map();
  private readonly busy = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private active = false;
  count = 0;
  recent: string[] = [];

  constructor(private readonly root: string, private readonly report: (path: string, detail: string) => void) {}

  // What the tree holds now is the baseline (a Secondary's start, or the manifest it just sent).
  reset(m: Manifest): void {
    this.view = new Map(m);
    this.active = true;
  }

  // Promoted: our own changes are not divergence.
  pause(): void {
    this.active = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  applied(path: string, entry: ManifestEntry | null): void {
    if (entry !== null) return void this.view.set(path, entry);
    const was = this.view.get(path);
    this.view.delete(path);
    if (was !== undefined && was.type !== 'dir') return; // only a directory has entries below it
    const prefix = `${path}/`;
    for (const k of this.view.keys()) if (k.startsWith(prefix)) this.view.delete(k);
  }

  setBusy(path: string, on: boolean): void {
    const n = (this.busy.get(path) ?? 0) + (on ? 1 : -1);
    if (n <= 0) this.busy.delete(path);
    else this.busy.set(path, n);
  }

  // The receiver works on the path or on a directory above it (removing a large tree takes a while).
  private isBusy(path: string): boolean {
    if (this.busy.size === 0) return false;
    for (let p = path; ; p = p.slice(0, p.lastIndexOf('/'))) {
      if (this.busy.has(p)) return true;
      if (!p.includes('/')) return false;
    }
  }

  // A watcher event: look once things settle.
  changed(path: string): void {
    if (!this.active) return;
    const t = this.timers.get(path);
    if (t !== undefined) clearTimeout(t);
    this.timers.set(path, setTimeout(() => {
      this.timers.delete(path);
      void this.check(path);
    }, CHECK_DELAY_MS));
  }

  private async check(path: string): Promise<void> {
    if (!this.active) return;
    if (this.isBusy(path)) return this.changed(path);
    const want = this.view.get(path);
    const st = await lstat(`${this.root}/${path}`).catch(() => null);
    let detail: string | null = null;
    if (st === null) {
      if (want !== undefined) detail = `${want.type} removed`;
    } else {
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file';
      if (want === undefined) detail = `${type} created`;
      else if (want.type !== type) detail = `${want.type} replaced by a ${type}`;
      else if (type === 'symlink') detail = (await readlink(`${this.root}/${path}`).catch(() => null)) === want.target ? null : 'symlink target changed';
      else if ((st.mode & 0o7777) !== want.mode) detail = `mode ${(st.mode & 0o7777).toString(8)}, replicated ${want.mode.toString(8)}`;
      else if (type === 'file' && (st.size !== want.size || st.mtimeMs !== want.mtimeMs)) detail = 'content changed';
    }
    if (detail === null || !this.active) return;
    // Reported once per state: the view takes what we saw, so the next event compares with it.
    if (st === null) this.applied(path, null);
    else {
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file';
      const target = type === 'symlink' ? await readlink(`${this.root}/${path}`).catch(() => undefined) : undefined;
      this.view.set(path, { type, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, ...(target === undefined ? {} : { target }) });
    }
    this.count++;
    this.recent.push(path);
    if (this.recent.length > RECENT) this.recent.shift();
    this.report(path, detail);
  }
}
