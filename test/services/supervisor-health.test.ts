// A service whose process died and that waits out its restart backoff: its status shows no health.
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
});
