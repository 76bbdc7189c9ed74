// A managed service's output in the daemon's log, with a real process: a
// line without end is cut and logged at once instead of kept whole (it
// crashed the daemon after ~1 GB: RangeError in readline).
import { expect } from 'chai';
import { ProcessService } from '../../lib/services/process-service.js';
import { MAX_LINE_BYTES, TRUNCATED } from '../../lib/services/output-lines.js';
import { waitFor } from '../helpers/env.js';

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
