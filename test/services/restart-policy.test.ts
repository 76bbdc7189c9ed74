import { expect } from 'chai';
import { backoffMs, BACKOFF_BASE_MS, BACKOFF_MAX_MS, FRESH_BUDGET, onRunEnded, type RestartBudget, type RestartPolicy } from '../../lib/services/restart-policy.js';

const MIN = 240_000;

// Every sequence of short (S) and long (L) runs up to length 7, for max_retries 0..4: the verdicts
// match a reference written another way (the streak of short runs, plus the long run before it).
describe('services/restart-policy', () => {
  it('all run sequences up to 7, max_retries 0..4: restart while within budget, escalate past it', () => {
    for (let maxRetries = 0; maxRetries <= 4; maxRetries++) {
      const policy: RestartPolicy = { action: 'restart', maxRetries, minLifetimeMs: MIN };
      for (let len = 1; len <= 7; len++) {
        for (let bits = 0; bits < 2 ** len; bits++) {
          const runs = Array.from({ length: len }, (_, i) => ((bits >> i) & 1) === 1 ? 'L' : 'S');
          let budget: RestartBudget = FRESH_BUDGET;
          let t = 0;
          for (let i = 0; i < len; i++) {
            const lived = runs[i] === 'L' ? MIN + 1000 : 1000;
            const v = onRunEnded(policy, budget, t, t + lived, 'exited with status 1');
            t += lived + 5000;
            let streak = 0;
            for (let j = i; j >= 0 && runs[j] === 'S'; j--) streak++;
            const want = runs[i] === 'L' ? 1 : streak + (i - streak >= 0 ? 1 : 0);
            const escalate = runs[i] === 'S' && want > maxRetries;
            const seq = runs.slice(0, i + 1).join('');
            expect(v.kind, `${seq} max ${maxRetries}`).to.equal(escalate ? 'escalate' : 'restart');
            expect(v.budget.failures, `${seq} max ${maxRetries}`).to.equal(want);
            if (v.kind === 'restart') expect(v.delayMs).to.equal(runs[i] === 'S' ? backoffMs(want) : BACKOFF_BASE_MS);
            if (v.kind === 'escalate') break;
            budget = v.budget;
          }
        }
      }
    }
  });

  it('max_retries 3 (the issue\'s example): three restarts, the fourth short run switches over, and the reason says why', () => {
    const policy: RestartPolicy = { action: 'restart', maxRetries: 3, minLifetimeMs: MIN };
    let b = FRESH_BUDGET;
    const kinds: string[] = [];
    let last = '';
    for (let i = 0; i < 4; i++) {
      const v = onRunEnded(policy, b, 0, 10_000, 'health check http://127.0.0.1:8080/health failed');
      kinds.push(v.kind);
      last = v.reason;
      b = v.budget;
    }
    expect(kinds).to.deep.equal(['restart', 'restart', 'restart', 'escalate']);
    expect(last).to.equal('health check http://127.0.0.1:8080/health failed; 4 runs in a row each ended within min_lifetime 240 s (max_retries 3): switching over');
  });

  it('action switchover escalates at the first failure, however long the run', () => {
    const policy: RestartPolicy = { action: 'switchover', maxRetries: 5, minLifetimeMs: MIN };
    for (const lived of [0, 1000, MIN, 10 * MIN]) expect(onRunEnded(policy, FRESH_BUDGET, 0, lived, 'crashed').kind).to.equal('escalate');
  });

  it('backoff doubles from 200 ms up to 10 s; a clock that went backwards counts as a short run', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(backoffMs)).to.deep.equal([200, 400, 800, 1600, 3200, 6400, BACKOFF_MAX_MS, BACKOFF_MAX_MS]);
    const v = onRunEnded({ action: 'restart', maxRetries: 1, minLifetimeMs: MIN }, FRESH_BUDGET, 50_000, 10_000, 'exited');
    expect(v.kind).to.equal('restart');
    expect(v.budget.failures).to.equal(1);
  });
});
