// RangeLock: mutual exclusion over byte ranges, FIFO among overlapping waiters.
import { expect } from 'chai';
import { RangeLock } from '../../../lib/replication/volume/range-lock.js';
import { rng } from '../../helpers/random.js';

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

// acquire() with a flag that says when it was granted.
function track(lock: RangeLock, offset: number, length: number, order?: string[], name?: string): { granted: () => boolean; release: () => void } {
  let rel: (() => void) | null = null;
  void lock.acquire(offset, length).then((r) => {
    rel = r;
    if (order && name) order.push(name);
  });
  return {
    granted: () => rel !== null,
    release: () => {
      if (rel === null) throw new Error('not granted');
      rel();
    },
  };
}

describe('replication/volume RangeLock', () => {
  it('disjoint ranges are held at the same time; touching ranges do not overlap', async () => {
    const l = new RangeLock();
    const a = track(l, 0, 4096);
    const b = track(l, 4096, 4096);
    const c = track(l, 1 << 20, 1);
    await settle();
    expect([a.granted(), b.granted(), c.granted()]).to.deep.equal([true, true, true]);
    expect(l.busy).to.equal(3);
  });

  it('an overlapping request waits until the holder releases', async () => {
    const l = new RangeLock();
    const a = track(l, 0, 8192);
    const b = track(l, 4096, 4096);
    await settle();
    expect([a.granted(), b.granted()]).to.deep.equal([true, false]);
    expect(l.busy).to.equal(2);
    a.release();
    await settle();
    expect(b.granted()).to.equal(true);
    expect(l.busy).to.equal(1);
  });

  it('FIFO: a waiter is not overtaken by a later overlapping one, even one the holder would allow', async () => {
    const l = new RangeLock();
    const order: string[] = [];
    const held = track(l, 0, 100, order, 'held');
    const w1 = track(l, 50, 100, order, 'w1'); // overlaps held
    const w2 = track(l, 120, 10, order, 'w2'); // free of held, overlaps w1: waits behind w1
    const w3 = track(l, 500, 10, order, 'w3'); // overlaps nobody: goes at once
    await settle();
    expect(order).to.deep.equal(['held', 'w3']);
    held.release();
    await settle();
    expect(order).to.deep.equal(['held', 'w3', 'w1']);
    expect(w2.granted()).to.equal(false);
    w1.release();
    await settle();
    expect(order).to.deep.equal(['held', 'w3', 'w1', 'w2']);
    w2.release();
    w3.release();
    expect(l.busy).to.equal(0);
  });

  it('tryAcquire grants at once exactly when acquire would, and never jumps the queue', async () => {
    const l = new RangeLock();
    const held = l.tryAcquire(0, 100);
    expect(held).to.be.a('function');
    expect(l.tryAcquire(50, 10)).to.equal(null); // overlaps the holder
    const w = track(l, 90, 100); // waits behind the holder
    await settle();
    expect(l.tryAcquire(150, 10)).to.equal(null); // free of the holder, overlaps the waiter: FIFO
    const free = l.tryAcquire(400, 10);
    expect(free).to.be.a('function');
    expect(l.busy).to.equal(3);
    held?.();
    await settle();
    expect(w.granted()).to.equal(true);
    w.release();
    free?.();
    free?.(); // idempotent, as acquire's release
    expect(l.busy).to.equal(0);
    expect(l.tryAcquire(0, 1000)).to.be.a('function');
  });

  it('waiters on the same range are served in arrival order', async () => {
    const l = new RangeLock();
    const order: string[] = [];
    const ts = ['a', 'b', 'c', 'd'].map((n) => track(l, 0, 10, order, n));
    for (let i = 0; i < ts.length; i++) {
      await settle();
      expect(order).to.deep.equal(['a', 'b', 'c', 'd'].slice(0, i + 1));
      (ts[i] as { release: () => void }).release();
    }
  });

  it('release is idempotent: a second call does not free a range someone else now holds', async () => {
    const l = new RangeLock();
    const a = track(l, 0, 10);
    await settle();
    a.release();
    const b = track(l, 0, 10);
    const c = track(l, 5, 10);
    await settle();
    expect([b.granted(), c.granted()]).to.deep.equal([true, false]);
    a.release(); // stale release
    a.release();
    await settle();
    expect(c.granted()).to.equal(false);
    expect(l.busy).to.equal(2);
    b.release();
    await settle();
    expect(c.granted()).to.equal(true);
  });

  it('random: no two granted ranges overlap, overlapping requests are granted in arrival order, all are granted', async () => {
    const r = rng(99);
    const n = (k: number): number => Math.floor(r() * k);
    const l = new RangeLock();
    interface Req { id: number; start: number; end: number; granted: boolean; released: boolean; release: (() => void) | null }
    const reqs: Req[] = [];
    const grants: number[] = [];
    for (let step = 0; step < 2000; step++) {
      if (n(2) === 0 || reqs.every((q) => !q.granted || q.released)) {
        const start = n(100) * 512;
        const q: Req = { id: reqs.length, start, end: start + 1 + n(4096), granted: false, released: false, release: null };
        reqs.push(q);
        void l.acquire(q.start, q.end - q.start).then((rel) => { q.granted = true; q.release = rel; grants.push(q.id); });
      } else {
        const held = reqs.filter((q) => q.granted && !q.released);
        const q = held[n(held.length)] as Req;
        q.released = true;
        q.release?.();
      }
      await settle();
      const held = reqs.filter((q) => q.granted && !q.released);
      for (let i = 0; i < held.length; i++) {
        for (let k = i + 1; k < held.length; k++) {
          const [x, y] = [held[i] as Req, held[k] as Req];
          expect(x.start < y.end && y.start < x.end, `${x.id} and ${y.id} overlap`).to.equal(false);
        }
      }
      expect(l.busy).to.equal(reqs.filter((q) => !q.released).length);
    }
    // Drain.
    while (reqs.some((q) => !q.released)) {
      for (const q of reqs) if (q.granted && !q.released) { q.released = true; q.release?.(); }
      await settle();
    }
    expect(l.busy).to.equal(0);
    // FIFO among overlapping: a later overlapping request was never granted first.
    const pos = new Map(grants.map((id, i) => [id, i]));
    for (const x of reqs) {
      for (const y of reqs) {
        if (x.id < y.id && x.start < y.end && y.start < x.end) expect(pos.get(x.id)! < pos.get(y.id)!, `${y.id} overtook ${x.id}`).to.equal(true);
      }
    }
  });
});
