// What a stopping daemon tells systemd it may take (EXTEND_TIMEOUT_USEC).
import { expect } from 'chai';
import type { TandemConfig } from '../../lib/config/types.js';
import { VOLUME_STEP_MS } from '../../lib/node/ha-plan.js';
import { STOP_KILL_GRACE_MS, STOP_SLACK_MS, stopBudgetMs } from '../../lib/node/stop-budget.js';

type Parts = Pick<TandemConfig, 'services' | 'replication'>;
const cfg = (stops: number[], volumes: number): Parts => ({
  services: stops.map((stopTimeoutMs) => ({ stopTimeoutMs })) as unknown as Parts['services'],
  replication: { volumes: Array.from({ length: volumes }, () => ({})) } as unknown as Parts['replication'],
});

describe('node/stop-budget', () => {
  it('nothing to stop: the slack alone', () => {
    expect(stopBudgetMs(cfg([], 0))).to.equal(STOP_SLACK_MS);
  });

  it('every service\'s stop_timeout plus its kill grace, every volume\'s demote step, and the slack', () => {
    expect(stopBudgetMs(cfg([30_000, 30_000, 5000], 2))).to.equal(65_000 + 3 * STOP_KILL_GRACE_MS + 2 * VOLUME_STEP_MS + STOP_SLACK_MS);
  });

  it('three services at the default 30 s and one volume need more than the unit\'s fixed 90 s', () => {
    expect(stopBudgetMs(cfg([30_000, 30_000, 30_000], 1))).to.be.above(90_000);
  });
});
