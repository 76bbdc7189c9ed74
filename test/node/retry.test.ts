// retryTransient: transient refusals are tried again until they clear or the
// signal aborts (then the last refusal is thrown); anything else fails at once.
import { expect } from 'chai';
import { TandemError } from '../../lib/errors.js';
import { retryTransient } from '../../lib/node/retry.js';

const refusal = (n: number): TandemError => new TandemError('PROMOTE_REFUSED', `db: b is Primary (try ${n})`, { transient: true });

describe('node/retry retryTransient', () => {
  it('a transient refusal that clears: tried again until it succeeds', async () => {
    let calls = 0;
    const r = await retryTransient(async () => {
      calls++;
      if (calls < 4) throw refusal(calls);
      return 'promoted';
    }, new AbortController().signal, 5);
    expect([r, calls]).to.deep.equal(['promoted', 4]);
  });

  it('a refusal that is not transient, or another error, fails at the first try', async () => {
    for (const err of [new TandemError('PROMOTE_REFUSED', 'disk Inconsistent'), new Error('EIO')]) {
      let calls = 0;
      const got = await retryTransient(async () => { calls++; throw err; }, new AbortController().signal, 5).catch((e: unknown) => e);
      expect([got, calls]).to.deep.equal([err, 1]);
    }
  });

  it('the signal aborting ends the retries with the last refusal', async () => {
    const ac = new AbortController();
    let calls = 0;
    setTimeout(() => ac.abort(), 60);
    const t0 = Date.now();
    const got = await retryTransient(async () => { calls++; throw refusal(calls); }, ac.signal, 10).catch((e: unknown) => e as Error);
    expect(Date.now() - t0).to.be.below(1000);
    expect(calls).to.be.greaterThan(1);
    expect((got as Error).message).to.equal(`db: b is Primary (try ${calls})`);
  });
});
