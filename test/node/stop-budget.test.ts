// What a stopping daemon tells systemd it may take (EXTEND_TIMEOUT_USEC).
import { expect } from 'chai';
import type { TandemConfig } from '../../lib/config/types.js';
import { VOLUME_STEP_MS } from '../../lib/node/ha-plan.js';
import { STOP_SLACK_MS, stopBudgetMs } from '../../lib/node/stop-budget.js';
import { stopWithinMs } from '../../lib/services/step-limits.js';

type Parts = Pick<TandemConfig, 'services' | 'replication'>;
type Kind = 'command' | 'unit' | 'oneshot';
const cfg = (services: [Kind, number][], volumes: number): Parts => ({
  services: services.map(([kind, stopTimeoutMs]) => ({ kind, stopTimeoutMs })) as unknown as Parts['services'],
  replication: { volumes: Array.from({ length: volumes }, () => ({})) } as unknown as Parts['replication'],
});

describe('node/stop-budget', () => {
  it('nothing to stop: the slack alone', () => {
    expect(stopBudgetMs(cfg([], 0))).to.equal(STOP_SLACK_MS);
  });

  it('every service\'s stop step (by kind), every volume\'s demote step, and the slack', () => {
    const services: [Kind, number][] = [['command', 30_000], ['unit', 30_000], ['oneshot', 5000]];
    const steps = services.reduce((ms, [kind, stopTimeoutMs]) => ms + stopWithinMs({ kind, stopTimeoutMs }), 0);
    expect(steps).to.be.above(65_000); // each kind adds to its stop_timeout
    expect(stopBudgetMs(cfg(services, 2))).to.equal(steps + 2 * VOLUME_STEP_MS + STOP_SLACK_MS);
  });

  it('three services at the default 30 s and one volume need more than the unit\'s fixed 90 s', () => {
    expect(stopBudgetMs(cfg([['command', 30_000], ['command', 30_000], ['command', 30_000]], 1))).to.be.above(90_000);
  });
});
