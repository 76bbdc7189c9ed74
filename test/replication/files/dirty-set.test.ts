// DirtySet: when a changed path is due, how failures back off, and what a flush hurries.
import { expect } from 'chai';
import { DirtySet, MAX_DELAY_MS, RETRY_MS } from '../../../lib/replication/files/dirty-set.js';

const SETTLE = 100;
const due = (s: DirtySet, now: number): string[] => s.due(now).map((d) => d.path).sort();

describe('replication/files: dirty paths (DirtySet)', () => {
  it('a path is due once quiet for the settle time; each change restarts the wait', () => {
    const s = new DirtySet(SETTLE);
    s.touch('a', 0);
    expect(due(s, 99)).to.deep.equal([]);
    expect(s.nextDue(50)).to.equal(100);
    s.touch('a', 80);
    expect(due(s, 150)).to.deep.equal([]);
    expect(due(s, 180)).to.deep.equal(['a']);
  });

  it('a path written without pause is due MAX_DELAY_MS after it was first seen', () => {
    const s = new DirtySet(SETTLE);
    for (let t = 0; t < MAX_DELAY_MS; t += 50) s.touch('hot', t);
    expect(due(s, MAX_DELAY_MS - 1)).to.deep.equal([]);
    expect(due(s, MAX_DELAY_MS)).to.deep.equal(['hot']);
    expect(s.oldestOrigin()).to.equal(0);
  });

  it('keeps the first change\'s number and origin, and remembers a forced send', () => {
    const s = new DirtySet(SETTLE);
    s.touch('a', 10);
    s.touch('b', 20, true);
    s.touch('a', 30, true);
    expect(s.get('a')).to.include({ origin: 10, last: 30, force: true, seq: 1 });
    expect(s.get('b')).to.include({ seq: 2, force: true });
    expect(s.lastSeq).to.equal(2);
    s.touch('a', 5); // an older event does not move last back
    expect(s.get('a')?.last).to.equal(30);
  });

  it('a failure waits RETRY_MS, longer after each failure in a row, shortest again once replicated', () => {
    const s = new DirtySet(SETTLE);
    let now = 0;
    for (const wait of [...RETRY_MS, RETRY_MS[RETRY_MS.length - 1] as number]) {
      s.retry('f', 0, now, 1);
      expect(due(s, now + wait - 1), `before ${wait} ms`).to.deep.equal([]);
      expect(due(s, now + wait), `at ${wait} ms`).to.deep.equal(['f']);
      s.delete('f'); // sent again ...
      now += wait; // ... and failed again
    }
    s.replicated('f');
    s.retry('f', 0, now, 1);
    expect(due(s, now + (RETRY_MS[0] as number))).to.deep.equal(['f']);
  });

  it('a failed path that changes again waits only the settle time, not its back-off', () => {
    const s = new DirtySet(SETTLE);
    s.retry('f', 0, 0, 1);
    s.touch('f', 1);
    expect(due(s, 1 + SETTLE)).to.deep.equal(['f']);
  });

  it('a failed change keeps its place: a flush covering it still holds, until the path changes again', () => {
    const s = new DirtySet(SETTLE);
    s.touch('a', 0);
    const first = s.get('a')!.seq;
    const mark = s.lastSeq;
    s.delete('a'); // sent ...
    s.touch('b', 0);
    s.retry('a', 0, 10, first); // ... and refused by the peer
    expect(s.get('a')?.seq).to.equal(first);
    expect(s.holds(mark)).to.equal(true);
    s.delete('a');
    s.touch('a', 20); // changed again: the new content is the one to send (sender.ts remembers the failure)
    expect(s.holds(mark)).to.equal(false);
  });

  it('a flush hurries the changes up to its mark, not the later ones, and knows when they are gone', () => {
    const s = new DirtySet(SETTLE);
    s.touch('a', 0);
    s.touch('b', 0);
    const mark = s.lastSeq;
    s.touch('c', 0);
    s.hurry(mark);
    expect(due(s, 1)).to.deep.equal(['a', 'b']);
    expect(s.nextDue(1)).to.equal(1);
    expect(s.holds(mark)).to.equal(true);
    s.delete('a');
    s.delete('b');
    expect(s.holds(mark)).to.equal(false);
    expect(s.size).to.equal(1);
    expect(s.nextDue(1)).to.equal(SETTLE);
  });

  it('nothing waiting: no next time and no oldest change', () => {
    const s = new DirtySet(SETTLE);
    expect(s.nextDue(0)).to.equal(Infinity);
    expect(s.oldestOrigin()).to.equal(Infinity);
    expect(s.due(0)).to.deep.equal([]);
  });
});
