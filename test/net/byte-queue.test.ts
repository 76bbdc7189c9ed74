import { expect } from 'chai';
import { payloadPool } from '../../lib/net/buffer-pool.js';
import { ByteQueue } from '../../lib/net/byte-queue.js';
import { prng, randomSplit } from '../fixtures/nbd/client-bytes.js';

describe('ByteQueue', () => {
  it('returns exact lengths across any split, undefined while short', () => {
    const src = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
    for (let seed = 1; seed <= 100; seed++) {
      const rnd = prng(seed);
      const q = new ByteQueue();
      const got: Buffer[] = [];
      for (const piece of randomSplit(src, rnd)) {
        q.push(piece);
        for (;;) {
          const n = 1 + Math.floor(rnd() * 50);
          if (q.length < n) {
            expect(q.take(n)).to.equal(undefined);
            break;
          }
          expect(q.peek(n)?.length).to.equal(n);
          got.push(q.take(n) as Buffer);
        }
      }
      got.push(q.take(q.length) as Buffer);
      expect(Buffer.concat(got).equals(src), `seed ${seed}`).to.equal(true);
      expect(q.length).to.equal(0);
    }
  });
});

describe('ByteQueue with reused read buffers', () => {
  // Every piece arrives in the same scratch buffer, overwritten after settle(), as reused-reads.ts does.
  it('returns the same bytes when every pushed chunk is overwritten after settle()', () => {
    const src = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
    for (let seed = 1; seed <= 30; seed++) {
      const rnd = prng(seed);
      const q = new ByteQueue();
      const scratch = Buffer.alloc(src.length);
      const got: Buffer[] = [];
      for (const piece of randomSplit(src, rnd)) {
        piece.copy(scratch);
        q.push(scratch.subarray(0, piece.length));
        for (;;) {
          const n = 1 + Math.floor(rnd() * 100_000);
          const b = q.take(n);
          if (b === undefined) {
            if (rnd() < 0.5) q.expect(n);
            break;
          }
          got.push(b);
        }
        q.settle();
        scratch.fill(0xee);
      }
      got.push(q.take(q.length) as Buffer);
      expect(Buffer.concat(got).equals(src), `seed ${seed}`).to.equal(true);
    }
  });

  it('discard() consumes like take() across any split, with chunks overwritten after settle()', () => {
    const src = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 11) & 0xff));
    for (let seed = 1; seed <= 30; seed++) {
      const rnd = prng(seed);
      const q = new ByteQueue();
      const scratch = Buffer.alloc(src.length);
      let pos = 0;
      for (const piece of randomSplit(src, rnd)) {
        piece.copy(scratch);
        q.push(scratch.subarray(0, piece.length));
        for (;;) {
          const n = 1 + Math.floor(rnd() * 50_000);
          if (rnd() < 0.5) {
            if (!q.discard(n)) {
              expect(q.length).to.be.below(n);
              if (rnd() < 0.5) q.expect(n);
              break;
            }
          } else {
            const b = q.take(n);
            if (b === undefined) break;
            expect(b.equals(src.subarray(pos, pos + n)), `seed ${seed} at ${pos}`).to.equal(true);
          }
          pos += n;
        }
        q.settle();
        scratch.fill(0xee);
      }
      expect(pos + q.length, `seed ${seed}`).to.equal(src.length);
      expect(q.take(q.length)?.equals(src.subarray(pos)), `seed ${seed} tail`).to.equal(true);
    }
  });

  it('a gathered message discarded to its end goes back to the pool', () => {
    const q = new ByteQueue();
    const n = 256 * 1024;
    const scratch = Buffer.alloc(64 * 1024, 7);
    q.push(scratch);
    q.expect(n);
    q.settle(); // gathering starts: one pooled buffer of n bytes
    for (let got = scratch.length; got < n; got += scratch.length) q.push(scratch);
    expect(q.length).to.equal(n);
    const before = payloadPool.stats();
    expect(q.discard(n)).to.equal(true);
    const again = payloadPool.take(n);
    expect(payloadPool.stats().reused - before.reused).to.equal(1);
    payloadPool.release(again);
  });

  it('readTarget: the rest of a gathered message is read in place, then handed out whole', () => {
    const msg = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 17) & 0xff));
    const q = new ByteQueue();
    const scratch = Buffer.alloc(40_000);
    expect(q.readTarget(1)).to.equal(null); // nothing gathered
    msg.copy(scratch, 0, 0, scratch.length);
    q.push(scratch);
    q.expect(msg.length);
    expect(q.take(msg.length)).to.equal(undefined);
    q.settle(); // starts gathering: the first chunk is copied
    scratch.fill(0);
    let at = scratch.length;
    let inPlace = 0;
    while (at < msg.length) {
      const t = q.readTarget(16 * 1024);
      const n = Math.min(50_000, msg.length - at);
      if (t === null) {
        // Under 16 KiB missing: read anywhere, copied as usual.
        expect(msg.length - at).to.be.below(16 * 1024);
        msg.copy(scratch, 0, at, at + n);
        q.push(scratch.subarray(0, n));
      } else {
        expect(t.length).to.equal(msg.length - at);
        msg.copy(t, 0, at, at + n); // the socket reads into the target
        q.push(t.subarray(0, n));
        inPlace++;
      }
      at += n;
      const whole = q.take(msg.length);
      if (whole !== undefined) {
        expect(at).to.equal(msg.length);
        expect(whole.equals(msg)).to.equal(true);
      }
      q.settle();
      scratch.fill(0);
    }
    expect(inPlace).to.equal(5); // the last 10 000 bytes were copied
    expect(q.length).to.equal(0);
    expect(q.readTarget(1)).to.equal(null);
  });

  it('a buffer offered as a read target never goes back to the pool: a late read must not land in another user\'s data', () => {
    const n = 256 * 1024;
    const q = new ByteQueue();
    q.push(Buffer.alloc(1000, 1));
    q.expect(n);
    q.settle();
    const target = q.readTarget(1);
    expect(target).to.not.equal(null);
    q.clear(); // the connection failed while a read was pending into target
    const taken: Buffer[] = [];
    for (let i = 0; i < 8; i++) taken.push(payloadPool.take(n));
    expect(taken.some((b) => b.buffer === target?.buffer)).to.equal(false);
    for (const b of taken) payloadPool.release(b);
  });

  it('a gathered buffer never offered goes back to the pool at clear()', () => {
    const n = 320 * 1024;
    const q = new ByteQueue();
    q.push(Buffer.alloc(1000, 1));
    q.expect(n);
    q.settle();
    const gathered = q.peek(1000)?.buffer; // a view of the gathered buffer
    q.clear();
    const again = payloadPool.take(n); // the pool hands out the last released buffer of a class first
    expect(again.buffer).to.equal(gathered);
    payloadPool.release(again);
  });

  it('gathers an announced message across reads once and hands it out without a copy', () => {
    const msg = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 13) & 0xff));
    const q = new ByteQueue();
    const scratch = Buffer.alloc(64 * 1024);
    const before = payloadPool.stats().taken;
    for (let at = 0; at < msg.length; at += scratch.length) {
      msg.copy(scratch, 0, at, at + scratch.length);
      q.push(scratch);
      if (at === 0) q.expect(msg.length);
      const whole = q.take(msg.length);
      if (whole !== undefined) {
        expect(whole.equals(msg)).to.equal(true);
        expect(whole.byteOffset).to.equal(0); // the gathered buffer itself
      }
      q.settle();
      scratch.fill(0);
    }
    expect(q.length).to.equal(0);
    expect(payloadPool.stats().taken - before).to.equal(1); // one buffer for the whole message, no copy at take()
  });
});
