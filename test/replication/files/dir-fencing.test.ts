// Outdated and fencing for directory volumes (in process, loopback): the same
// rules as block volumes, through the same fence-peers.ts and outdate.ts.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HandlerExit } from '../../../lib/replication/fencing.js';
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
});
