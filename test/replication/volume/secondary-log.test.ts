// A Secondary's activity log for its Primary's stream (secondary-log.ts), in memory: a write goes to disk only
// once the record says unclean and the log on disk holds its extents; hot extents need no wait; parts fit a
// small log; every extent pinned makes a part wait; a failed save fails the write and pins nothing.
import { expect } from 'chai';
import { ActivityLog } from '../../../lib/replication/block/activity-log.js';
import { SecondaryLog } from '../../../lib/replication/volume/secondary-log.js';

const EXTENT = 4096; // the smallest extent the log takes: short ranges cross extents
const CAPACITY = 8;

interface Step { what: string; at: number }

function harness(capacity = CAPACITY, ahead = 0) {
  const al = new ActivityLog(capacity, EXTENT, ahead);
  const steps: Step[] = [];
  let unclean = false;
  let saves = 0;
  let failSave: Error | null = null;
  const onDisk = new Set<number>(); // the extents the log file holds
  const log = new SecondaryLog({
    activityLog: al,
    get uncleanOnDisk() { return unclean; },
    recordUnclean: async () => {
      await Promise.resolve();
      steps.push({ what: 'record unclean', at: 0 });
      unclean = true;
    },
    logActivity: async () => {
      const snap = al.snapshot();
      await new Promise((r) => setImmediate(r));
      if (failSave !== null) throw failSave;
      saves++;
      onDisk.clear();
      for (const e of snap.extents) onDisk.add(e);
      al.saved(snap.upTo);
      steps.push({ what: 'log saved', at: snap.extents.length });
    },
    released: () => {},
  });
  // A write that checks the log on disk holds its extents, and records itself.
  const write = (o: number, l: number): void => {
    for (let e = Math.floor(o / EXTENT); e <= Math.floor((o + l - 1) / EXTENT); e++) expect(onDisk.has(e), `extent ${e} logged before its write`).to.equal(true);
    expect(unclean, 'record unclean before a write').to.equal(true);
    steps.push({ what: `write ${o}+${l}`, at: 0 });
  };
  return { al, log, steps, write, saves: () => saves, fail: (e: Error | null) => (failSave = e) };
}

