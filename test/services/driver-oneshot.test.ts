// The oneshot driver runs its start and stop argv lists without a shell: a
// path with a space, or an argument with shell characters, is taken as it is.
import { expect } from 'chai';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceConfig } from '../../lib/config/types.js';
import { OneshotDriver } from '../../lib/services/driver-oneshot.js';

describe('services/driver-oneshot', () => {
  // The program was pasted into `/bin/sh -c 'PROGRAM "$@"'`: a path with a space was split in two.
  it('runs start and stop without a shell: a program path with a space, arguments with shell characters as given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tds-oneshot-'));
    try {
      const sub = join(dir, 'my tools');
      mkdirSync(sub);
      const prog = join(sub, 'attach');
      writeFileSync(prog, `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/args"\n`);
      chmodSync(prog, 0o755);
      const d = new OneshotDriver({
        name: 'mount-db', kind: 'oneshot', start: [prog, 'db;touch x', '$(id)'], stop: [prog, 'stop "it"'], requires: [], health: null,
        restart: { action: 'restart', maxRetries: 3, minLifetimeMs: 240_000 }, startTimeoutMs: 5000, stopTimeoutMs: 5000,
      } as unknown as Extract<ServiceConfig, { kind: 'oneshot' }>);
      await d.start(new AbortController().signal);
      expect(readFileSync(join(dir, 'args'), 'utf8')).to.equal('db;touch x\n$(id)\n');
      await d.stop();
      expect(readFileSync(join(dir, 'args'), 'utf8')).to.equal('stop "it"\n');
      expect(existsSync(join(process.cwd(), 'x'))).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
