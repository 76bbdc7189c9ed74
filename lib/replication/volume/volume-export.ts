// The Primary's NBD export: started by a promotion, stopped first by a
// demote so nothing new arrives. A Secondary serves no NBD client.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatHostPort } from '../../config/names.js';
import type { BlockVolumeConfig } from '../../config/types.js';
import { TandemError } from '../../errors.js';
import type { BlockBackend } from '../block/nbd/backend.js';
import { NbdServer } from '../block/nbd/server.js';
import type { VolumeLog } from './host.js';
import type { VolumeStatus } from './status-types.js';

export class VolumeExport {
  private server: NbdServer | null = null;

  constructor(private readonly cfg: BlockVolumeConfig, private readonly log: VolumeLog) {}

  // Clients connected now.
  get clients(): number {
    return this.server?.stats().connections.active ?? 0;
  }

  // Serves `backend` on the configured TCP address and Unix socket; on failure nothing is left listening.
  async start(backend: BlockBackend): Promise<void> {
    const { cfg } = this;
    const nbd = new NbdServer({ exportName: cfg.name, backend, log: (m) => this.log.info(`${cfg.name}: ${m}`) });
    try {
      if (cfg.nbd.socket) await mkdir(dirname(cfg.nbd.socket), { recursive: true, mode: 0o755 });
      await nbd.start({ ...(cfg.nbd.tcp ? { tcp: cfg.nbd.tcp } : {}), ...(cfg.nbd.socket ? { unix: cfg.nbd.socket } : {}) });
    } catch (e) {
      await nbd.stop();
      throw new TandemError('NBD_LISTEN', `${cfg.name}: cannot serve NBD: ${(e as Error).message}`, { cause: e });
    }
    this.server = nbd;
  }

  // Clients are cut.
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    await s?.stop();
  }

  status(): VolumeStatus['nbd'] {
    const s = this.server;
    if (s === null) return null;
    const a = s.addresses;
    return { tcp: a?.tcp ? formatHostPort(a.tcp) : null, socket: a?.unix ?? null, clients: s.stats().connections.active };
  }
}
