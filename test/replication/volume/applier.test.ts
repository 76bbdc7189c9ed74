// OrderedApplier with fake jobs whose completion the test controls: overlap,
// fences, the in-flight bound, the cumulative watermark, idle and errors.
import { expect } from 'chai';
import { OrderedApplier, type ApplyJob } from '../../../lib/replication/volume/applier.js';
import { rng } from '../../helpers/random.js';

// Lets every pending promise callback run (job.run().then(...) inside the applier).
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

interface FakeJob {
  seq: bigint;
  range: { offset: number; length: number } | null;
  started: boolean;
  done: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

// An applier plus a log of what it did, with jobs finished by hand.
class Rig {
  readonly jobs: FakeJob[] = [];
  readonly marks: bigint[] = [];
  readonly errors: unknown[] = [];
  readonly startOrder: bigint[] = [];
  readonly applier: OrderedApplier;
  private seq = 0n;

  constructor(readonly maxInFlight: number) {
    this.applier = new OrderedApplier(maxInFlight, (s) => this.marks.push(s), (e) => this.errors.push(e));
  }

  // sync: the job is done when run() returns, and returns nothing (a small write into the page cache).
  push(range: { offset: number; length: number } | null, seq?: bigint, sync = false): FakeJob {
    const j: FakeJob = { seq: seq ?? this.seq++, range, started: false, done: false, resolve: () => {}, reject: () => {} };
    if (seq !== undefined) this.seq = seq + 1n;
    this.jobs.push(j);
    const job: ApplyJob = {
      seq: j.seq, range,
      run: () => {
        j.started = true;
        this.startOrder.push(j.seq);
        if (sync) {
          j.done = true;
          return;
        }
        return new Promise<void>((res, rej) => {
          j.resolve = () => { j.done = true; res(); };
          j.reject = rej;
        });
      },
    };
    this.applier.push(job);
    return j;
  }

  write(offset: number, length: number, seq?: bigint, sync = false): FakeJob {
    return this.push({ offset, length }, seq, sync);
  }

  fence(seq?: bigint): FakeJob {
    return this.push(null, seq);
  }

  running(): FakeJob[] {
    return this.jobs.filter((j) => j.started && !j.done);
  }

