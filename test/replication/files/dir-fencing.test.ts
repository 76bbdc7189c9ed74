// Outdated and fencing for directory volumes (in process, loopback): the same
// rules as block volumes, through the same fence-peers.ts and outdate.ts.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HandlerExit } from '../../../lib/replication/fencing.js';
import { loadDirMeta } from '../../../lib/replication/files/dir-meta.js';
import { waitFor } from '../../helpers/env.js';
import { DirCluster } from './dir-harness.js';

const message = (p: Promise<unknown>): Promise<string> => p.then(() => 'fulfilled', (e: Error) => e.message);

describe('replication/files: Outdated and fencing (in process, loopback)', function () {
  this.timeout(60_000);
  let c: DirCluster;
  afterEach(async () => { await c?.destroy(); });

  it('replica outdate: Outdated until it reconnects in sync with the Primary; promotable only forced', async () => {
    c = await DirCluster.create();
    const a = await c.pair();
    const b = c.get('node-b');
    expect(await message(b.outdate())).to.include('connected to the Primary node-a');
    await b.disconnect();
    await b.outdate();
    expect(b.status().disk).to.equal('Outdated');
    expect(await message(b.promote(false))).to.include('the disk is Outdated');
    b.connect();
    a.connect();
    await c.established('node-a', 'node-b');
    expect(b.status().disk).to.equal('UpToDate');
  });

  it('resource-only: the handler says the absent peer is Primary, so this Secondary is Outdated and stays Secondary', async () => {
    c = await DirCluster.create({ fencing: 'resource-only' });
    const calls: Array<Record<string, string>> = [];
    c.fenceRunners.set('node-b', (_cmd, env) => {
      calls.push(env);
      const r: HandlerExit & { output: string } = { exitCode: 6, signal: null, timedOut: false, startError: null, output: '' };
      return Promise.resolve(r);
    });
    const a = await c.pair();
    const b = c.get('node-b');
    await writeFile(join(c.tree('node-a'), 'f'), 'one');
    await a.flush();
    await b.disconnect();
    expect(await message(b.promote(false))).to.include('node-a is Primary').and.include('this disk is now Outdated');
    expect([b.role, b.status().disk]).to.deep.equal(['Secondary', 'Outdated']);
    expect(calls).to.deep.equal([{ TANDEM_VOLUME: 'conf', TANDEM_NODE: 'node-b', TANDEM_PEER: 'node-a', TANDEM_PEER_ADDRESS: b.status().peers[0]?.address }]);
  });

  it('resource-only: what fencing learned is saved; a Primary that fenced its lost peer restarts alone UpToDate and promotes without the handler', async () => {
    c = await DirCluster.create({ fencing: 'resource-only' });
    const calls: string[] = [];
    let code = 7;
    c.fenceRunners.set('node-a', (_cmd, env) => {
      calls.push(env['TANDEM_PEER'] as string);
      const r: HandlerExit & { output: string } = { exitCode: code, signal: null, timedOut: false, startError: null, output: '' };
      return Promise.resolve(r);
    });
    const a = await c.pair();
    await c.stop('node-b');
    await waitFor('fenced', async () => a.status().peers[0]?.disk === 'Outdated', 5000);
    // The status changes first, the record's save follows (a loaded run read the file in between).
    await waitFor('saved', async () => JSON.stringify([...(await loadDirMeta(a.cfg.metadata))?.fenced ?? []]) === JSON.stringify([['node-b', 'Outdated']]), 5000);
    await c.stop('node-a');
    code = 1; // a handler run now would fail, and refuse the promotion
    const runs = calls.length; // the first promotion's and the peer loss's
    const a2 = await c.start('node-a');
    expect(a2.status().disk).to.equal('UpToDate');
    await a2.promote(false);
    expect([a2.role, calls.length], 'no run after the restart').to.deep.equal(['Primary', runs]);
    const b2 = await c.start('node-b');
    await c.established('node-a', 'node-b');
    expect([...(await loadDirMeta(a2.cfg.metadata))?.fenced ?? []], 'cleared once the peer is back').to.deep.equal([]);
    expect(b2.status().disk).to.equal('UpToDate');
  });

  it('resource-only: a copy compared against a Consistent source is Consistent, and UpToDate once that source is', async () => {
    c = await DirCluster.create({ fencing: 'resource-only' });
    c.fenceRunners.set('node-a', () => Promise.resolve({ exitCode: 1, signal: null, timedOut: false, startError: null, output: '' })); // fencing b fails
    const a = await c.pair();
    const b = c.get('node-b');
    await b.disconnect();
    await c.until('a lost b', () => a.status().peers[0]?.connection !== 'Connected');
    await writeFile(join(c.tree('node-a'), 'g'), 'missed by b');
    await c.until('a counted the change', () => (a.status().generations.bitmap['node-b'] ?? null) !== null);
    await a.demote();
    await c.stop('node-a');
    const a2 = await c.start('node-a');
    expect(a2.status().disk).to.equal('Consistent');
    b.connect();
    await c.until('Established', () => b.status().peers[0]?.replication === 'Established' && a2.status().peers[0]?.replication === 'Established');
    expect(b.status().disk, 'a target is never better than its source').to.equal('Consistent');
    await a2.promote(false);
    expect(a2.status().disk).to.equal('UpToDate');
    await c.until('b follows its UpToDate Primary', () => b.status().disk === 'UpToDate');
  });
});
