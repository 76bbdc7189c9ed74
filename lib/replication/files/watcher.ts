// Change capture for a directory volume (issue 4): chokidar on the volume's
// root, symlinks never followed, excluded paths never watched. Reports which
// relative path changed and when; what changed is read later, by whoever
// acts on it, so a burst of events on one file costs one send. chokidar
// drops repeats within 5 ms of an event; the sender re-checks hot files, and
// a periodic sweep (sweep() in sender.ts) catches what inotify misses.
import { relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { ExcludeMatcher } from './exclude.js';

export interface TreeWatcherOptions {
  root: string;
  exclude: ExcludeMatcher;
  onChange: (path: string, at: number) => void;
  onError: (message: string) => void;
}

export class TreeWatcher {
  private w: FSWatcher | null = null;
  events = 0;
  errors = 0;

  constructor(private readonly o: TreeWatcherOptions) {}

  private rel(abs: string): string {
    const r = relative(this.o.root, abs);
    return sep === '/' ? r : r.split(sep).join('/');
  }

  async start(): Promise<void> {
    const w = watch(this.o.root, {
      ignoreInitial: true,
      followSymlinks: false,
      persistent: true,
      atomic: false, // an editor's rename-over is reported as it happens; the settle delay coalesces it
      ignored: (abs, stats) => {
        const r = this.rel(abs);
        return r !== '' && this.o.exclude(r, stats?.isDirectory() ?? false);
      },
    });
    this.w = w;
    const on = (abs: string): void => {
      const r = this.rel(abs);
      if (r === '' || r.startsWith('..')) return;
      this.events++;
      this.o.onChange(r, Date.now());
    };
    for (const ev of ['add', 'addDir', 'change', 'unlink', 'unlinkDir'] as const) w.on(ev, on);
    w.on('error', (e: unknown) => {
      this.errors++;
      this.o.onError((e as Error).message);
    });
    await new Promise<void>((res) => w.once('ready', () => res()));
  }

  async stop(): Promise<void> {
    const w = this.w;
    this.w = null;
    await w?.close();
  }
}