  async finish(j: FakeJob): Promise<void> {
    j.resolve();
    await settle();
  }
}

const overlaps = (a: FakeJob, b: FakeJob): boolean =>
  a.range !== null && b.range !== null && a.range.offset < b.range.offset + b.range.length && b.range.offset < a.range.offset + a.range.length;

describe('replication/volume OrderedApplier', () => {
  it('runs disjoint writes concurrently and overlapping ones one after the other', async () => {
    const r = new Rig(8);
    const a = r.write(0, 4096);
    const b = r.write(8192, 4096);
    const c = r.write(2048, 4096); // overlaps a
    const d = r.write(16384, 10); // behind c in the queue: the queue is in stream order
    await settle();
    expect([a.started, b.started, c.started, d.started]).to.deep.equal([true, true, false, false]);
    await r.finish(b);
    expect(c.started).to.equal(false);
    await r.finish(a);
    expect(c.started && d.started).to.equal(true);
  });

  it('ranges that only touch do not overlap', async () => {
    const r = new Rig(8);
    const a = r.write(0, 4096);
    const b = r.write(4096, 4096);
    await settle();
    expect(a.started && b.started).to.equal(true);
  });

  it('a fence waits for every earlier job and holds back every later one', async () => {
    const r = new Rig(8);
    const w1 = r.write(0, 10);
    const w2 = r.write(100, 10);
    const f = r.fence();
    const w3 = r.write(1000, 10); // disjoint from everything, still behind the fence
    await settle();
    expect([w1.started, w2.started, f.started, w3.started]).to.deep.equal([true, true, false, false]);
    await r.finish(w1);
    expect(f.started).to.equal(false);
    await r.finish(w2);
    expect(f.started).to.equal(true);
    expect(w3.started).to.equal(false);
    await r.finish(f);
    expect(w3.started).to.equal(true);
    expect(r.marks).to.deep.equal([0n, 1n, 2n]);
  });

  it('consecutive fences run one at a time', async () => {
    const r = new Rig(8);
    const f1 = r.fence();
    const f2 = r.fence();
    await settle();
    expect([f1.started, f2.started]).to.deep.equal([true, false]);
    await r.finish(f1);
    expect(f2.started).to.equal(true);
  });

  it('respects maxInFlight', async () => {
    const r = new Rig(3);
    const js = Array.from({ length: 10 }, (_, i) => r.write(i * 100, 10));
    await settle();
    expect(r.running().length).to.equal(3);
    expect(r.applier.backlog).to.equal(10);
    await r.finish(js[1] as FakeJob);
    expect(r.running().length).to.equal(3);
    expect((js[3] as FakeJob).started).to.equal(true);
    expect((js[4] as FakeJob).started).to.equal(false);
    expect(r.applier.backlog).to.equal(9);
  });

  it('maxInFlight 1 makes everything sequential', async () => {
    const r = new Rig(1);
    const js = Array.from({ length: 5 }, (_, i) => r.write(i * 100, 10));
    for (const j of js) {
      await settle();
      expect(r.running()).to.deep.equal([j]);
      await r.finish(j);
    }
    expect(r.marks).to.deep.equal([0n, 1n, 2n, 3n, 4n]);
  });

  it('the watermark advances only over a contiguous done prefix and is reported in order', async () => {
    const r = new Rig(8);
    const js = Array.from({ length: 5 }, (_, i) => r.write(i * 100, 10));
    await settle();
    await r.finish(js[2] as FakeJob);
    await r.finish(js[4] as FakeJob);
    expect(r.marks).to.deep.equal([]);
    await r.finish(js[0] as FakeJob);
    expect(r.marks).to.deep.equal([0n]);
    await r.finish(js[1] as FakeJob);
    expect(r.marks).to.deep.equal([0n, 2n]); // 1 and 2 are done: one report for the prefix
    await r.finish(js[3] as FakeJob);
    expect(r.marks).to.deep.equal([0n, 2n, 4n]);
  });

  it('the watermark carries the jobs\' own sequence numbers, gaps included (acks and pings take numbers too)', async () => {
    const r = new Rig(8);
    const a = r.write(0, 10, 7n);
    const b = r.write(100, 10, 9n);
    const f = r.fence(12n);
    await settle();
    await r.finish(b);
    await r.finish(a);
    await r.finish(f);
    expect(r.marks).to.deep.equal([9n, 12n]);
  });

  it('idle() resolves at once when empty and after the last job otherwise', async () => {
    const r = new Rig(4);
    let idle = false;
    await r.applier.idle();
    const a = r.write(0, 10);
    const f = r.fence();
    void r.applier.idle().then(() => (idle = true));
    await r.finish(a);
    expect(idle).to.equal(false);
    await r.finish(f);
    expect(idle).to.equal(true);
    expect(r.applier.backlog).to.equal(0);
  });

  it('an error stops everything: onError once, no more starts, no more watermarks, idle resolves', async () => {
    const r = new Rig(8);
    const a = r.write(0, 10);
    const b = r.write(100, 10);
    const c = r.write(0, 10); // waits for a
    let idle = false;
    void r.applier.idle().then(() => (idle = true));
    await settle();
    b.reject(new Error('EIO'));
    await settle();
    expect(r.errors.map((e) => (e as Error).message)).to.deep.equal(['EIO']);
    expect(idle).to.equal(true);
    await r.finish(a); // a finishes after the failure
    expect(c.started).to.equal(false);
    expect(r.marks).to.deep.equal([]);
    // A second failure and later pushes change nothing.
    const d = r.write(5000, 10);
    await settle();
    expect(d.started).to.equal(false);
    expect(r.errors).to.have.length(1);
    await r.applier.idle();
  });

  it('two jobs failing report one error', async () => {
    const r = new Rig(8);
    const a = r.write(0, 10);
    const b = r.write(100, 10);
    await settle();
    a.reject(new Error('first'));
    b.reject(new Error('second'));
    await settle();
    expect(r.errors.map((e) => (e as Error).message)).to.deep.equal(['first']);
  });

  it('stop() drops the queue and wakes idle waiters', async () => {
    const r = new Rig(1);
    const a = r.write(0, 10);
    const b = r.write(100, 10);
    let idle = false;
    void r.applier.idle().then(() => (idle = true));
    r.applier.stop();
    await settle();
    expect(idle).to.equal(true);
    await r.finish(a);
    expect(b.started).to.equal(false);
    expect(r.marks).to.deep.equal([]);
    expect(r.errors).to.deep.equal([]);
  });

  it('a job done inline (run returns nothing) completes at once: the watermark moves before push returns', () => {
    const r = new Rig(4);
    r.write(0, 4096, undefined, true);
    expect(r.marks).to.deep.equal([0n]);
    const slow = r.write(4096, 4096);
    r.write(8192, 4096, undefined, true); // done, but behind the slow one
    expect(r.marks).to.deep.equal([0n]);
    expect(r.applier.backlog).to.equal(1);
    slow.resolve();
    return settle().then(() => {
      expect(r.marks).to.deep.equal([0n, 2n]);
      expect(r.applier.backlog).to.equal(0);
    });
  });

  it('a job whose run() throws stops the applier like a rejected one', async () => {
    const r = new Rig(4);
    r.applier.push({ seq: 0n, range: { offset: 0, length: 1 }, run: () => { throw new Error('EIO'); } });
    r.write(4096, 4096);
    await settle();
    expect(r.errors.map((e) => (e as Error).message)).to.deep.equal(['EIO']);
    expect(r.marks).to.deep.equal([]);
    expect(r.startOrder).to.deep.equal([]);
    let idle = false;
    await r.applier.idle().then(() => (idle = true));
    expect(idle).to.equal(true);
  });

  // Random streams: random ranges and fences, random completion order; the invariants hold at every step.
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
    it(`random stream, seed ${seed}: invariants at every step`, async () => {
      const rand = rng(seed);
      const n = (k: number): number => Math.floor(rand() * k);
      const maxInFlight = 1 + n(6);
      const r = new Rig(maxInFlight);
      let seq = 0n;
      const total = 150;
      let pushed = 0;
      let startsChecked = 0;
      let marksChecked = 0;
      const check = (): void => {
        const run = r.running();
        expect(run.length, 'in flight').to.be.at.most(maxInFlight);
        // A running fence runs alone.
        if (run.some((j) => j.range === null)) expect(run.length, 'fence alone').to.equal(1);
        // No two running jobs overlap.
        for (let i = 0; i < run.length; i++) for (let k = i + 1; k < run.length; k++) expect(overlaps(run[i] as FakeJob, run[k] as FakeJob), 'overlap').to.equal(false);
        // Started in stream order; when a job starts, every job before a fence, every fence before it, and
        // every earlier overlapping job is done (checked once per start, and per new watermark).
        for (; startsChecked < r.startOrder.length; startsChecked++) {
          const s = r.startOrder[startsChecked] as bigint;
          if (startsChecked > 0) expect(s > (r.startOrder[startsChecked - 1] as bigint), 'start order').to.equal(true);
          const idx = r.jobs.findIndex((j) => j.seq === s);
          const j = r.jobs[idx] as FakeJob;
          for (const e of r.jobs.slice(0, idx)) {
            if (j.range === null || e.range === null || overlaps(e, j)) expect(e.done, `job ${j.seq} started before ${e.seq} was done`).to.equal(true);
          }
        }
        for (; marksChecked < r.marks.length; marksChecked++) {
          const m = r.marks[marksChecked] as bigint;
          if (marksChecked > 0) expect(m > (r.marks[marksChecked - 1] as bigint), 'watermarks increase').to.equal(true);
          expect(r.jobs.filter((j) => j.seq <= m).every((j) => j.done), `watermark ${m}`).to.equal(true);
        }
        // The watermark is the largest done prefix: the first job not done is right after it.
        const firstOpen = r.jobs.find((j) => !j.done);
        const expected = firstOpen === undefined ? r.jobs[r.jobs.length - 1]?.seq : r.jobs[r.jobs.indexOf(firstOpen) - 1]?.seq;
        if (expected !== undefined) expect(r.marks[r.marks.length - 1]).to.equal(expected);
        expect(r.applier.backlog).to.equal(r.jobs.filter((j) => !j.done).length);
      };
      while (pushed < total || r.jobs.some((j) => !j.done)) {
        if (pushed < total && (n(3) > 0 || r.running().length === 0)) {
          seq += 1n + BigInt(n(3)); // other frames take sequence numbers too
          if (n(8) === 0) r.fence(seq);
          else r.write(n(64) * 512, 1 + n(8 * 512), seq, n(3) === 0); // a third done inline
          pushed++;
        } else {
          const run = r.running();
          expect(run.length, 'something runs while jobs are open').to.be.greaterThan(0);
          (run[n(run.length)] as FakeJob).resolve();
        }
        await settle();
        check();
      }
      let idle = false;
      await r.applier.idle().then(() => (idle = true));
      expect(idle).to.equal(true);
      expect(r.marks[r.marks.length - 1]).to.equal(seq);
      expect(r.errors).to.deep.equal([]);
    });
  }
});
