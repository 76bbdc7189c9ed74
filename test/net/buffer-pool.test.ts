import { expect } from 'chai';
import { BufferPool, POOL_MIN } from '../../lib/net/buffer-pool.js';

describe('BufferPool', () => {
  it('hands out exact lengths; small ones are plain allocations it never takes back', () => {
    const pool = new BufferPool();
    const small = pool.take(100);
    expect(small.length).to.equal(100);
    pool.release(small);
    expect(pool.stats()).to.deep.equal({ taken: 0, reused: 0, keptBytes: 0 });
    const big = pool.take(POOL_MIN + 1);
    expect(big.length).to.equal(POOL_MIN + 1);
    expect(big.buffer.byteLength).to.equal(POOL_MIN * 2); // power-of-two class
    expect(pool.take(32 * 1024 * 1024 + 28).buffer.byteLength).to.equal(32 * 1024 * 1024 + POOL_MIN); // steps of POOL_MIN above 1 MiB
    expect(pool.take(1024 * 1024 + 8).buffer.byteLength).to.equal(1024 * 1024 + POOL_MIN); // a 1 MiB WRITE frame's payload
    expect(pool.take(1024 * 1024).buffer.byteLength).to.equal(1024 * 1024);
  });

  it('reuses a buffer only after its last holder released it', () => {
    const pool = new BufferPool();
    const a = pool.take(1 << 20);
    pool.retain(a.subarray(10, 20)); // a second holder, through a view
    pool.release(a);
    const b = pool.take(1 << 20);
    expect(b.buffer).to.not.equal(a.buffer); // still held: a fresh one
    pool.release(a.subarray(0, 1)); // the second holder lets go
    const c = pool.take(1000 * 1024); // same size class
    expect(c.buffer).to.equal(a.buffer);
    expect(pool.stats().reused).to.equal(1);
  });

  it('ignores buffers it did not make and releases after the last one', () => {
    const pool = new BufferPool();
    const foreign = Buffer.allocUnsafeSlow(1 << 20);
    pool.retain(foreign);
    pool.release(foreign);
    pool.release(foreign);
    expect(pool.stats().keptBytes).to.equal(0);
    const a = pool.take(1 << 20);
    pool.release(a);
    pool.release(a); // a second release of a returned buffer changes nothing
    expect(pool.stats().keptBytes).to.equal(1 << 20);
    const b = pool.take(1 << 20);
    const c = pool.take(1 << 20);
    expect(b.buffer).to.equal(a.buffer);
    expect(c.buffer).to.not.equal(a.buffer);
  });

  it('keeps at most keepBytes of released buffers', () => {
    const pool = new BufferPool(2 << 20);
    const bufs = [pool.take(1 << 20), pool.take(1 << 20), pool.take(1 << 20)];
    for (const b of bufs) pool.release(b);
    expect(pool.stats().keptBytes).to.equal(2 << 20);
  });
});
