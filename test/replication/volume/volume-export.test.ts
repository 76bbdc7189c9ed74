// The Primary's NBD export (volume-export.ts): a promotion that cannot serve NBD is undone, and nothing is
// left listening or half made.
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeExport } from '../../../lib/replication/volume/volume-export.js';
import type { BlockBackend } from '../../../lib/replication/block/nbd/backend.js';
import { Cluster } from './pair-harness.js';

const backend: BlockBackend = {
  size: 1 << 20, readOnly: false, flushCoversAllConnections: true,
  read: async (_o, l) => Buffer.alloc(l), write: async () => {}, writeZeroes: async () => {}, trim: async () => {}, flush: async () => {}, close: async () => {},
};

describe('replicated volume: the NBD export', function () {
  this.timeout(30000);
  let c: Cluster | null = null;
  let dir = '';
  afterEach(async () => {
    if (c) await c.destroy();
    c = null;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a socket directory that cannot be made is NBD_LISTEN, with the path\'s error; no export is left', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-export-'));
    await writeFile(join(dir, 'file'), 'not a directory');
    c = await Cluster.create();
    const cfg = { ...c.config('node-a'), nbd: { socket: join(dir, 'file', 'run', 'db.nbd') } };
    const logs: string[] = [];
    const e = new VolumeExport(cfg, { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) });
    const err = await e.start(backend).then(() => null, (x: unknown) => x as Error & { code?: string });
    expect(err?.code).to.equal('NBD_LISTEN');
    expect(err?.message).to.match(/^db: cannot serve NBD: ENOTDIR/);
    expect(e.status()).to.equal(null);
    expect(e.clients).to.equal(0);
  });

  it('a promotion whose export cannot listen is undone: the volume is Secondary again, with no export', async () => {
    c = await Cluster.create();
    await mkdir(c.config('node-a').nbd.socket as string, { recursive: true }); // a directory where the socket goes
    const a = await c.start('node-a');
    const err = await a.promote(true).then(() => null, (x: unknown) => x as Error & { code?: string });
    expect(err?.code).to.equal('NBD_LISTEN');
    expect(err?.message).to.match(/^db: cannot serve NBD: /);
    expect(a.role).to.equal('Secondary');
    expect(a.status().nbd).to.equal(null);
  });
});
