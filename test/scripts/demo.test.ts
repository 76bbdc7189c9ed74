// The README's first command runs this demo: it must keep working, end to
// end, with its checks (every acknowledged record on the new MASTER) passing.
import { expect } from 'chai';
import { execa } from 'execa';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lab/lab.js';
import { requireLab } from '../helpers/env.js';

describe('the demo (scripts/demo.ts)', function () {
  this.timeout(240_000);
  before(function () {
    requireLab(this, ['ping']);
  });

  it('runs the failover, the resync and the switchover back, and finds every acknowledged record', async () => {
    const r = await execa(process.execPath, [join(REPO_ROOT, 'dist/scripts/demo.js')], { reject: false, timeout: 200_000 });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.match(/failure detected: b MASTER/);
    expect(r.stdout).to.match(/client writes resumed \(no write acknowledged for [\d.]+ s\)/);
    expect(r.stdout).to.match(/=== all \d+ acknowledged records are on b/);
    expect(r.stdout).to.match(/a: BACKUP, volume data Secondary\/UpToDate, peer Connected/);
    expect(r.stdout).to.match(/switchover of VI_1 done in [\d.]+ s: 192\.0\.2\.11 is MASTER/);
    expect(r.stdout).to.match(/=== all \d+ acknowledged records are on a\n/);
    expect(r.stdout).to.match(/=== lab removed/);
  });
});
