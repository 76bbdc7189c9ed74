// Notify scripts run for real: keepalived's argument convention, the
// state-specific script before the generic one, order kept per instance,
// failures reported as events without stopping anything.
import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../../lib/node/events.js';
import { createLogger } from '../../lib/node/log.js';
import { Notifier } from '../../lib/node/notify.js';

describe('node/notify', () => {
  let dir: string;
  let out: string;
  let script: string;
  const quiet = createLogger('test', () => {});

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-notify-'));
    out = join(dir, 'out');
    script = join(dir, 'record.sh');
    writeFileSync(script, `#!/bin/sh\nsleep 0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 5 ))\necho "$0 $*" | sed "s#${dir}/##" >> ${out}\n`);
    chmodSync(script, 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs notify_<state> then notify with INSTANCE name state priority, in order', async () => {
    const bus = new EventBus();
    const n = new Notifier(quiet, bus);
    const cfg = { notify: script, notifyMaster: `${script} master-hook`, notifyBackup: `${script} backup-hook` };
    n.notify('INSTANCE', 'VI_1', cfg, 'BACKUP', 100);
    n.notify('INSTANCE', 'VI_1', cfg, 'MASTER', 100);
    n.notify('GROUP', 'G1', { notify: script }, 'MASTER', 0);
    n.notify('INSTANCE', 'VI_1', cfg, 'FAULT', 100);
    await n.drain(10_000);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const vi1 = lines.filter((l) => !l.includes('GROUP'));
    expect(vi1).to.deep.equal([
      'record.sh backup-hook',
      'record.sh INSTANCE VI_1 BACKUP 100',
      'record.sh master-hook',
      'record.sh INSTANCE VI_1 MASTER 100',
      'record.sh INSTANCE VI_1 FAULT 100',
    ]);
    expect(lines).to.include('record.sh GROUP G1 MASTER 0');
    expect(bus.history()).to.deep.equal([]);
  });

  it('reports a failing or missing script as an event and goes on', async () => {
    const bus = new EventBus();
    const n = new Notifier(quiet, bus);
    n.notify('INSTANCE', 'VI_1', { notifyMaster: 'exit 3', notify: script }, 'MASTER', 150);
    n.notify('INSTANCE', 'VI_1', { notify: join(dir, 'absent.sh') }, 'BACKUP', 150);
    await n.drain(10_000);
    const failed = bus.history().filter((e) => e.type === 'notify.failed');
    expect(failed).to.have.length(2);
    expect(failed[0]).to.include({ target: 'INSTANCE/VI_1', command: 'exit 3', result: 'exit 3' });
    expect(String(failed[1]?.result)).to.match(/^exit 127/);
    expect(readFileSync(out, 'utf8').trim()).to.equal('record.sh INSTANCE VI_1 MASTER 150');
  });
});
