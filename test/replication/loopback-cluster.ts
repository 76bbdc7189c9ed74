// What the in-process volume harnesses share (block: volume/pair-harness.ts,
// directory: files/dir-harness.ts): N nodes named node-a, node-b ... each
// with its own directory and a free loopback port, volumes opened with a log
// and an event list the tests read, and one teardown for all of it.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONGESTION_CONTROL } from '../../lib/config/replication-section.js';
import type { HandlerRunner } from '../../lib/replication/volume/fence-peers.js';
import type { VolumeDeps } from '../../lib/replication/volume/volume.js';

export const SECRET = Buffer.from('test secret for the pair harness');

const handedOut = new Set<number>();

// A free loopback port below the ephemeral range: a node that restarts
// listens on its port again, and a port in that range may meanwhile have
// become a connection's source port (a peer dialling the stopped node can
// even connect to itself: a TCP self-connect), so the listen would fail with EADDRINUSE.
export async function freePort(): Promise<number> {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const floor = 10000;
  if (!(low > floor + 1000)) throw new Error(`the ephemeral port range starts at ${low}: no room below it for test ports`);
  for (let i = 0; i < 200; i++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free loopback port in ${floor}..${low - 1} after 200 tries`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

export interface NodeSpec {
  name: string;
  port: number;
  dir: string;
}

interface Volume {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export abstract class LoopbackCluster<V extends Volume> {
  readonly logs: string[] = [];
  readonly events: Array<{ node: string; type: string; fields: Record<string, unknown> }> = [];
  readonly volumes = new Map<string, V>();
  readonly fenceRunners = new Map<string, HandlerRunner>(); // each node's fence_peer runner, set before start
  readonly routes = new Map<string, number>(); // 'node-a>node-b': the port node-a dials for node-b instead (a proxy), set before start
  congestionControl: string | null = DEFAULT_CONGESTION_CONTROL; // replication.congestion_control, set before start

  protected constructor(readonly root: string, readonly specs: NodeSpec[]) {}

  // A fresh root with `n` node directories and ports.
  protected static async layout(prefix: string, n: number): Promise<{ root: string; specs: NodeSpec[] }> {
    const root = await mkdtemp(join(tmpdir(), prefix));
    const specs: NodeSpec[] = [];
    for (let i = 0; i < n; i++) specs.push({ name: `node-${String.fromCharCode(97 + i)}`, port: await freePort(), dir: join(root, `n${i}`) });
    for (const s of specs) await mkdir(s.dir, { recursive: true });
    return { root, specs };
  }

  protected abstract open(name: string, deps: VolumeDeps): Promise<V>;

  protected spec(name: string): NodeSpec {
    const s = this.specs.find((x) => x.name === name);
    if (s === undefined) throw new Error(`no node ${name}`);
    return s;
  }

  // The other nodes, as a volume's `peers:` lists them.
  protected peersOf(me: NodeSpec): Array<{ name: string; address: { host: string; port: number } }> {
    return this.specs.filter((s) => s !== me).map((s) => ({ name: s.name, address: { host: '127.0.0.1', port: this.routes.get(`${me.name}>${s.name}`) ?? s.port } }));
  }

  async start(name: string, secret: Buffer = SECRET): Promise<V> {
    const v = await this.open(name, {
      node: name, secret, congestionControl: this.congestionControl,
      log: { info: (m) => this.logs.push(`${name} info ${m}`), warn: (m) => this.logs.push(`${name} warn ${m}`), error: (m) => this.logs.push(`${name} error ${m}`) },
      emit: (type, fields) => this.events.push({ node: name, type, fields }),
      ...(this.fenceRunners.has(name) ? { runHandler: this.fenceRunners.get(name) as HandlerRunner } : {}),
    });
    await v.start();
    this.volumes.set(name, v);
    return v;
  }

  get(name: string): V {
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
}
