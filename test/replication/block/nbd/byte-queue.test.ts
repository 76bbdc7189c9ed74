import { expect } from 'chai';
import { ByteQueue } from '../../../../lib/replication/block/nbd/byte-queue.js';
import { prng, randomSplit } from '../../../fixtures/nbd/client-bytes.js';

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
