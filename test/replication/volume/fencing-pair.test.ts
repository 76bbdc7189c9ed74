// Outdated and Consistent in a real pair (in process, loopback): `replica
// outdate`, resource-only fencing on a Primary's peer loss and before a
// promotion, the Consistent disk a restart opens with, and how each state
// becomes UpToDate again.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { decodeRecord } from '../../../lib/replication/block/metadata.js';
import { readSlots } from '../../../lib/replication/block/metadata-slot.js';
import { waitFor } from '../../helpers/env.js';
import type { HandlerExit } from '../../../lib/replication/fencing.js';
import type { HandlerRunner } from '../../../lib/replication/volume/fence-peers.js';
import type { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';
import { Cluster, type HarnessOptions } from './pair-harness.js';

// A node's fence_peer: answers `code` (changeable) and records each call's peer.
class FakeHandler {
  calls: string[] = [];
  constructor(public code: number) {}
  readonly run: HandlerRunner = (_command, env) => {
    this.calls.push(env['TANDEM_PEER'] as string);
    const r: HandlerExit & { output: string } = { exitCode: this.code, signal: null, timedOut: false, startError: null, output: '' };
    return Promise.resolve(r);
  };
}

const message = (p: Promise<unknown>): Promise<string> => p.then(() => 'fulfilled', (e: Error) => e.message);

// What the newest saved metadata record says fencing made of each peer.
async function savedFenced(metadata: string): Promise<Array<[string, string]>> {
  const v = readSlots(await readFile(metadata));
  const slot = v.newest === null ? null : v.slots[v.newest];
  if (slot === null || !slot.ok) return expect.fail(`${metadata} has no valid slot`);
  const r = decodeRecord(slot.payload);
  if (!r.ok) return expect.fail(r.detail);
  return [...r.record.fencedPeers];
}

describe('replicated volume: Outdated, Consistent and fencing (in-process pair)', function () {
  this.timeout(60000);
  let c: Cluster;
  afterEach(async () => {
    if (c) await c.destroy();
  });

  async function pair(o: HarnessOptions = {}, handlers: Record<string, FakeHandler> = {}): Promise<{ a: ReplicatedVolume; b: ReplicatedVolume }> {
    c = await Cluster.create(o);
    for (const [node, h] of Object.entries(handlers)) c.fenceRunners.set(node, h.run);
    const a = await c.start('node-a');
    const b = await c.start('node-b');
    await waitFor('connected', async () => a.peers.get('node-b')?.connected === true, 10000);
    await a.promote(true);
    await inSync(a, b);
    return { a, b };
  }

  async function inSync(a: ReplicatedVolume, b: ReplicatedVolume): Promise<void> {
    await waitFor('Established, both UpToDate', async () => a.peers.get('node-b')?.replication === 'Established'
      && b.peers.get('node-a')?.replication === 'Established' && a.diskState === 'UpToDate' && b.diskState === 'UpToDate', 15000);
  }

  it('replica outdate: refused on the Primary and while following it; then Outdated, kept over a restart, promotable only forced', async () => {
    const { a, b } = await pair();
    expect(await message(a.outdate())).to.include('the volume is Primary here');
    expect(await message(b.outdate())).to.include('connected to the Primary node-a').and.include('disconnect first');
    await b.disconnect();
    await b.outdate();
    expect(b.diskState).to.equal('Outdated');
    expect(c.events.some((e) => e.node === 'node-b' && e.type === 'replica.outdated' && e.fields.was === 'UpToDate')).to.equal(true);
    await b.outdate(); // already Outdated: nothing to do
    await c.stop('node-b');
    const b2 = await c.start('node-b');
    expect(b2.diskState).to.equal('Outdated');
    await b2.disconnect();
    expect(await message(b2.promote(false))).to.include('the disk is Outdated');
    await b2.promote(true);
    expect(b2.role).to.equal('Primary');
  });

  it('an Outdated Secondary that reconnects to an unchanged Primary is UpToDate again, and after a resync too', async () => {
    const { a, b } = await pair();
    await b.disconnect();
    await b.outdate();
    b.connect();
    await inSync(a, b);
    expect(b.peers.get('node-a')?.status().disk).to.equal('UpToDate');
    expect(a.peers.get('node-b')?.status().disk, 'the Primary sees the new state').to.equal('UpToDate');

    await b.disconnect();
    await b.outdate();
    await a.io().write(0, Buffer.alloc(4096, 7), false); // the Primary goes on without b
    b.connect();
    await inSync(a, b);
    expect(c.events.some((e) => e.node === 'node-b' && e.type === 'replica.resync.finished')).to.equal(true);
    expect((await c.image('node-b')).subarray(0, 4096).equals(Buffer.alloc(4096, 7))).to.equal(true);
  });

  it('outdate --by the Primary it still follows: Outdated, the link dropped, then back in sync and UpToDate', async () => {
    const { a, b } = await pair();
    const drops = b.peers.get('node-a')?.status().disconnects ?? 0;
    expect(await message(b.outdate('node-c'))).to.equal('db: --by node-c: not a peer of this volume (its peers: node-a)');
    expect(await message(b.outdate())).to.include('connected to the Primary node-a');
    await b.outdate('node-a');
    expect(c.events.some((e) => e.node === 'node-b' && e.type === 'replica.outdated' && e.fields.by === 'node-a')).to.equal(true);
    await waitFor('the link dropped', async () => (b.peers.get('node-a')?.status().disconnects ?? 0) > drops, 5000);
    await inSync(a, b);
  });

  it('a resync from an Outdated source leaves the target Outdated: it cannot be promoted in the source\'s place', async () => {
    const { b } = await pair();
    await b.disconnect();
    await b.outdate();
    await c.stop('node-a');
    await c.stop('node-b');
    // a's copy is then dropped (a replaced disk): b's Outdated copy is the only one left to take.
    const a2 = await c.start('node-a');
    await a2.invalidate();
    const b2 = await c.start('node-b');
    await waitFor('a synced from b', async () => a2.peers.get('node-b')?.replication === 'Established' && a2.diskState !== 'Inconsistent', 15000);
    expect(c.events.some((e) => e.node === 'node-a' && e.type === 'replica.resync.finished')).to.equal(true);
    expect([b2.diskState, a2.diskState]).to.deep.equal(['Outdated', 'Outdated']);
    expect(await message(a2.promote(false))).to.include('the disk is Outdated');
  });

  it('resource-only: two Primaries refused for now fence nothing on each redial; neither does a stale Primary losing the link to its newer peer', async () => {
    const ha = new FakeHandler(4);
    const hb = new FakeHandler(4);
    const { a, b } = await pair({ fencing: 'resource-only' }, { 'node-a': ha, 'node-b': hb });
    await c.disconnect2();
    await b.promote(true);
    await b.io().write(0, Buffer.alloc(8192, 5), false);
    ha.calls.length = 0;
    hb.calls.length = 0;
    c.logs.length = 0;
    a.connect();
    b.connect();
    await waitFor('refused a few times', async () => c.logs.filter((l) => l.includes('both sides are Primary')).length >= 6, 15000);
    expect([ha.calls, hb.calls], 'one run per redial before: a Primary that powers its peer off would keep trying').to.deep.equal([[], []]);
    await b.demote();
    await waitFor('node-a paused for the newer node-b', async () => a.peers.get('node-b')?.replication === 'PausedSyncT', 20000);
    await b.disconnect(); // the link to the peer holding the newer data drops
    await waitFor('gone', async () => a.peers.get('node-b')?.connected === false, 10000);
    await new Promise((r) => setTimeout(r, 300));
    expect(ha.calls, 'the newer copy is not outdated by the stale Primary').to.deep.equal([]);
  });

  it('resource-only: a Primary that loses its peer runs fence_peer and shows the peer Outdated; the peer reopens Consistent and is UpToDate once in sync', async () => {
    const ha = new FakeHandler(4);
    const { a } = await pair({ fencing: 'resource-only' }, { 'node-a': ha });
    await c.stop('node-b');
    await waitFor('fenced', async () => a.peers.get('node-b')?.status().disk === 'Outdated', 5000);
    // The event follows the save of the verdict, which the status shows already.
    await waitFor('the fence event', async () => c.events.some((e) => e.node === 'node-a' && e.type === 'replica.fence' && e.fields.outcome === 'peer-fenced'), 5000);
    expect(ha.calls).to.deep.equal(['node-b']);
    const b2 = await c.start('node-b');
    expect(b2.diskState, 'UpToDate when stopped, Consistent when opened under resource-only').to.equal('Consistent');
    await inSync(a, b2);
    expect(ha.calls, 'a Secondary that stops is fenced once').to.deep.equal(['node-b']);
  });

  it('resource-only, promotion: a peer the handler says is Primary outdates us; one it outdated lets us promote', async () => {
    const hb = new FakeHandler(6);
    const { a, b } = await pair({ fencing: 'resource-only' }, { 'node-b': hb });
    await a.demote();
    await waitFor('b sees a Secondary', async () => b.peers.get('node-a')?.peerRole === 'Secondary', 5000);
    await c.stop('node-a');
    expect(b.diskState).to.equal('UpToDate');
    const refused = await message(b.promote(false));
    expect(refused).to.include('node-a is Primary').and.include('this disk is now Outdated');
    expect(b.diskState).to.equal('Outdated');
    expect(b.role).to.equal('Secondary');
    expect(hb.calls).to.deep.equal(['node-a']);

    // The handler failing (exit 1) refuses too; --force goes on.
    hb.code = 1;
    expect(await message(b.promote(false))).to.include('the disk is Outdated');
    await b.promote(true);
    expect(b.role).to.equal('Primary');
    expect(c.logs.some((l) => l.startsWith('node-b error db: forced into a possible split brain'))).to.equal(true);
  });

  it('resource-only, restart alone: Consistent is refused when the peer is only unreachable, promoted once it is powered off', async () => {
    const ha = new FakeHandler(5);
    const { a } = await pair({ fencing: 'resource-only' }, { 'node-a': ha });
    await a.demote();
    await c.stop('node-b');
    await c.stop('node-a');
    const a2 = await c.start('node-a');
    expect(a2.diskState).to.equal('Consistent');
    await a2.disconnect();
    expect(await message(a2.promote(false))).to.include('fencing node-b failed (exit 5: the peer is unreachable, and our disk is Consistent');
    expect(a2.role).to.equal('Secondary');
    ha.code = 7;
    await a2.promote(false);
    expect([a2.role, a2.diskState]).to.deep.equal(['Primary', 'UpToDate']);
    expect(a2.peers.get('node-b')?.status().disk).to.equal('Outdated');
  });

  it('resource-only: a Primary that fenced its lost peer restarts alone UpToDate and promotes without the handler; the peer\'s return clears that, saved before our STATE', async () => {
    const ha = new FakeHandler(4);
    const { a } = await pair({ fencing: 'resource-only' }, { 'node-a': ha });
    await c.stop('node-b');
    await waitFor('fenced', async () => a.peers.get('node-b')?.status().disk === 'Outdated', 5000);
    expect(await savedFenced(a.cfg.metadata)).to.deep.equal([['node-b', 'Outdated']]);
    await c.stop('node-a');
    ha.code = 1; // a handler run now would fail, and refuse the promotion
    const a2 = await c.start('node-a');
    expect(a2.diskState, 'every peer known fenced: no other copy can have been promoted').to.equal('UpToDate');
    expect(a2.peers.get('node-b')?.status().disk).to.equal('Outdated');
    await a2.promote(false);
    expect(a2.role).to.equal('Primary');
    expect(ha.calls, 'no second run').to.deep.equal(['node-b']);

    const b2 = await c.start('node-b');
    await waitFor('b heard a', async () => b2.peers.get('node-a')?.connected === true, 10000);
    expect(await savedFenced(a2.cfg.metadata), 'cleared on disk once b has our STATE').to.deep.equal([]);
    await inSync(a2, b2);
    await a2.demote();
    await c.stop('node-a');
    const a3 = await c.start('node-a');
    expect(a3.diskState, 'b may be promoted now: a restart is Consistent again').to.equal('Consistent');
  });

  it('resource-only: a copy resynced from a Consistent source is Consistent, and UpToDate once that source is (it had stayed Consistent, unpromotable)', async () => {
    const ha = new FakeHandler(1); // fencing b fails: a goes on, b is not known fenced
    const { a, b } = await pair({ fencing: 'resource-only' }, { 'node-a': ha });
    await b.disconnect();
    await waitFor('a lost b', async () => a.peers.get('node-b')?.connected === false, 5000);
    await a.io().write(0, Buffer.alloc(4096, 9), false); // b misses this
    await a.demote();
    await c.stop('node-a');
    const a2 = await c.start('node-a');
    expect(a2.diskState).to.equal('Consistent');
    b.connect();
    await waitFor('resynced from a', async () => c.events.some((e) => e.node === 'node-b' && e.type === 'replica.resync.finished'), 15000);
    await waitFor('Established', async () => b.peers.get('node-a')?.replication === 'Established', 5000);
    expect(b.diskState, 'a target is never better than its source').to.equal('Consistent');
    await a2.promote(false); // no absent peer, none connected UpToDate: a is the newest copy
    expect(a2.diskState).to.equal('UpToDate');
    await waitFor('b follows its UpToDate Primary', async () => b.diskState === 'UpToDate', 5000);
    // b saves its record before its STATE says so: a's view follows a moment later.
    await waitFor('a sees b UpToDate', async () => a2.peers.get('node-b')?.status().disk === 'UpToDate', 5000);
  });
});
