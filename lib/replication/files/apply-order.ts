// The order in which a Secondary applies a directory stream: changes to
// unrelated paths run side by side (up to a limit), so file and directory
// fsyncs overlap; a change waits for every earlier one on the same path, an
// ancestor or a descendant (a file after its directory's mkdir, a remove
// after the writes below it). A barrier (paths null) waits for everything
// before it and holds back everything after it: a streamed large file, a
// manifest scan, the end of a reconcile. The result is what applying the
// stream one change at a time would give.
interface Entry {
  paths: readonly string[] | null;
  done: Promise<void>;
}

export function conflicts(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return true;
  for (const x of a) for (const y of b) if (x === y || x.startsWith(`${y}/`) || y.startsWith(`${x}/`)) return true;
  return false;
}

export class PathScheduler {
  private readonly entries: Entry[] = [];
  private running = 0;
  private readonly slots: Array<() => void> = [];

  constructor(private readonly limit: number, before: Promise<void> = Promise.resolve()) {
    this.track({ paths: null, done: before.catch(() => undefined) });
  }

  get size(): number {
    return this.entries.length;
  }

  // Runs `task` once every earlier conflicting task is done and a slot is free. `task` must not throw.
  add(paths: readonly string[] | null, task: () => Promise<void>): void {
    const deps = this.entries.filter((e) => conflicts(e.paths, paths)).map((e) => e.done);
    this.track({ paths, done: Promise.all(deps).then(() => this.inSlot(task)) });
  }

  idle(): Promise<void> {
    return Promise.all(this.entries.map((e) => e.done)).then(() => undefined);
  }

  private track(e: Entry): void {
    this.entries.push(e);
    void e.done.finally(() => {
      const i = this.entries.indexOf(e);
      if (i >= 0) this.entries.splice(i, 1);
    });
  }

  private async inSlot(task: () => Promise<void>): Promise<void> {
    while (this.running >= this.limit) await new Promise<void>((r) => this.slots.push(r));
    this.running++;
    try {
      await task();
    } finally {
      this.running--;
      this.slots.shift()?.();
    }
  }
}
