// Two or three replicated volumes in this process over loopback TCP: the
// whole volume layer (handshake, write stream, resync, verify, split brain)
// with real files and sockets, no namespaces. Ports are picked free.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BlockVolumeConfig, ReplicationProtocol } from '../../../lib/config/types.js';
import { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';

export const SECRET = Buffer.from('test secret for the pair harness');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export interface NodeSpec {
  name: string;
  port: number;
  dir: string;
}

export interface HarnessOptions {
  nodes?: number;
  size?: number;
  protocol?: ReplicationProtocol;
  afterSb?: Partial<BlockVolumeConfig['afterSb']>;
  timeoutMs?: number;
  csums?: boolean;
}

export class Cluster {
  readonly logs: string[] = [];
  readonly events: Array<{ node: string; type: string; fields: Record<string, unknown> }> = [];
  readonly volumes = new Map<string, ReplicatedVolume>();
  private constructor(readonly root: string, readonly specs: NodeSpec[], readonly opts: Required<Omit<HarnessOptions, 'afterSb'>> & { afterSb: BlockVolumeConfig['afterSb'] }) {}

  static async create(o: HarnessOptions = {}): Promise<Cluster> {
    const root = await mkdtemp(join(tmpdir(), 'tandem-vol-'));
    const n = o.nodes ?? 2;
    const specs: NodeSpec[] = [];
    for (let i = 0; i < n; i++) specs.push({ name: `node-${String.fromCharCode(97 + i)}`, port: await freePort(), dir: join(root, `n${i}`) });
    return new Cluster(root, specs, {
      nodes: n, size: o.size ?? 8 << 20, protocol: o.protocol ?? 'C', timeoutMs: o.timeoutMs ?? 6000, csums: o.csums ?? false,
      afterSb: { after_sb_0pri: 'disconnect', after_sb_1pri: 'disconnect', after_sb_2pri: 'disconnect', ...o.afterSb },
    });
  }

  config(name: string): BlockVolumeConfig {
    const me = this.specs.find((s) => s.name === name);
    if (me === undefined) throw new Error(name);
    return {
      name: 'db', type: 'block', device: join(me.dir, 'db.img'), size: this.opts.size, metadata: join(me.dir, 'db.meta'),
      protocol: this.opts.protocol, listen: { host: '127.0.0.1', port: me.port },
      peers: this.specs.filter((s) => s !== me).map((s) => ({ name: s.name, address: { host: '127.0.0.1', port: s.port } })),
      nbd: { socket: join(me.dir, 'db.nbd') }, afterSb: this.opts.afterSb, blockSize: 4096, alExtents: 61,
      timeoutMs: this.opts.timeoutMs, pingIntervalMs: 200, pingTimeoutMs: 2000, csumsResync: this.opts.csums,
    };
  }

  async start(name: string, secret: Buffer = SECRET): Promise<ReplicatedVolume> {
    const v = await ReplicatedVolume.open(this.config(name), {
      node: name, secret,
      log: { info: (m) => this.logs.push(`${name} info ${m}`), warn: (m) => this.logs.push(`${name} warn ${m}`), error: (m) => this.logs.push(`${name} error ${m}`) },
      emit: (type, fields) => this.events.push({ node: name, type, fields }),
    });
    await v.start();
    this.volumes.set(name, v);
    return v;
  }

  get(name: string): ReplicatedVolume {
    const v = this.volumes.get(name);
    if (v === undefined) throw new Error(`${name} is not running`);
    return v;
  }

  async stop(name: string): Promise<void> {
    const v = this.volumes.get(name);
    this.volumes.delete(name);
    await v?.stop();
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

  async destroy(): Promise<void> {
    for (const n of [...this.volumes.keys()]) await this.stop(n);
    await rm(this.root, { recursive: true, force: true });
  }
}
