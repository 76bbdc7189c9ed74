// The daemon's replicated volumes: reads the shared secret (and TLS files),
// opens and starts every configured volume, and answers the `replica.*`
// control commands (drbdadm's verbs). Roles are set by command here; issue 5's
// conductor drives them from the election.
import { readFile } from 'node:fs/promises';
import type { ReplicationConfig } from '../config/types.js';
import { isNodeName, nodeName } from '../config/names.js';
import { EX_CONFIG, TandemError } from '../errors.js';
import type { LinkTls } from '../replication/link/transport.js';
import type { HandlerRunner } from '../replication/volume/fence-peers.js';
import { runCommand } from '../services/exec.js';
import { DirectoryVolume } from '../replication/files/dir-volume.js';
import type { AnyVolumeStatus, ReplicaStatus } from '../replication/volume/status-types.js';
import { ReplicatedVolume } from '../replication/volume/volume.js';
import { readSecret } from '../replication/secret-file.js';
import type { ControlServer } from './control-server.js';
import type { EventBus } from './events.js';
import type { Logger } from './log.js';

async function readTls(cfg: ReplicationConfig): Promise<LinkTls | undefined> {
  if (cfg.tls === undefined) return undefined;
  const read = async (what: string, p: string): Promise<Buffer> => {
    try {
      return await readFile(p);
    } catch (e) {
      throw new TandemError('TLS_UNREADABLE', `replication.tls.${what} ${p}: ${(e as Error).message}`, { exitCode: EX_CONFIG });
    }
  };
  return { cert: await read('cert', cfg.tls.cert), key: await read('key', cfg.tls.key), ca: await read('ca', cfg.tls.ca) };
}

type Volume = ReplicatedVolume | DirectoryVolume;

// `replica.outdate`'s optional "by": the node name of the Primary asking.
function outdateBy(by: unknown): string | null {
  if (by === undefined) return null;
  if (typeof by !== 'string' || !isNodeName(by)) throw new TandemError('BAD_REQUEST', `"by" must be a node name (${nodeName.allowed}), got ${JSON.stringify(by)}`);
  return by;
}

// fence_peer runs like a notify script (/bin/sh -c), with the TANDEM_* variables added.
const runHandler: HandlerRunner = async (command, env, timeoutMs, signal) => {
  const r = await runCommand(command, [], { timeoutMs, signal, env: { ...process.env, ...env } as Record<string, string>, reapGroup: true });
  return { exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, startError: r.startError, output: r.output };
};

export class Replication {
  private constructor(private readonly node: string, readonly volumes: Map<string, Volume>) {}

  static async start(node: string, cfg: ReplicationConfig, log: Logger, events: EventBus): Promise<Replication> {
    const volumes = new Map<string, Volume>();
    const r = new Replication(node, volumes);
    if (cfg.volumes.length === 0) return r;
    const secret = await readSecret(cfg.secretFile, (m) => log.warn(m));
    const tls = await readTls(cfg);
    try {
      for (const vc of cfg.volumes) {
        const deps = { node, secret, ...(tls ? { tls } : {}), congestionControl: cfg.congestionControl, log, runHandler, emit: (type: string, fields: Record<string, unknown>) => events.emit(type, fields) };
        const v = vc.type === 'block' ? await ReplicatedVolume.open(vc, deps) : await DirectoryVolume.open(vc, deps);
        volumes.set(vc.name, v);
        await v.start();
      }
    } catch (e) {
      await r.stop();
      throw e;
    }
    return r;
  }

  // Primaries step down first (NBD clients closed, writes drained, peers told), then links and files close.
  async stop(): Promise<void> {
    for (const v of this.volumes.values()) await v.stop();
    this.volumes.clear();
  }

  status(name?: string): ReplicaStatus {
    const list = name === undefined ? [...this.volumes.values()] : [this.volume(name)];
    return { node: this.node, volumes: list.map((v) => v.status()) };
  }

  private volume(name: unknown): Volume {
    if (typeof name !== 'string') throw new TandemError('NO_VOLUME', 'the request names no volume ("volume": "NAME")');
    const v = this.volumes.get(name);
    if (v === undefined) {
      const known = [...this.volumes.keys()];
      throw new TandemError('NO_VOLUME', `no volume ${JSON.stringify(name)} here; configured: ${known.length > 0 ? known.join(', ') : 'none (no replication.volumes)'}`);
    }
    return v;
  }

  register(control: ControlServer): void {
    const on = (cmd: string, f: (v: Volume, req: Record<string, unknown>) => Promise<void> | void): void => {
      control.handle(`replica.${cmd}`, async (req): Promise<AnyVolumeStatus> => {
        const v = this.volume(req.volume);
        await f(v, req);
        return v.status();
      });
    };
    control.handle('replica.status', (req) => this.status(req.volume === undefined ? undefined : String(req.volume)));
    on('primary', (v, req) => v.promote(req.force === true));
    on('secondary', (v, req) => v.demote(req.force === true));
    on('connect', (v) => v.connect());
    on('disconnect', (v) => v.disconnect());
    on('verify', (v) => v.verify());
    on('invalidate', (v) => v.invalidate());
    on('outdate', (v, req) => v.outdate(outdateBy(req.by)));
    on('discard-my-data', (v) => v.discardMyData());
    on('flush', (v) => v.flush());
  }
}