describe('replication/volume SecondaryLog', () => {
  it('the first write saves the record unclean, then the log, then writes; a second into the same extent writes at once', async () => {
    const h = harness();
    const first = h.log.apply(0, 100, h.write);
    expect(first, 'the first write waits').to.be.instanceOf(Promise);
    await first;
    expect(h.steps.map((s) => s.what)).to.deep.equal(['record unclean', 'log saved', 'write 0+100']);
    const second = h.log.apply(200, 100, h.write);
    expect(second, 'a hot extent: written synchronously').to.equal(undefined);
    expect(h.saves()).to.equal(1);
    expect(h.al.inFlight(0), 'released').to.equal(0);
  });

  it('a write into a new extent waits for a save even once the record is unclean; the extents stay logged oldest first', async () => {
    const h = harness();
    await h.log.apply(0, 1, h.write);
    await h.log.apply(3 * EXTENT, 1, h.write);
    await h.log.apply(EXTENT - 1, 2, h.write); // crosses into extent 1
    expect(h.saves()).to.equal(3);
    expect(h.al.extents()).to.deep.equal([3, 0, 1]);
  });

  it('a write that returns a promise keeps its extents pinned until it settles', async () => {
    const h = harness();
    await h.log.apply(0, 1, h.write);
    let finish!: () => void;
    const r = h.log.apply(0, 1, () => new Promise<void>((res) => (finish = res)));
    expect(r).to.be.instanceOf(Promise);
    expect(h.al.inFlight(0)).to.equal(1);
    finish();
    await r;
    expect(h.al.inFlight(0)).to.equal(0);
  });

  it('a write wider than half the log goes in extent-aligned parts, each logged before it is written', async () => {
    const h = harness(CAPACITY);
    const parts: Array<[number, number]> = [];
    await h.log.apply(EXTENT / 2, 10 * EXTENT, (o, l) => { h.write(o, l); parts.push([o, l]); });
    // Parts of at most capacity/2 - 1 = 3 extents, cut at extent boundaries.
    expect(parts).to.deep.equal([[EXTENT / 2, 2.5 * EXTENT], [3 * EXTENT, 3 * EXTENT], [6 * EXTENT, 3 * EXTENT], [9 * EXTENT, 1.5 * EXTENT]]);
    expect(parts.reduce((n, [, l]) => n + l, 0)).to.equal(10 * EXTENT);
    for (let e = 0; e <= 10; e++) expect(h.al.inFlight(e)).to.equal(0);
  });

  it('with every extent pinned by writes in flight, a write into a new extent waits for a release', async () => {
    const h = harness(CAPACITY);
    const finishers: Array<() => void> = [];
    const pending: Array<Promise<void> | void> = [];
    for (let e = 0; e < CAPACITY; e++) {
      pending.push(h.log.apply(e * EXTENT, 1, () => new Promise<void>((res) => finishers.push(res))));
    }
    await waitUntil(() => finishers.length === CAPACITY);
    let wrote = false;
    const late = h.log.apply(CAPACITY * EXTENT, 1, () => { wrote = true; });
    await new Promise((r) => setTimeout(r, 20));
    expect(wrote, 'no idle extent to evict').to.equal(false);
    (finishers[3] as () => void)();
    await late;
    expect(wrote).to.equal(true);
    expect(h.al.has(3), 'the released extent made room').to.equal(false);
    for (const f of finishers) f();
    await Promise.all(pending);
  });

  it('a failed log save fails the write, which never reaches the disk, and leaves nothing pinned', async () => {
    const h = harness();
    h.fail(new Error('EIO'));
    let wrote = false;
    let err: unknown = null;
    await Promise.resolve(h.log.apply(0, 1, () => { wrote = true; })).catch((e: unknown) => (err = e));
    expect((err as Error | null)?.message).to.equal('EIO');
    expect(wrote).to.equal(false);
    expect(h.al.inFlight(0)).to.equal(0);
  });

  it('a write that throws synchronously on a hot extent releases it', async () => {
    const h = harness();
    await h.log.apply(0, 1, h.write);
    expect(() => h.log.apply(0, 1, () => { throw new Error('ENOSPC'); })).to.throw('ENOSPC');
    expect(h.al.inFlight(0)).to.equal(0);
  });

  it('a sequential stream logs extents ahead of it: later writes need no save', async () => {
    const h = harness(64, 8);
    await h.log.apply(0, EXTENT, h.write);
    await h.log.apply(EXTENT, EXTENT, h.write); // continues the first: a stream, logged ahead in the same save
    expect(h.saves()).to.equal(2);
    for (let i = 2; i < 6; i++) expect(h.log.apply(i * EXTENT, EXTENT, h.write), `write ${i}`).to.equal(undefined);
    expect(h.saves()).to.equal(2);
    // Half the extents ahead used: a write without waiting tops them up in the background, so the stream never stops.
    for (let i = 6; i < 40; i++) {
      expect(h.log.apply(i * EXTENT, EXTENT, h.write), `write ${i}`).to.equal(undefined);
      await new Promise((r) => setImmediate(r)); // a save in the background finishes
      await new Promise((r) => setImmediate(r));
    }
    expect(h.saves()).to.be.greaterThan(2);
  });

  it('a zero-length write passes straight through', () => {
    const h = harness();
    let called = 0;
    expect(h.log.apply(0, 0, () => { called++; })).to.equal(undefined);
    expect(called).to.equal(1);
  });
});

async function waitUntil(f: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !f(); i++) await new Promise((r) => setImmediate(r));
  expect(f()).to.equal(true);
}
