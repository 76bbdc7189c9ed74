// The rate limit on a service's logged output: so many lines per window,
// the rest counted and reported once when the window ends.
import { expect } from 'chai';
import { OutputBudget } from '../../lib/services/output-budget.js';

describe('services/output-budget OutputBudget', () => {
  it('logs perWindow lines, suppresses the rest, and reports their count with the next window', () => {
    const b = new OutputBudget(3, 1000);
    const at = (t: number, n: number) => Array.from({ length: n }, () => b.admit(t));
    expect(at(0, 5).map((a) => a.log)).to.deep.equal([true, true, true, false, false]);
    expect(b.windowEnd).to.equal(1000);
    expect(b.admit(999)).to.deep.equal({ log: false, report: 0 });
    expect(b.admit(1000)).to.deep.equal({ log: true, report: 3 });
    expect(b.admit(1001)).to.deep.equal({ log: true, report: 0 });
  });

  it('take() hands over the count once (the window-end timer reports it), so the next window does not repeat it', () => {
    const b = new OutputBudget(1, 1000);
    b.admit(0);
    b.admit(10);
    b.admit(20);
    expect(b.take()).to.equal(2);
    expect(b.take()).to.equal(0);
    expect(b.admit(1500)).to.deep.equal({ log: true, report: 0 });
  });
});
