// WriteCompletion: when a write's NBD reply may go (A: at once; B: every
// frame received or lost; C: every frame on the peer's disk or lost) and
// when its frames are all settled, for every order in which acks arrive.
import { expect } from 'chai';
import type { ReplicationProtocol } from '../../../lib/config/types.js';
import { WriteCompletion } from '../../../lib/replication/volume/write-completion.js';

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

type Event = { frame: number; kind: 'received' | 'done' };

// Every interleaving of the frames' events, each frame's received before its done.
function interleavings(frames: number): Event[][] {
  const out: Event[][] = [];
  const walk = (next: number[], path: Event[]): void => {
    if (next.every((n) => n === 2)) return void out.push(path);
    next.forEach((n, f) => {
      if (n === 2) return;
      const step = next.slice();
      step[f] = n + 1;
      walk(step, [...path, { frame: f, kind: n === 0 ? 'received' : 'done' }]);
    });
  };
  walk(Array<number>(frames).fill(0), []);
  return out;
}

async function run(protocol: ReplicationProtocol, frames: number, events: Event[]): Promise<{ answeredAfter: number; finishedAfter: number }> {
  let finished = 0;
  let finishedAfter = -1;
  const c = new WriteCompletion(protocol, () => {
    finished++;
    finishedAfter = step;
  });
  let step = 0;
  for (let f = 0; f < frames; f++) c.expect();
  let answered = false;
  const p = c.close();
  if (p === null) answered = true;
  else void p.then(() => (answered = true));
  let answeredAfter = answered ? 0 : -1;
  for (const e of events) {
    step++;
    if (e.kind === 'received') c.received();
    else c.done(e.frame % 2 === 0); // acked or lost: the same for completion
    await settle();
    if (answered && answeredAfter < 0) answeredAfter = step;
  }
  expect(finished, 'finished runs exactly once').to.equal(1);
  return { answeredAfter, finishedAfter };
}

describe('replication/volume WriteCompletion', () => {
  for (const frames of [1, 2, 3]) {
    const orders = interleavings(frames);
    it(`${frames} frame(s), all ${orders.length} orders: A answers at once, B at the last received, C at the last done; finished at the last done`, async () => {
      for (const events of orders) {
        const lastReceived = events.map((e) => e.kind).lastIndexOf('received') + 1;
        const lastDone = events.length;
        expect(await run('A', frames, events)).to.deep.equal({ answeredAfter: 0, finishedAfter: lastDone });
        expect(await run('B', frames, events)).to.deep.equal({ answeredAfter: lastReceived, finishedAfter: lastDone });
        expect(await run('C', frames, events)).to.deep.equal({ answeredAfter: lastDone, finishedAfter: lastDone });
      }
    });
  }

  it('a write sent to no peer is answered and finished at close', () => {
    for (const protocol of ['A', 'B', 'C'] as const) {
      let finished = 0;
      const c = new WriteCompletion(protocol, () => finished++);
      expect(c.close()).to.equal(null);
      expect(finished).to.equal(1);
    }
  });

  it('acks that arrive before close (a link lost while sending) are counted, and nothing is answered or finished until close', async () => {
    let finished = 0;
    const c = new WriteCompletion('C', () => finished++);
    c.expect();
    c.received();
    c.done(false);
    c.expect(); // the second peer's frame
    expect(finished).to.equal(0);
    const p = c.close();
    expect(p).to.not.equal(null);
    let answered = false;
    void p?.then(() => (answered = true));
    await settle();
    expect([answered, finished]).to.deep.equal([false, 0]);
    c.received();
    c.done(true);
    await settle();
    expect([answered, finished]).to.deep.equal([true, 1]);
  });

  it('closeWith calls back once: inside the call when the reply may go now, at the last ack otherwise', () => {
    const calls: string[] = [];
    const now = new WriteCompletion('C', () => calls.push('finished'));
    now.closeWith(() => calls.push('answered'));
    expect(calls, 'no frames: at once').to.deep.equal(['finished', 'answered']);
    calls.length = 0;
    const later = new WriteCompletion('C', () => calls.push('finished'));
    later.expect();
    later.closeWith(() => calls.push('answered'));
    expect(calls).to.deep.equal([]);
    later.received();
    expect(calls, 'received is not enough under C').to.deep.equal([]);
    later.done(true);
    expect(calls).to.deep.equal(['finished', 'answered']);
  });

  it('every frame settled before close: close answers and finishes at once', () => {
    let finished = 0;
    const c = new WriteCompletion('C', () => finished++);
    c.expect();
    c.received();
    c.done(true);
    expect(c.close()).to.equal(null);
    expect(finished).to.equal(1);
  });
});
