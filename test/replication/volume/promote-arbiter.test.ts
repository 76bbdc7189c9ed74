// PromoteArbiter: one row per line of its table, and the hold's lifetime.
import { expect } from 'chai';
import { PromoteArbiter } from '../../../lib/replication/volume/promote-arbiter.js';

const HOLD = 12_000;

describe('replicated volume: promotion arbiter (one Primary, agreed on the link)', () => {
  it('a Primary refuses every request', () => {
    const a = new PromoteArbiter('node-b', HOLD);
    expect(a.answer('node-a', 1n, 'Primary', 0)).to.deep.equal({ grant: false, reason: 'node-b is Primary' });
    expect(a.holder(0)).to.equal(null);
  });

  it('two nodes asking at once: the name that sorts first refuses, the other grants, so exactly one goes on', () => {
    const a = new PromoteArbiter('node-a', HOLD);
    const b = new PromoteArbiter('node-b', HOLD);
    expect(a.begin(0).ok).to.equal(true);
    expect(b.begin(0).ok).to.equal(true);
    const bAsksA = a.answer('node-b', 1n, 'Secondary', 1);
    const aAsksB = b.answer('node-a', 1n, 'Secondary', 1);
    expect(bAsksA).to.deep.equal({ grant: false, reason: 'node-a is becoming Primary itself' });
    expect(aAsksB).to.deep.equal({ grant: true });
    expect(b.holder(1)).to.equal('node-a');
  });

  it('a node that holds a grant refuses every other peer, and grants the same peer again (its retry), renewing the hold', () => {
    const c = new PromoteArbiter('node-c', HOLD);
    expect(c.answer('node-a', 1n, 'Secondary', 0)).to.deep.equal({ grant: true });
    expect(c.answer('node-b', 7n, 'Secondary', 10)).to.deep.equal({ grant: false, reason: 'node-a is becoming Primary' });
    expect(c.answer('node-a', 2n, 'Secondary', HOLD - 1)).to.deep.equal({ grant: true });
    expect(c.holder(HOLD + 100), 'renewed at the second grant').to.equal('node-a');
    expect(c.holder(2 * HOLD - 1)).to.equal(null);
  });

  it('a Secondary that holds nothing and asks nothing grants, and holds the grant', () => {
    const b = new PromoteArbiter('node-b', HOLD);
    expect(b.answer('node-a', 5n, 'Secondary', 100)).to.deep.equal({ grant: true });
    expect(b.holder(100)).to.equal('node-a');
  });

  it('while holding a grant, our own promotion may not ask; it may once the hold is released or expired', () => {
    const b = new PromoteArbiter('node-b', HOLD);
    b.answer('node-a', 5n, 'Secondary', 0);
    expect(b.begin(1)).to.deep.equal({ ok: false, reason: 'node-a is becoming Primary' });
    expect(b.begin(HOLD).ok, 'expired').to.equal(true);
    b.end();
    b.answer('node-a', 6n, 'Secondary', HOLD);
    b.release('node-a'); // its STATE says Primary, or its link is gone
    expect(b.begin(HOLD + 1).ok).to.equal(true);
  });

  it('PROMOTE_ABORT releases only the request it names, from the peer that holds it', () => {
    const b = new PromoteArbiter('node-b', HOLD);
    b.answer('node-a', 5n, 'Secondary', 0);
    b.release('node-a', 4n); // an older request: the hold is for 5
    expect(b.holder(1)).to.equal('node-a');
    b.release('node-c', 5n); // another peer cannot release it
    b.release('node-c');
    expect(b.holder(1)).to.equal('node-a');
    b.release('node-a', 5n);
    expect(b.holder(1)).to.equal(null);
  });

  it('our own asking ends with end(); then a peer that sorts later is granted again', () => {
    const a = new PromoteArbiter('node-a', HOLD);
    const first = a.begin(0);
    const second = a.begin(0);
    expect(first.ok && second.ok && first.id !== second.id, 'each promotion has its own id').to.equal(true);
    a.end();
    expect(a.answer('node-b', 1n, 'Secondary', 0).grant, 'one promotion still asking').to.equal(false);
    a.end();
    a.end(); // one too many: harmless
    expect(a.answer('node-b', 1n, 'Secondary', 0).grant).to.equal(true);
  });
});
