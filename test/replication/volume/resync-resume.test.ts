// A resync that is cut off resumes where it stopped (in-process pair over
// loopback): after a link cut, a SyncTarget restart or a SyncSource restart
// the next resync moves only what was left, bitmap-based, and the images end
// identical. invalidate still moves everything, also towards a peer that
// lags behind by a bitmap.
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { waitFor } from '../../helpers/env.js';
import type { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';
import { established, MiB, pattern, peerOf, sameImages, slowResyncWrites } from './pair-checks.js';
import { Cluster } from './pair-harness.js';

const SIZE = 64 * MiB;
const CUT_AT = 24 * MiB; // the first resync is cut once the target holds this much
const WINDOW = 8 * MiB; // requests in flight when the link drops are sent again (resync-target.ts)

describe('replicated volume: a cut resync resumes (in-process pair over loopback)', function () {
  this.timeout(90000);
  let c: Cluster;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    if (c) await c.destroy();
  });

  const started = (node: string): Array<Record<string, unknown>> =>
    c.events.filter((e) => e.type === 'replica.resync.started' && e.node === node).map((e) => e.fields);
  const finished = (node: string): boolean => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === node);

  // node-a holds data and is forced Primary; node-b, new, starts its full initial sync slowly.
  async function initialSyncUnderWay(): Promise<{ a: ReplicatedVolume; b: ReplicatedVolume; img: Buffer; undo: () => void }> {
    c = await Cluster.create({ size: SIZE });
    const img = pattern(11, SIZE);
    await c.writeImage('node-a', img);
    const a = await c.start('node-a');
    const b = await c.start('node-b');
    await waitFor('connected', async () => peerOf(c, 'node-a', 'node-b').connected, 10000);
    const undo = slowResyncWrites(b, 25);
    await a.promote(true);
    await waitFor(`node-b holds ${CUT_AT} bytes`, async () => (peerOf(c, 'node-b', 'node-a').status().resync?.done_bytes ?? 0) >= CUT_AT, 30000);
    expect(finished('node-b')).to.equal(false);
    return { a, b, img, undo };
  }

  // The second resync: bitmap-based, less than what was left plus one window, and the images end equal.
  async function resumedAndEqual(img: Buffer): Promise<void> {
    await waitFor('the resumed resync finished', async () => finished('node-b'), 60000);
    const runs = started('node-b');
    expect(runs.length, JSON.stringify(runs)).to.equal(2);
    expect(runs[0]).to.include({ direction: 'SyncTarget', full: true, bytes: SIZE });
    expect(runs[1]).to.include({ direction: 'SyncTarget', full: false });
    expect(runs[1]?.bytes as number).to.be.above(0).and.at.most(SIZE - CUT_AT + WINDOW);
    expect(c.logs.some((l) => l.includes('an interrupted resync resumes'))).to.equal(true);
    await established(c, 'node-a', 'node-b');
    await sameImages(c, 'node-a', 'node-b');
    expect((await c.image('node-b')).equals(img)).to.equal(true);
  }

  it('a link cut during the initial full sync: the next connect moves only what was left', async () => {
    const { undo } = await initialSyncUnderWay();
    peerOf(c, 'node-b', 'node-a').reconnect('test: the link is cut');
    undo();
    await resumedAndEqual(await c.image('node-a'));
  });

  it('the SyncTarget restarts mid-sync: its saved bitmap resumes the sync', async () => {
    const { undo, img } = await initialSyncUnderWay();
    await c.stop('node-b');
    undo();
    await c.start('node-b');
    await resumedAndEqual(img);
  });

  it('the SyncSource restarts mid-sync (after application writes): its saved bitmap UUID and bits resume the sync', async () => {
    const { a, undo } = await initialSyncUnderWay();
    const io = a.io();
    const late = pattern(12, 2 * MiB);
    await io.write(60 * MiB, late, false); // ahead of the resync: in the stream and in the resync
    await c.stop('node-a');
    undo();
    const a2 = await c.start('node-a');
    expect(a2.role).to.equal('Secondary');
    await resumedAndEqual(await c.image('node-a'));
    expect((await c.image('node-b')).subarray(60 * MiB, 62 * MiB).equals(late)).to.equal(true);
  });

  it('the SyncTarget\'s image is lost mid-sync but its metadata kept: the resumed sync moves every block', async () => {
    const { undo, img } = await initialSyncUnderWay();
    await c.stop('node-b');
    undo();
    await rm(c.config('node-b').device);
    await c.start('node-b');
    await waitFor('the resumed resync finished', async () => finished('node-b'), 60000);
    expect(started('node-b')[1]).to.include({ full: false, bytes: SIZE });
    await established(c, 'node-a', 'node-b');
    expect((await c.image('node-b')).equals(img)).to.equal(true);
  });

  it('invalidate while a resync checkpoint waits for its flush: the checkpoint clears nothing, every block stays out of sync', async () => {
    c = await Cluster.create({ size: 8 * MiB });
    const b = await c.start('node-b');
    const checkpoint = b.resyncProgress('node-a', [{ offset: 0, length: MiB }]);
    await b.invalidate();
    await checkpoint;
    expect(b.bitmapFor('node-a').outOfSyncBytes()).to.equal(8 * MiB);
  });

  it('invalidate of a Secondary that lags behind by a bitmap still moves the whole volume', async () => {
    c = await Cluster.create({ size: 8 * MiB });
    const a = await c.start('node-a');
    const b = await c.start('node-b');
    await waitFor('connected', async () => peerOf(c, 'node-a', 'node-b').connected, 10000);
    await a.promote(true);
    await established(c, 'node-a', 'node-b');
    await c.disconnect2();
    await a.io().write(MiB, pattern(3, 64 * 1024), false); // node-a's bitmap UUID for node-b now names node-b's current
    await b.invalidate();
    c.events.length = 0;
    b.connect();
    a.connect();
    await waitFor('resync finished', async () => finished('node-b'), 30000);
    expect(started('node-b')[0]?.bytes, 'every block').to.equal(8 * MiB);
    await established(c, 'node-a', 'node-b');
    await sameImages(c, 'node-a', 'node-b');
  });
});
