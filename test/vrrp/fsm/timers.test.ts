import { expect } from 'chai';
import {
  configuredIntervalCs,
  isValidAdverIntCs,
  masterDownIntervalMs,
  skewMs,
} from '../../../lib/vrrp/fsm/timers.js';

// Expected values worked out by hand from RFC 3768 6.1 / RFC 5798 6.1.
describe('vrrp/fsm/timers', () => {
  describe('v2: Skew_Time = (256 - P) / 256 s, whatever the interval', () => {
    const rows: [priority: number, intervalCs: number, skew: number, mdi: number][] = [
      [100, 100, 609.375, 3609.375],
      [254, 100, 7.8125, 3007.8125],
      [1, 100, 996.09375, 3996.09375],
      [255, 100, 3.90625, 3003.90625],
      [100, 300, 609.375, 9609.375], // 3 s interval: skew unchanged
      [100, 25500, 609.375, 765609.375], // 255 s, the v2 maximum
      [254, 25500, 7.8125, 765007.8125],
    ];
    for (const [p, cs, skew, mdi] of rows) {
      it(`P=${p}, advert_int ${cs / 100} s: skew ${skew} ms, MDI ${mdi} ms`, () => {
        expect(skewMs(2, p, cs)).to.equal(skew);
        expect(masterDownIntervalMs(2, p, cs)).to.equal(mdi);
      });
    }
  });

  describe('v3: Skew_Time = ((256 - P) * Master_Adver_Interval) / 256 cs', () => {
    const rows: [priority: number, maiCs: number, skew: number, mdi: number][] = [
      [100, 100, 609.375, 3609.375],
      [254, 100, 7.8125, 3007.8125],
      [1, 100, 996.09375, 3996.09375],
      [100, 200, 1218.75, 7218.75], // a learned 2 s interval
      [100, 50, 304.6875, 1804.6875], // a learned 0.5 s interval
      [100, 1, 6.09375, 36.09375], // 0.01 s, the v3 minimum
      [254, 1, 0.078125, 30.078125],
      [1, 1, 9.9609375, 39.9609375],
      [100, 4095, 24953.90625, 147803.90625], // 40.95 s, the v3 maximum
      [254, 4095, 319.921875, 123169.921875],
      [1, 4095, 40790.0390625, 163640.0390625],
    ];
    for (const [p, cs, skew, mdi] of rows) {
      it(`P=${p}, Master_Adver_Interval ${cs / 100} s: skew ${skew} ms, MDI ${mdi} ms`, () => {
        expect(skewMs(3, p, cs)).to.equal(skew);
        expect(masterDownIntervalMs(3, p, cs)).to.equal(mdi);
      });
    }

    it('a higher priority always has a shorter MDI, and MDI lies in (3, 4) intervals', () => {
      for (const cs of [1, 7, 100, 255, 1000, 4095]) {
        for (let p = 1; p <= 255; p++) {
          const mdi = masterDownIntervalMs(3, p, cs);
          expect(mdi).to.be.greaterThan(3 * cs * 10);
          expect(mdi).to.be.lessThan(4 * cs * 10);
          if (p > 1) expect(mdi).to.be.lessThan(masterDownIntervalMs(3, p - 1, cs));
        }
      }
    });
  });

  describe('interval guards', () => {
    const configured: [number, number][] = [[100, 100], [1, 1], [25500, 25500], [0, 1], [-5, 1], [99.6, 100], [NaN, 100], [Infinity, 100]];
    for (const [input, out] of configured) {
      it(`configuredIntervalCs(${input}) = ${out}`, () => expect(configuredIntervalCs(input)).to.equal(out));
    }
    const valid: [number, boolean][] = [[1, true], [100, true], [4095, true], [0, false], [4096, false], [1.5, false], [NaN, false], [-1, false]];
    for (const [cs, ok] of valid) {
      it(`isValidAdverIntCs(${cs}) = ${ok}`, () => expect(isValidAdverIntCs(cs)).to.equal(ok));
    }
  });
});
