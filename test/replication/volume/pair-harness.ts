// Two or three replicated volumes in this process over loopback TCP: the
// whole volume layer (handshake, write stream, resync, verify, split brain)
// with real files and sockets, no namespaces. Ports are picked free.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlockVolumeConfig, ReplicationProtocol } from '../../../lib/config/types.js';
import { ReplicatedVolume, type VolumeDeps } from '../../../lib/replication/volume/volume.js';
import { LoopbackCluster, type NodeSpec } from '../loopback-cluster.js';

export { SECRET } from '../loopback-cluster.js';

export interface HarnessOptions {
  nodes?: number;
  size?: number;
  protocol?: ReplicationProtocol;
  afterSb?: Partial<BlockVolumeConfig['afterSb']>;
  timeoutMs?: number;
  csums?: boolean;
  fencing?: BlockVolumeConfig['fencing']; // resource-only runs the cluster's fenceRunners
  alExtents?: number; // default 61
  resyncMaxRate?: number | null; // bytes per second; default no limit
}

type Settled = Required<Omit<HarnessOptions, 'afterSb'>> & { afterSb: BlockVolumeConfig['afterSb'] };

export class Cluster extends LoopbackCluster<ReplicatedVolume> {
  private constructor(root: string, specs: NodeSpec[], readonly opts: Settled) {
    super(root, specs);
  }

  static async create(o: HarnessOptions = {}): Promise<Cluster> {
    const n = o.nodes ?? 2;
    const { root, specs } = await LoopbackCluster.layout('tandem-vol-', n);
    return new Cluster(root, specs, {
      nodes: n, size: o.size ?? 8 << 20, protocol: o.protocol ?? 'C', timeoutMs: o.timeoutMs ?? 6000, csums: o.csums ?? false, fencing: o.fencing ?? 'dont-care', alExtents: o.alExtents ?? 61, resyncMaxRate: o.resyncMaxRate ?? null,
      afterSb: { after_sb_0pri: 'disconnect', after_sb_1pri: 'disconnect', after_sb_2pri: 'disconnect', ...o.afterSb },
    });
  }

  config(name: string): BlockVolumeConfig {
    const me = this.spec(name);
    return {
      name: 'db', type: 'block', device: join(me.dir, 'db.img'), size: this.opts.size, metadata: join(me.dir, 'db.meta'),
      protocol: this.opts.protocol, listen: { host: '127.0.0.1', port: me.port }, peers: this.peersOf(me),
      nbd: { socket: join(me.dir, 'db.nbd') }, afterSb: this.opts.afterSb, blockSize: 4096, alExtents: this.opts.alExtents,
      timeoutMs: this.opts.timeoutMs, pingIntervalMs: 200, pingTimeoutMs: 2000, csumsResync: this.opts.csums, resyncMaxRate: this.opts.resyncMaxRate,
      fencing: this.opts.fencing, ...(this.opts.fencing === 'resource-only' ? { fencePeer: 'fence-peer-test' } : {}),
    };
  }

  protected open(name: string, deps: VolumeDeps): Promise<ReplicatedVolume> {
    return ReplicatedVolume.open(this.config(name), deps);
  }

  // Both sides StandAlone (a partition the operator made).
  async disconnect2(): Promise<void> {
    for (const v of this.volumes.values()) await v.disconnect();
  }

  image(name: string): Promise<Buffer> {
    return readFile(this.config(name).device);
  }

  // Puts `data` (the whole volume) in place as the image of a node not started yet.
  async writeImage(name: string, data: Buffer): Promise<void> {
    if (data.length !== this.opts.size) throw new Error(`image of ${data.length} bytes for a ${this.opts.size}-byte volume`);
    const device = this.config(name).device;
    await mkdir(dirname(device), { recursive: true });
    await writeFile(device, data);
  }
}
