// A service whose process died and that waits out its restart backoff: its
// status shows no health. A health check that leaves a helper behind still
// gets its verdict in time.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceConfig } from '../../lib/config/types.js';
import { createDriver } from '../../lib/services/service-set.js';
import { Supervisor } from '../../lib/services/supervisor.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('services/supervisor: health while restarting', function () {
  this.timeout(30_000);
  it('a crashed service in its restart backoff does not show health healthy with the dead run\'s healthy-since', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-svc-'));
    const ready = join(dir, 'ready');
    writeFileSync(ready, '');
    const cfg = {
      name: 'app', kind: 'command', argv: ['/bin/sh', '-c', 'sleep 0.5; exit 1'], env: {}, requires: [],
      health: { kind: 'exec' as const, argv: ['/bin/sh', '-c', `test -f ${ready}`], intervalMs: 100, timeoutMs: 90 },
      restart: { action: 'restart', maxRetries: 5, minLifetimeMs: 60_000 }, startTimeoutMs: 5000, stopTimeoutMs: 2000,
    } as unknown as ServiceConfig;
    const s = new Supervisor(cfg, { driver: (onEnded) => createDriver(cfg, quiet, onEnded), log: quiet, emit: () => {}, escalate: () => {} });
    try {
      await s.start(new AbortController().signal);
      const end = Date.now() + 5000;
      while (s.status().state !== 'restarting' && Date.now() < end) await sleep(5);
      const st = s.status();
      expect(st.state).to.equal('restarting');
      expect(st.pgid, 'no process').to.equal(null);
      expect({ health: st.health, since: st.since }).to.deep.equal({ health: 'unknown', since: null });
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The probe waited for its stdout to close, held by a helper in a session of its own: start() passed
  // start_timeout without failing (the takeover hung until the conductor's step timeout).
  it('an exec health check whose helper escapes with setsid still lets the start fail within start_timeout', async () => {
    const cfg = {
      name: 'app', kind: 'command', argv: ['/bin/sleep', '60'], env: {}, requires: [],
      health: { kind: 'exec' as const, argv: ['/bin/sh', '-c', 'setsid sleep 3 & sleep 0.2; exit 1'], intervalMs: 200, timeoutMs: 500 },
      restart: { action: 'restart', maxRetries: 3, minLifetimeMs: 60_000 }, startTimeoutMs: 1500, stopTimeoutMs: 1000,
    } as unknown as ServiceConfig;
    const s = new Supervisor(cfg, { driver: (onEnded) => createDriver(cfg, quiet, onEnded), log: quiet, emit: () => {}, escalate: () => {} });
    const t0 = Date.now();
    try {
      const r = await Promise.race([
        s.start(new AbortController().signal).then(() => 'started', (e: Error) => e.message),
        sleep(6000).then(() => 'still starting after 6 s'),
      ]);
      expect(r, `after ${Date.now() - t0} ms`).to.match(/not healthy within start_timeout 1.5 s/);
    } finally {
      await s.stop();
    }
  });
});
