// HealthTracker: every sequence of results up to length 9, for several rise /
// fall settings, against a reference model written over runs of equal results
// (a different formulation from the counters the tracker uses).
import { expect } from 'chai';
import { HealthTracker, type HealthChange, type HealthResult, type HealthState } from '../../lib/services/health.js';

const ok: HealthResult = { healthy: true, ms: 1 };
const bad = (i: number): HealthResult => ({ healthy: false, ms: 1, reason: `failure ${i}` });

// The model: the first result decides; after that a run of `fall` failures in a
// row turns healthy into unhealthy at the result that completes it, a run of
// `rise` successes turns unhealthy into healthy.
function model(seq: boolean[], rise: number, fall: number): { states: HealthState[]; changes: (HealthChange | null)[] } {
  const states: HealthState[] = [];
  const changes: (HealthChange | null)[] = [];
  let state: HealthState = 'unknown';
  let runStart = 0;
  let lastFailure: string | null = null;
  seq.forEach((good, i) => {
    if (i > 0 && seq[i - 1] !== good) runStart = i;
    const runLength = i - runStart + 1;
    if (!good) lastFailure = `failure ${i}`;
    let next = state;
    if (state === 'unknown') next = good ? 'healthy' : 'unhealthy';
    else if (state === 'healthy' && !good && runLength === fall) next = 'unhealthy';
    else if (state === 'unhealthy' && good && runLength === rise) next = 'healthy';
    changes.push(next === state ? null : { from: state, to: next, at: i * 10, reason: next === 'unhealthy' ? lastFailure : null });
    state = next;
    states.push(state);
  });
  return { states, changes };
}

function* sequences(maxLength: number): Generator<boolean[]> {
  for (let n = 1; n <= maxLength; n++) {
    for (let bits = 0; bits < 1 << n; bits++) yield Array.from({ length: n }, (_, i) => ((bits >> i) & 1) === 1);
  }
}

describe('services/health HealthTracker', () => {
  it('starts unknown, with defaults rise 2 and fall 3', () => {
    const t = new HealthTracker();
    expect(t).to.include({ state: 'unknown', since: null, lastReason: null, rise: 2, fall: 3 });
  });

  for (const [rise, fall] of [
    [1, 1],
    [1, 3],
    [2, 3],
    [3, 2],
    [4, 4],
  ] as const) {
    it(`follows the model over every sequence up to 9 results (rise ${rise}, fall ${fall})`, () => {
      let checked = 0;
      for (const seq of sequences(9)) {
        const t = new HealthTracker({ rise, fall });
        const want = model(seq, rise, fall);
        let since: number | null = null;
        seq.forEach((good, i) => {
          const change = t.record(good ? ok : bad(i), i * 10);
          const where = `${seq.map((g) => (g ? '+' : '-')).join('')} at ${i}`;
          expect(change, where).to.deep.equal(want.changes[i]);
          expect(t.state, where).to.equal(want.states[i]);
          if (change) since = change.at;
          expect(t.since, where).to.equal(since);
          // The run counters restart on every change of result.
          expect(good ? t.consecutiveFailures : t.consecutiveSuccesses, where).to.equal(0);
          if (change?.to === 'healthy') expect(t.lastReason, where).to.equal(null);
          if (t.state === 'unhealthy') expect(t.lastReason, where).to.match(/^failure \d+$/);
        });
        checked++;
      }
      expect(checked).to.equal((1 << 10) - 2);
    });
  }

  it('keeps the latest failure reason while unhealthy, and forgets it once healthy again', () => {
    const t = new HealthTracker({ rise: 2, fall: 2 });
    expect(t.record(ok, 0)).to.deep.equal({ from: 'unknown', to: 'healthy', at: 0, reason: null });
    expect(t.record(bad(1), 10)).to.equal(null);
    expect(t.lastReason).to.equal('failure 1');
    expect(t.record(bad(2), 20)).to.deep.equal({ from: 'healthy', to: 'unhealthy', at: 20, reason: 'failure 2' });
    expect(t.record(bad(3), 30)).to.equal(null);
    expect(t).to.include({ state: 'unhealthy', since: 20, lastReason: 'failure 3', consecutiveFailures: 3 });
    expect(t.record(ok, 40)).to.equal(null);
    expect(t.record(ok, 50)).to.deep.equal({ from: 'unhealthy', to: 'healthy', at: 50, reason: null });
    expect(t).to.include({ state: 'healthy', since: 50, lastReason: null, consecutiveSuccesses: 2 });
  });

  it('treats a rise or fall below 1 as 1', () => {
    const t = new HealthTracker({ rise: 0, fall: -2 });
    t.record(ok, 0);
    expect(t.record(bad(1), 1)?.to).to.equal('unhealthy');
    expect(t.record(ok, 2)?.to).to.equal('healthy');
  });
});
