// Two or three directory volumes in this process over loopback TCP: capture,
// the connect decision, reconcile, the change stream and apply, with real
// trees, real chokidar and real sockets, no namespaces. Ports are picked free.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { DirectoryVolumeConfig } from '../../../lib/config/types.js';
import { DirectoryVolume } from '../../../lib/replication/files/dir-volume.js';
import { freePort, SECRET } from '../volume/pair-harness.js';

export interface DirHarnessOptions {
  nodes?: number;
  protocol?: 'A' | 'C';
  exclude?: string[];
  afterSb?: Partial<DirectoryVolumeConfig['afterSb']>;
  settleMs?: number;
  timeoutMs?: number;
}

export class DirCluster {
  readonly logs: string[] = [];
  readonly events: Array<{ node: string; type: string; fields: Record<string, unknown> }> = [];
  readonly volumes = new Map<string, DirectoryVolume>();
  private constructor(readonly root: string, readonly specs: Array<{ name: string; port: number; dir: string }>, readonly opts: DirHarnessOptions) {}

  static async create(o: DirHarnessOptions = {}): Promise<DirCluster> {
    const root = await mkdtemp(join(tmpdir(), 'tandem-dir-'));
    const specs = [];
    for (let i = 0; i < (o.nodes ?? 2); i++) specs.push({ name: `node-${String.fromCharCode(97 + i)}`, port: await freePort(), dir: join(root, `n${i}`) });
    for (const s of specs) await mkdir(s.dir, { recursive: true });
    return new DirCluster(root, specs, o);
  }

  tree(name: string): string {
    return join(this.spec(name).dir, 'tree');
  }

  private spec(name: string): { name: string; port: number; dir: string } {
    const s = this.specs.find((x) => x.name === name);
    if (s === undefined) throw new Error(name);
    return s;
  }

  config(name: string): DirectoryVolumeConfig {
    const me = this.spec(name);
    return {
      name: 'conf', type: 'directory', path: this.tree(name), exclude: this.opts.exclude ?? [], metadata: join(me.dir, 'conf.meta'),
      protocol: this.opts.protocol ?? 'C', listen: { host: '127.0.0.1', port: me.port },
      peers: this.specs.filter((s) => s !== me).map((s) => ({ name: s.name, address: { host: '127.0.0.1', port: s.port } })),
      afterSb: { after_sb_0pri: 'disconnect', after_sb_1pri: 'disconnect', after_sb_2pri: 'disconnect', ...this.opts.afterSb },
      settleMs: this.opts.settleMs ?? 20, timeoutMs: this.opts.timeoutMs ?? 6000, pingIntervalMs: 200, pingTimeoutMs: 2000,
    };
  }

  async start(name: string, secret: Buffer = SECRET): Promise<DirectoryVolume> {
    const v = await DirectoryVolume.open(this.config(name), {
      node: name, secret,
      log: { info: (m) => this.logs.push(`${name} info ${m}`), warn: (m) => this.logs.push(`${name} warn ${m}`), error: (m) => this.logs.push(`${name} error ${m}`) },
      emit: (type, fields) => this.events.push({ node: name, type, fields }),
    });
    await v.start();
    this.volumes.set(name, v);
    return v;
  }

  get(name: string): DirectoryVolume {
    const v = this.volumes.get(name);
    if (v === undefined) throw new Error(`${name} is not running`);
    return v;
  }

  async stop(name: string): Promise<void> {
    const v = this.volumes.get(name);
    this.volumes.delete(name);
    await v?.stop();
  }

  async destroy(): Promise<void> {
    for (const n of [...this.volumes.keys()]) await this.stop(n);
    await rm(this.root, { recursive: true, force: true });
  }

  // Waits until `cond` holds (polling), or fails with the logs.
  async until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}\n${this.logs.slice(-30).join('\n')}`);
  }

  // Connected, Established both ways, both UpToDate: the initial compare is done.
  async established(a: string, b: string): Promise<void> {
    await this.until(`${a} and ${b} Established`, () => {
      const pa = this.get(a).status().peers.find((p) => p.name === b);
      const pb = this.get(b).status().peers.find((p) => p.name === a);
      return pa?.replication === 'Established' && pb?.replication === 'Established' && pa.disk === 'UpToDate' && pb.disk === 'UpToDate';
    });
  }

  // a is Primary (forced: a new volume) and b has its tree.
  async pair(a = 'node-a', b = 'node-b'): Promise<DirectoryVolume> {
    const v = await this.start(a);
    await v.promote(true);
    await this.start(b);
    await this.established(a, b);
    return v;
  }
}

// What rsync would change to make `dst` equal `src`, by checksum, permissions and symlinks
// (issue 4's acceptance check); empty when the trees are identical.
export async function rsyncDiff(src: string, dst: string, exclude: string[] = []): Promise<string> {
  const r = await execa('rsync', ['-rlpc', '--dry-run', '--itemize-changes', '--delete', ...exclude.flatMap((e) => ['--exclude', e]), `${src}/`, `${dst}/`]);
  return r.stdout.trim();
}
