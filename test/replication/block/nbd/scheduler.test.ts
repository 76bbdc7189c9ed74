import { expect } from 'chai';
import type { NbdRequest } from '../../../../lib/replication/block/nbd/protocol.js';
import { RequestScheduler } from '../../../../lib/replication/block/nbd/scheduler.js';
import type { NbdOp } from '../../../../lib/replication/block/nbd/validate.js';

let cookie = 0n;
function req(op: NbdOp | 'error'): NbdRequest {
  cookie++;
  const verdict = op === 'error' ? { kind: 'error' as const, errno: 'EINVAL' as const, message: 'x' } : { kind: 'execute' as const, op };
  return { cookie, command: op === 'error' ? 'UNKNOWN' : op.type, isRead: op !== 'error' && op.type === 'READ', offset: 0n, length: 0, verdict };
}
const W = (offset: number, length: number) => req({ type: 'WRITE', offset, data: Buffer.alloc(length), fua: false });
const R = (offset: number, length: number) => req({ type: 'READ', offset, length });
const Z = (offset: number, length: number) => req({ type: 'WRITE_ZEROES', offset, length, fua: false, noHole: false });
const F = () => req({ type: 'FLUSH' });

describe('nbd request scheduler', () => {
  it('reads run together; a write waits for an overlapping earlier read and vice versa', () => {
    const s = new RequestScheduler(16);
    const [r1, r2, w, r3] = [R(0, 100), R(50, 100), W(90, 20), R(100, 10)];
    [r1, r2, w, r3].forEach((r) => s.add(r));
    expect(s.next()).to.deep.equal([r1, r2]); // w overlaps both reads; r3 overlaps waiting w
    s.done(r1);
    expect(s.next()).to.deep.equal([]);
    s.done(r2);
    expect(s.next()).to.deep.equal([w]);
    s.done(w);
    expect(s.next()).to.deep.equal([r3]);
  });

  it('disjoint writes run concurrently; overlapping writes keep arrival order', () => {
    const s = new RequestScheduler(16);
    const [a, b, c] = [W(0, 10), Z(10, 10), W(5, 10)];
    [a, b, c].forEach((r) => s.add(r));
    expect(s.next()).to.deep.equal([a, b]);
    s.done(b);
    expect(s.next()).to.deep.equal([]);
    s.done(a);
    expect(s.next()).to.deep.equal([c]);
  });

  it('FLUSH waits for earlier writes only; nothing waits for FLUSH; errors never wait', () => {
    const s = new RequestScheduler(16);
    const [w, r, f, w2, e] = [W(0, 10), R(100, 10), F(), W(0, 10), req('error')];
    [w, r, f, w2, e].forEach((x) => s.add(x));
    expect(s.next()).to.deep.equal([w, r, e]); // f waits for w; w2 overlaps w
    s.done(w);
    expect(s.next()).to.deep.equal([f, w2]);
  });

  it('caps the number running', () => {
    const s = new RequestScheduler(2);
    const rs = [R(0, 1), R(1, 1), R(2, 1)];
    rs.forEach((r) => s.add(r));
    expect(s.next()).to.have.length(2);
    expect(s.runningCount).to.equal(2);
    s.done(rs[0] as NbdRequest);
    expect(s.next()).to.deep.equal([rs[2]]);
    s.dropPending();
    expect(s.size).to.equal(2);
  });

  it('bounds the bytes held by running reads and writes, but always lets one through', () => {
    const s = new RequestScheduler(16, 1000);
    const [big, a, b, c] = [R(0, 5000), R(10_000, 600), W(20_000, 600), R(30_000, 300)];
    [big, a, b, c].forEach((r) => s.add(r));
    expect(s.next()).to.deep.equal([big]); // alone it may exceed the bound
    s.done(big);
    expect(s.next()).to.deep.equal([a, c]); // b would make 1200 bytes
    s.done(a);
    expect(s.next()).to.deep.equal([b]);
    s.done(b);
    s.done(b); // a second done() is harmless
    expect(s.next()).to.deep.equal([]);
    expect(s.size).to.equal(1);
  });
});
