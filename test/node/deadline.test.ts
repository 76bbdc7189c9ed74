// The step deadline: aborts on its timer or with the outer signal, says
// which, survives garbage collections, and clear() leaves nothing behind.
import { expect } from 'chai';
import v8 from 'node:v8';
import vm from 'node:vm';
import { deadline } from '../../lib/node/deadline.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('node/deadline', () => {
  it('aborts after ms, as a timeout, with garbage collections meanwhile', async () => {
    const collector = setInterval(() => gc(), 10);
    try {
      const d = deadline(100);
      const fired = new Promise<string>((res) => d.signal.addEventListener('abort', () => res(String(d.signal.reason))));
      expect(await Promise.race([fired, sleep(2000).then(() => 'lost')])).to.equal('Error: timed out after 0.1 s');
      expect(d.timedOut()).to.equal(true);
    } finally {
      clearInterval(collector);
    }
  });

  it('aborts with the outer signal (not a timeout), also one aborted already', () => {
    const outer = new AbortController();
    const d = deadline(10_000, outer.signal);
    outer.abort(new Error('newer transition'));
    expect([d.signal.aborted, d.timedOut(), String(d.signal.reason)]).to.deep.equal([true, false, 'Error: newer transition']);
    d.clear();
    const late = deadline(10_000, outer.signal);
    expect(late.signal.aborted).to.equal(true);
    late.clear();
  });

  it('clear() stops the timer: nothing aborts later', async () => {
    const d = deadline(50);
    d.clear();
    await sleep(100);
    expect(d.signal.aborted).to.equal(false);
  });
});
