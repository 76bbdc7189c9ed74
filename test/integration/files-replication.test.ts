// Directory replication between tandem daemons in network namespaces (issue
// 4): a randomized workload on the Primary's tree ends identical on the
// Secondary by rsync's own checksum comparison; a Secondary killed and
// restarted mid-stream and a partition healed change nothing about that; and
// after kill -9 of the Primary, everything `replica flush` reported as
// replicated (protocol C) is on the promoted Secondary.
import { expect } from 'chai';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { request } from '../../lib/cli/client.js';
import type { DirectoryVolumeStatus } from '../../lib/replication/files/dir-status.js';
import type { ReplicaStatus } from '../../lib/replication/volume/status-types.js';
import { Lab, TANDEM_BIN, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { addReplicationAddresses, directoryConfig, treePath } from '../../scripts/lab/replication-config.js';
import { controlSocket } from '../../scripts/lab/tandem-config.js';
import { waitFor } from '../helpers/env.js';
import { Workload } from '../replication/files/workload.js';
import { labLifecycle } from './lab-hooks.js';

async function replica(h: LabHost, command: string, extra: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<DirectoryVolumeStatus> {
  const r = await request(controlSocket(h), { command: `replica.${command}`, volume: 'conf', ...extra }, timeoutMs);
  if (!r.ok) throw new Error(`${h.name}: replica.${command}: ${r.error ?? '?'}`);
  return r.result as DirectoryVolumeStatus;
}

async function volume(h: LabHost): Promise<DirectoryVolumeStatus> {
  const r = await request(controlSocket(h), { command: 'replica.status' }, 5000);
  if (!r.ok) throw new Error(r.error);
  const v = (r.result as ReplicaStatus).volumes[0];
  if (v?.type !== 'directory') throw new Error(`${h.name} has no directory volume`);
  return v;
}

async function daemonUp(h: LabHost): Promise<void> {
  await waitFor(`${h.name}'s control socket`, async () => (await volume(h).catch(() => undefined)) !== undefined, 15_000);
}

async function established(a: LabHost, b: LabHost, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${a.name} and ${b.name} Established, both UpToDate`, async () => {
    const [va, vb] = [await volume(a), await volume(b)];
    return va.peers[0]?.replication === 'Established' && vb.peers[0]?.replication === 'Established' && va.disk === 'UpToDate' && vb.disk === 'UpToDate';
  }, timeoutMs);
}

// Both daemons running, a forced Primary, b in sync.
async function pair(lab: Lab): Promise<Map<LabHost, LabProcess>> {
  await addReplicationAddresses(lab);
  const procs = new Map<LabHost, LabProcess>();
  for (const h of lab.hosts) await mkdir(treePath(h), { recursive: true });
  for (const h of lab.hosts) procs.set(h, lab.startTandem(h, directoryConfig(lab, h)));
  for (const h of lab.hosts) await daemonUp(h);
  const [a, b] = lab.hosts as [LabHost, LabHost];
  await replica(a, 'primary', { force: true });
  await established(a, b);
  return procs;
}

// issue 4's acceptance check: rsync by checksum prints nothing when the trees are identical.
async function rsyncDiff(a: LabHost, b: LabHost): Promise<string> {
  const r = await execa('rsync', ['-rlpc', '--dry-run', '--itemize-changes', '--delete', `${treePath(a)}/`, `${treePath(b)}/`]);
  return r.stdout.trim();
}

describe('directory replication in namespaces (tandem daemons)', function () {
  this.timeout(240_000);
  const life = labLifecycle(['rsync']);

  it('a randomized workload (3000 small files, large ones, 2000 ops) ends identical: rsync -rlpc --dry-run prints nothing', async () => {
    const lab = life.adopt(await Lab.create(2));
    await pair(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    await new Workload(treePath(a), { seed: 21, smallFiles: 3000, largeFiles: 4, ops: 2000 }).run();
    // The CLI, as a user runs it, in a's namespace.
    await lab.exec(a, [TANDEM_BIN, 'replica', 'flush', 'conf', '--socket', controlSocket(a)], { timeoutMs: 120_000 });
    expect(await rsyncDiff(a, b)).to.equal('');
    const st = await volume(a);
    expect(st.peers[0]?.pending_files).to.equal(0);
    expect(st.problems.count).to.equal(0);
    const text = (await lab.exec(b, [TANDEM_BIN, 'replica', 'status', '--socket', controlSocket(b)])).stdout;
    expect(text).to.match(/^conf role:Secondary disk:UpToDate protocol:C type:directory/m);
    expect(text).to.match(/files-received:\d{4,}/);
  });

  it('a Secondary killed and restarted mid-stream, and a partition healed, still end identical', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await pair(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    const w = new Workload(treePath(a), { seed: 22, smallFiles: 500, largeFiles: 2, ops: 0 });
    await w.run();
    let stop = false;
    const load = (async () => { while (!stop) await w.step(); })();
    const steps = async (n: number): Promise<void> => { const until = w.done + n; await waitFor(`${n} more workload steps`, async () => w.done >= until, 60_000); };
    await waitFor('b receiving', async () => ((await volume(b)).peers[0]?.files_received ?? 0) > 50, 30_000);
    await lab.stop(procs.get(b) as LabProcess, 'SIGKILL');
    await steps(200);
    lab.startTandem(b, directoryConfig(lab, b), 'tandem-restarted');
    await daemonUp(b);
    await established(a, b);
    await lab.setSwitchPort(b, false);
    await waitFor('a sees b gone', async () => !(await volume(a)).peers[0]?.connected, 15_000);
    await steps(200);
    expect((await volume(a)).peers[0]?.pending_files, 'changes counted against the absent peer').to.be.greaterThan(0);
    await lab.setSwitchPort(b, true);
    stop = true;
    await load;
    await established(a, b, 60_000);
    await replica(a, 'flush', {}, 120_000);
    expect(await rsyncDiff(a, b)).to.equal('');
    expect((await volume(a)).peers[0]?.disconnects).to.be.at.least(2);
  });

  it('kill -9 of the Primary, then promote the Secondary: every file `replica flush` reported replicated is there (protocol C)', async () => {
    const lab = life.adopt(await Lab.create(2));
    const procs = await pair(lab);
    const [a, b] = lab.hosts as [LabHost, LabHost];
    await mkdir(join(treePath(a), 'w'));
    const content = (i: number): string => `file ${i}\n`.repeat(1 + (i % 300));
    let flushed = -1;
    let i = 0;
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        await writeFile(join(treePath(a), 'w', `f${i}`), content(i));
        i++;
        if (i % 25 === 0) {
          const upTo = i - 1;
          const r = await request(controlSocket(a), { command: 'replica.flush', volume: 'conf' }, 30_000).catch(() => null);
          if (r?.ok === true) flushed = upTo;
        }
      }
    })();
    await waitFor('a few flushes', async () => flushed > 200, 60_000);
    await lab.stop(procs.get(a) as LabProcess, 'SIGKILL');
    stop = true;
    await writer;
    await waitFor('b sees a gone', async () => !(await volume(b)).peers[0]?.connected, 15_000);
    const v = await replica(b, 'primary');
    expect(v.role).to.equal('Primary');
    const missing: number[] = [];
    for (let j = 0; j <= flushed; j++) {
      const got = await readFile(join(treePath(b), 'w', `f${j}`), 'utf8').catch(() => null);
      if (got !== content(j)) missing.push(j);
    }
    expect(missing, `files flushed (0..${flushed}) missing or wrong on the promoted Secondary`).to.deep.equal([]);
  });
});
