// A managed service's output in the daemon's log, with a real process: a
// line without end is cut and logged at once instead of kept whole (it
// crashed the daemon after ~1 GB: RangeError in readline), and a chatty
// service is rate-limited (it starved the event loop).
import { expect } from 'chai';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../lib/node/log.js';
import { OUTPUT_LINES_PER_SECOND } from '../../lib/services/output-budget.js';
import { ProcessService } from '../../lib/services/process-service.js';
import { MAX_LINE_BYTES, TRUNCATED } from '../../lib/services/output-lines.js';
import { sleep, waitFor } from '../helpers/env.js';

describe('services/process-service output', function () {
  this.timeout(30_000);

  it('8 MB without a newline is logged as one cut line while the service still writes, and memory stays flat', async () => {
    const logs: string[] = [];
    const svc = new ProcessService({
      name: 'zeros',
      argv: ['/bin/sh', '-c', 'head -c 8000000 /dev/zero | tr "\\0" x; sleep 1; echo; echo done; sleep 30'],
      stopTimeoutMs: 1000,
      log: (l, m) => void logs.push(`${l} ${m}`),
      onExit: () => {},
    });
    const rss0 = process.memoryUsage().rss;
    try {
      await svc.start();
      await waitFor('the cut line', async () => logs.length > 0, 10_000);
      expect(logs[0]).to.equal(`info zeros: ${'x'.repeat(MAX_LINE_BYTES)}${TRUNCATED}`);
      await waitFor('the next line', async () => logs.includes('info zeros: done'), 10_000);
      expect(logs, 'the rest of the long line is dropped').to.deep.equal([logs[0], 'info zeros: done']);
      expect((process.memoryUsage().rss - rss0) / 2 ** 20, 'MiB the daemon grew by').to.be.below(64);
    } finally {
      await svc.stop();
    }
  });
});

describe('services/process-service output rate', function () {
  this.timeout(30_000);

  // `yes` as a service logged ~400k lines a second through the synchronous logger, on the event loop that
  // sends the VRRP adverts: adverts came late and the peer became MASTER too.
  it('a service printing as fast as it can is logged at most 200 lines a second, the rest counted, and the event loop keeps turning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tds-out-'));
    const fd = openSync(join(dir, 'daemon.log'), 'w');
    const log = createLogger('node-a', (l) => void writeSync(fd, l)); // synchronous, as stderr to a file is
    const lines: string[] = [];
    const svc = new ProcessService({
      name: 'chatty',
      argv: ['/usr/bin/yes'],
      stopTimeoutMs: 1000,
      log: (level, line) => {
        lines.push(line);
        log[level](line);
      },
      onExit: () => {},
    });
    let worst = 0;
    let last = Date.now();
    const tick = setInterval(() => {
      const now = Date.now();
      worst = Math.max(worst, now - last - 50);
      last = now;
    }, 50);
    const t0 = Date.now();
    try {
      await svc.start();
      await sleep(2500);
    } finally {
      clearInterval(tick);
      await svc.stop();
      // The output streams close a moment after the exit; the last count comes then at the latest.
      await sleep(500);
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
    const seconds = Math.ceil((Date.now() - t0) / 1000) + 1;
    const said = lines.filter((l) => l === 'chatty: y');
    expect(worst, `worst event-loop delay ${worst} ms while ${lines.length} lines were logged`).to.be.below(800);
    expect(said.length).to.be.above(0);
    expect(said.length).to.be.at.most(OUTPUT_LINES_PER_SECOND * seconds);
    expect(lines.find((l) => l.includes('suppressed'))).to.match(/^chatty: \d+ lines of output suppressed \(more than 200 a second\)$/);
  });
});
