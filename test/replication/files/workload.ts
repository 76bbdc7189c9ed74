// A randomized file-tree workload (issue 4's acceptance test): create, write,
// append, truncate, rename, delete, chmod, symlink and nested directories,
// from a seed, so a failing run can be replayed. It runs against any root:
// the in-process pair, the namespace lab, the benchmark.
import { appendFile, chmod, mkdir, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rng } from '../../helpers/random.js';

export interface WorkloadOptions {
  seed: number;
  smallFiles: number; // created first, spread over nested directories
  largeFiles: number; // 1-4 MiB each
  ops: number; // random operations after that
}

const MODES = [0o600, 0o640, 0o644, 0o755];

export class Workload {
  private readonly r: () => number;
  readonly files: string[] = [];
  readonly dirs: string[] = [''];
  private n = 0;
  done = 0;

  constructor(readonly root: string, readonly o: WorkloadOptions) {
    this.r = rng(o.seed);
  }

  private pick<T>(list: readonly T[]): T | undefined {
    return list.length === 0 ? undefined : list[Math.floor(this.r() * list.length)];
  }

  // Distinct content cheaply: a random fill byte and a random head.
  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n, Math.floor(this.r() * 256));
    for (let i = 0; i < Math.min(n, 64); i++) b[i] = Math.floor(this.r() * 256);
    return b;
  }

  private name(prefix: string): string {
    return `${prefix}${this.n++}${this.r() < 0.05 ? ' with space' : ''}${this.r() < 0.03 ? '-é' : ''}`;
  }

  private async newDir(): Promise<string> {
    const parent = this.pick(this.dirs) ?? '';
    const d = parent === '' ? this.name('d') : `${parent}/${this.name('d')}`;
    await mkdir(join(this.root, d), { recursive: true });
    this.dirs.push(d);
    return d;
  }

  private async newFile(size: number): Promise<void> {
    const dir = this.r() < 0.2 ? await this.newDir() : this.pick(this.dirs) ?? '';
    const f = dir === '' ? this.name('f') : `${dir}/${this.name('f')}`;
    await writeFile(join(this.root, f), this.bytes(size));
    this.files.push(f);
  }

  async run(): Promise<void> {
    for (let i = 0; i < 20; i++) await this.newDir();
    for (let i = 0; i < this.o.smallFiles; i++) await this.newFile(Math.floor(this.r() * 4096));
    for (let i = 0; i < this.o.largeFiles; i++) await this.newFile((1 << 20) + Math.floor(this.r() * 3 * (1 << 20)));
    for (let i = 0; i < this.o.ops; i++) await this.step();
  }

  // One random operation.
  async step(): Promise<void> {
    this.done++;
    const x = this.r();
    const f = this.pick(this.files);
    const at = (p: string): string => join(this.root, p);
    if (x < 0.2 || f === undefined) return this.newFile(Math.floor(this.r() * 8192));
    const idx = this.files.indexOf(f);
    if (x < 0.35) return writeFile(at(f), this.bytes(Math.floor(this.r() * 8192)));
    if (x < 0.45) return appendFile(at(f), this.bytes(1 + Math.floor(this.r() * 2048)));
    if (x < 0.52) return truncate(at(f), Math.floor(this.r() * 100));
    if (x < 0.62) {
      const dir = this.pick(this.dirs) ?? '';
      const to = dir === '' ? this.name('r') : `${dir}/${this.name('r')}`;
      await rename(at(f), at(to));
      this.files[idx] = to;
      return;
    }
    if (x < 0.72) {
      await rm(at(f), { force: true });
      this.files.splice(idx, 1);
      return;
    }
    if (x < 0.82) return chmod(at(f), this.pick(MODES) ?? 0o644);
    if (x < 0.9) {
      const dir = this.pick(this.dirs) ?? '';
      const l = dir === '' ? this.name('l') : `${dir}/${this.name('l')}`;
      await symlink(this.r() < 0.5 ? f : '/etc/hostname', at(l));
      return;
    }
    if (x < 0.95) return void (await this.newDir());
    // Remove a whole directory (never the root) with what is in it.
    const d = this.pick(this.dirs.slice(1));
    if (d === undefined) return;
    await rm(at(d), { recursive: true, force: true });
    const inside = (p: string): boolean => p === d || p.startsWith(`${d}/`);
    for (let i = this.files.length - 1; i >= 0; i--) if (inside(this.files[i] as string)) this.files.splice(i, 1);
    for (let i = this.dirs.length - 1; i >= 1; i--) if (inside(this.dirs[i] as string)) this.dirs.splice(i, 1);
  }
}
