// Two or three directory volumes in this process over loopback TCP: capture,
// the connect decision, reconcile, the change stream and apply, with real
// trees, real chokidar and real sockets, no namespaces. Ports are picked free.
import { join } from 'node:path';
import { execa } from 'execa';
import type { DirectoryVolumeConfig } from '../../../lib/config/types.js';
import { DirectoryVolume } from '../../../lib/replication/files/dir-volume.js';
import type { VolumeDeps } from '../../../lib/replication/volume/volume.js';
import { LoopbackCluster, type NodeSpec } from '../loopback-cluster.js';

export interface DirHarnessOptions {
  nodes?: number;
  protocol?: 'A' | 'C';
  exclude?: string[];
  afterSb?: Partial<DirectoryVolumeConfig['afterSb']>;
  settleMs?: number;
  timeoutMs?: number;
  fencing?: DirectoryVolumeConfig['fencing']; // resource-only runs the cluster's fenceRunners
}

export class DirCluster extends LoopbackCluster<DirectoryVolume> {
  private constructor(root: string, specs: NodeSpec[], readonly opts: DirHarnessOptions) {
    super(root, specs);
  }

  static async create(o: DirHarnessOptions = {}): Promise<DirCluster> {
    const { root, specs } = await LoopbackCluster.layout('tandem-dir-', o.nodes ?? 2);
    return new DirCluster(root, specs, o);
  }

  tree(name: string): string {
    return join(this.spec(name).dir, 'tree');
  }

  config(name: string): DirectoryVolumeConfig {
    const me = this.spec(name);
    return {
      name: 'conf', type: 'directory', path: this.tree(name), exclude: this.opts.exclude ?? [], metadata: join(me.dir, 'conf.meta'),
      protocol: this.opts.protocol ?? 'C', listen: { host: '127.0.0.1', port: me.port }, peers: this.peersOf(me),
      afterSb: { after_sb_0pri: 'disconnect', after_sb_1pri: 'disconnect', after_sb_2pri: 'disconnect', ...this.opts.afterSb },
      settleMs: this.opts.settleMs ?? 20, timeoutMs: this.opts.timeoutMs ?? 6000, pingIntervalMs: 200, pingTimeoutMs: 2000,
      fencing: this.opts.fencing ?? 'dont-care', ...(this.opts.fencing === 'resource-only' ? { fencePeer: 'fence-peer-test' } : {}),
    };
  }

  protected open(name: string, deps: VolumeDeps): Promise<DirectoryVolume> {
    return DirectoryVolume.open(this.config(name), deps);
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
