// PendingWrites: the Primary's unacknowledged writes to one peer, with
// cumulative acks (received for protocol B, ON_DISK for A and C).
import { expect } from 'chai';
import { PendingWrites, settleLost } from '../../../lib/replication/volume/pending.js';

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

// Adds a write and records what its waiter hears: received once, then done once.
function add(p: PendingWrites, seq: number, offset: number, length: number, now: number): { received: boolean; done: boolean | null } {
  const s = { received: false, done: null as boolean | null };
  p.add(BigInt(seq), offset, length, now, {
    received: () => {
      expect(s.received, `write ${seq} received twice`).to.equal(false);
      s.received = true;
    },
    done: (acked) => {
      expect(s.received, `write ${seq} done before received`).to.equal(true);
      expect(s.done, `write ${seq} done twice`).to.equal(null);
      s.done = acked;
    },
  });
  return s;
}

describe('replication/volume PendingWrites', () => {
  it('a plain ack marks every write up to it received, completes none', async () => {
    const p = new PendingWrites();
    const ws = [3, 5, 8].map((seq, i) => add(p, seq, i * 4096, 4096, 100 + i));
    expect(p.ack(5n, false)).to.equal(0);
    await settle();
    expect(ws.map((w) => w.received)).to.deep.equal([true, true, false]);
    expect(ws.map((w) => w.done)).to.deep.equal([null, null, null]);
    expect(p.count).to.equal(3);
    expect(p.bytes).to.equal(3 * 4096);
  });

  it('an ON_DISK ack is cumulative: completes and receives every write up to it', async () => {
    const p = new PendingWrites();
    const ws = [3, 5, 8, 9].map((seq, i) => add(p, seq, i * 4096, 1000 * (i + 1), 100 + i));
    expect(p.ack(6n, true)).to.equal(2); // 3 and 5; 6 is between writes (another frame's number)
    await settle();
    expect(ws.map((w) => w.done)).to.deep.equal([true, true, null, null]);
    expect(ws.map((w) => w.received)).to.deep.equal([true, true, false, false]);
    expect(p.count).to.equal(2);
    expect(p.bytes).to.equal(3000 + 4000);
    expect(p.oldestSentAt()).to.equal(102);
    expect(p.ack(9n, true)).to.equal(2);
    expect(p.count).to.equal(0);
    expect(p.bytes).to.equal(0);
    expect(p.oldestSentAt()).to.equal(null);
  });

  it('acks below the oldest pending, repeated acks and acks of nothing are harmless', async () => {
    const p = new PendingWrites();
    expect(p.ack(10n, true)).to.equal(0);
    const w = add(p, 20, 0, 512, 1);
    expect(p.ack(10n, true)).to.equal(0);
    expect(p.ack(19n, false)).to.equal(0);
    await settle();
    expect(w.received).to.equal(false);
    expect(p.ack(20n, true)).to.equal(1);
    expect(p.ack(20n, true)).to.equal(0);
    expect(p.ack(20n, false)).to.equal(0);
    await settle();
    expect(w.done).to.equal(true);
  });

  it('received first, then ON_DISK', async () => {
    const p = new PendingWrites();
    const w = add(p, 1, 0, 512, 1);
    p.ack(1n, false);
    await settle();
    expect([w.received, w.done]).to.deep.equal([true, null]);
    p.ack(1n, true);
    await settle();
    expect([w.received, w.done]).to.deep.equal([true, true]);
  });

  it('oldestSentAt is the send time of the oldest unacknowledged write', () => {
    const p = new PendingWrites();
    expect(p.oldestSentAt()).to.equal(null);
    add(p, 1, 0, 1, 50);
    add(p, 2, 0, 1, 60);
    expect(p.oldestSentAt()).to.equal(50);
    p.ack(1n, false); // received is not done: still the oldest pending
    expect(p.oldestSentAt()).to.equal(50);
    p.ack(1n, true);
    expect(p.oldestSentAt()).to.equal(60);
  });

  it('drain hands back the pending writes in order, unsettled, and empties the queue', async () => {
    const p = new PendingWrites();
    const ws = [1, 2, 3, 4].map((seq) => add(p, seq, seq * 4096, 4096, seq));
    p.ack(1n, true);
    p.ack(3n, false);
    const left = p.drain();
    expect(left.map((w) => [w.seq, w.offset, w.length, w.sentAt, w.received])).to.deep.equal([
      [2n, 8192, 4096, 2, true], [3n, 12288, 4096, 3, true], [4n, 16384, 4096, 4, false],
    ]);
    expect(p.count).to.equal(0);
    expect(p.bytes).to.equal(0);
    expect(p.oldestSentAt()).to.equal(null);
    await settle();
    expect(ws.map((w) => w.done)).to.deep.equal([true, null, null, null]); // the caller settles them
    for (const w of left) settleLost(w);
    await settle();
    expect(ws.map((w) => w.done)).to.deep.equal([true, false, false, false]);
    expect(ws.map((w) => w.received)).to.deep.equal([true, true, true, true]); // a lost write no longer holds protocol B
    // Usable again after a drain (the next connection).
    add(p, 100, 0, 10, 7);
    expect(p.count).to.equal(1);
    expect(p.ack(100n, true)).to.equal(1);
  });

  it('keeps exact counts across the internal compaction (thousands of writes)', async () => {
    const p = new PendingWrites();
    const states: Array<{ received: boolean; done: boolean | null }> = [];
    let acked = 0;
    for (let i = 0; i < 5000; i++) {
      states.push(add(p, i, i * 512, 512, i));
      if (i % 7 === 6) {
        const upto = i - 3;
        const n = p.ack(BigInt(upto), true);
        expect(n).to.equal(upto + 1 - acked);
        acked = upto + 1;
        expect(p.count).to.equal(i + 1 - acked);
        expect(p.bytes).to.equal(512 * (i + 1 - acked));
        expect(p.oldestSentAt()).to.equal(acked);
      }
    }
    const left = p.drain();
    expect(left.map((w) => Number(w.seq))).to.deep.equal(Array.from({ length: 5000 - acked }, (_, k) => acked + k));
    await settle();
    expect(states.filter((s) => s.done === true).length).to.equal(acked);
  });
});
