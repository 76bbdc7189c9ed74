import { expect } from 'chai';
import { checkGood, effectivePriority, initCheck, isFaulting, recordResult } from '../../lib/vrrp/tracking.js';
import type { CheckState, CheckStatus } from '../../lib/vrrp/tracking.js';

function run(results: string, rise: number, fall: number): CheckStatus[] {
  let s: CheckState = initCheck();
  return [...results].map((c) => (s = recordResult(s, c === '+', rise, fall)).status);
}

describe('vrrp/tracking rise/fall', () => {
  it('starts INIT with no counts', () => {
    expect(initCheck()).to.deep.equal({ status: 'INIT', successes: 0, failures: 0 });
  });

  // '+' success, '-' failure; the status after each result.
  const rows: [name: string, results: string, rise: number, fall: number, statuses: string][] = [
    ['first success decides at once', '+', 3, 3, 'G'],
    ['first failure decides at once', '-', 3, 3, 'B'],
    ['rise 1 / fall 1 follows every result', '+-+-', 1, 1, 'GBGB'],
    ['fall 3 needs three failures in a row', '+---', 1, 3, 'GGGB'],
    ['a success resets the failure count', '+--+--', 1, 3, 'GGGGGG'],
    ['rise 2 needs two successes in a row', '-+-++', 2, 1, 'BBBBG'],
    ['a failure resets the success count', '-++-++', 3, 1, 'BBBBBB'],
    ['rise 3 reached exactly on the third', '-+++', 3, 1, 'BBBG'],
    ['successes while GOOD stay GOOD', '++++', 5, 5, 'GGGG'],
    ['rise/fall 0 behave like 1', '+-+', 0, 0, 'GBG'],
    ['rise/fall NaN behave like 1', '-+', NaN, NaN, 'BG'],
  ];
  const code = { GOOD: 'G', BAD: 'B', INIT: 'I' } as const;
  for (const [name, results, rise, fall, statuses] of rows) {
    it(`${name} (${results}, rise ${rise}, fall ${fall})`, () => {
      expect(run(results, rise, fall).map((s) => code[s]).join('')).to.equal(statuses);
    });
  }

  it('keeps consecutive counts', () => {
    let s = initCheck();
    for (const ok of [true, false, false]) s = recordResult(s, ok, 2, 3);
    expect(s).to.deep.equal({ status: 'GOOD', successes: 0, failures: 2 });
    s = recordResult(s, true, 2, 3);
    expect(s).to.deep.equal({ status: 'GOOD', successes: 1, failures: 0 });
  });

  it('checkGood maps INIT to unknown', () => {
    expect([checkGood('INIT'), checkGood('GOOD'), checkGood('BAD')]).to.deep.equal([null, true, false]);
  });
});

describe('vrrp/tracking effective priority', () => {
  const rows: [name: string, base: number, contributions: { weight: number; good: boolean | null }[], out: number][] = [
    ['no trackers', 100, [], 100],
    ['positive weight added while GOOD', 100, [{ weight: 20, good: true }], 120],
    ['positive weight ignored while BAD', 100, [{ weight: 20, good: false }], 100],
    ['negative weight added while BAD', 100, [{ weight: -30, good: false }], 70],
    ['negative weight ignored while GOOD', 100, [{ weight: -30, good: true }], 100],
    ['unknown (INIT) contributes nothing', 100, [{ weight: 20, good: null }, { weight: -30, good: null }], 100],
    ['weight 0 contributes nothing', 100, [{ weight: 0, good: false }, { weight: 0, good: true }], 100],
    ['several add up', 100, [{ weight: 20, good: true }, { weight: -50, good: false }, { weight: 5, good: true }], 75],
    ['clamped at 254 (never becomes owner)', 200, [{ weight: 100, good: true }], 254],
    ['exactly 254', 234, [{ weight: 20, good: true }], 254],
    ['clamped at 1 (never 0 = release)', 100, [{ weight: -253, good: false }], 1],
    ['exactly 1', 31, [{ weight: -30, good: false }], 1],
    ['owner 255 never changed', 255, [{ weight: -100, good: false }], 255],
    ['owner 255 not clamped to 254', 255, [{ weight: 10, good: true }], 255],
    ['non-finite weights ignored', 100, [{ weight: NaN, good: false }, { weight: Infinity, good: true }], 100],
  ];
  for (const [name, base, contributions, out] of rows) {
    it(`${name}: ${base} -> ${out}`, () => expect(effectivePriority(base, contributions)).to.equal(out));
  }

  const faulting: [weight: number, status: CheckStatus, out: boolean][] = [
    [0, 'BAD', true], [0, 'GOOD', false], [0, 'INIT', false], [10, 'BAD', false], [-10, 'BAD', false],
  ];
  for (const [w, st, out] of faulting) {
    it(`isFaulting(${w}, ${st}) = ${out}`, () => expect(isFaulting(w, st)).to.equal(out));
  }
});
