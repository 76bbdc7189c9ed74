// Hand-overs against a scripted election: what maintenance on does when the
// peer takes over, and when it does not (it was in maintenance too).
import { expect } from 'chai';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Election, ElectionRole } from '../../lib/node/election.js';
import type { HaGroup } from '../../lib/node/ha-group.js';
import { Handover, MAINTENANCE_HOLD } from '../../lib/node/ha-handover.js';
import type { Readiness } from '../../lib/node/peer-readiness.js';

// A MASTER that, once it steps down, sees either the peer take over or, after a while, itself MASTER again.
class ScriptedElection implements Election {
  readonly group = 'VI_1';
  state: ElectionRole = 'MASTER';
  master: string | null = '192.0.2.11';
  holds = new Set<string>();
  steps: string[] = [];
  // 'gives-up': the peer claims MASTER, then leaves it (its takeover failed) and ours comes back.
  constructor(private readonly peerTakesOver: boolean | 'gives-up') {}
  role(): ElectionRole {
    return this.state;
  }
  hold(reason: string, on: boolean): void {
    if (on) this.holds.add(reason);
    else this.holds.delete(reason);
    if (on && this.state === 'MASTER') this.state = 'BACKUP';
  }
  stepDown(reason: string): void {
    this.steps.push(reason);
    this.state = 'BACKUP';
    this.master = null;
    setTimeout(() => {
      if (this.peerTakesOver) this.master = '192.0.2.12';
      else [this.state, this.master] = ['MASTER', '192.0.2.11']; // our down timer: nobody else claimed
    }, 150);
    if (this.peerTakesOver === 'gives-up') setTimeout(() => { [this.state, this.master] = ['MASTER', '192.0.2.11']; }, 600);
  }
  fault(): void {}
  peerHeard(): boolean {
    return true;
  }
  masterAddress(): string | null {
    return this.master;
  }
  ownAddress(): string {
    return '192.0.2.11';
  }
}

describe('node/ha-handover: maintenance on a MASTER', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'tandem-handover-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const events: Array<{ type: string; fields: Record<string, unknown> }> = [];
  const warned: string[] = [];
  beforeEach(() => {
    events.length = 0;
    warned.length = 0;
  });

  function handover(e: ScriptedElection, ready = true, serves = true): Handover {
    const serving = async (): Promise<Readiness> => (serves ? { ready: true, why: 'db Primary on the peer' } : { ready: false, why: 'service app on the peer is failed' });
    // The group lets go when asked (release) and records it in the election's step list, so the order shows.
    const group = { holding: false, release: async (why: string) => { e.steps.push(`released: ${why}`); return true; } } as unknown as HaGroup;
    return new Handover(group, e, {
      stateDir: dir, peerReady: () => ({ ready, why: ready ? 'db UpToDate on the peer' : 'volume db is not connected to the peer' }),
      peerServing: serving, log: { info: () => {}, warn: (m) => warned.push(m) }, emit: (type, fields) => events.push({ type, fields }),
    });
  }

  it('hands over first and holds once the peer serves', async () => {
    const e = new ScriptedElection(true);
    const r = await handover(e).setMaintenance(true, false, 5000);
    expect(r).to.deep.equal({ group: 'VI_1', maintenance: true, role: 'BACKUP' });
    expect(e.steps, 'everything let go before the step-down').to.deep.equal(['released: maintenance on (tandem maintenance on)', 'maintenance on (tandem maintenance on)']);
    expect(e.holds.has(MAINTENANCE_HOLD)).to.equal(true);
    expect(await readdir(dir)).to.deep.equal(['maintenance-VI_1']);
  });

  it('a peer that takes over and gives MASTER back before it serves: the error says so, with its last check', async () => {
    const e = new ScriptedElection('gives-up');
    const err = await handover(e, true, false).switchover(false, 5000).then(() => null, (x: Error) => x);
    expect(err?.message).to.match(/^switchover failed after \d+ ms: 192\.0\.2\.12 became MASTER but gave it up before it served \(last check: service app on the peer is failed\), and this node is MASTER again$/);
    // Monitoring that saw it start hears how it ended, and so does the log.
    expect(events.map((x) => [x.type, x.fields.phase])).to.deep.equal([['ha.switchover', 'started'], ['ha.switchover', 'failed']]);
    expect(events[1]?.fields.error).to.equal(err?.message);
    expect(warned).to.deep.equal([`VI_1: ${err?.message}`]);
  });

  it('a peer that does not take over (in maintenance itself): refused, this node MASTER again and not in maintenance', async () => {
    const e = new ScriptedElection(false);
    const h = handover(e);
    const err = await h.setMaintenance(true, false, 5000).then(() => null, (x: Error) => x);
    expect(err?.message).to.match(/^maintenance on failed after \d+ ms: the peer did not take over \(is it in maintenance, or held out of MASTER\?\), and this node is MASTER again$/);
    expect(e.state).to.equal('MASTER');
    expect(e.holds.size).to.equal(0);
    expect(h.maintenance).to.equal(false);
    expect(await readdir(dir), 'nothing kept for a restart').to.deep.equal([]);
  });

  it('--force holds at once, without checking or waiting for the peer, but lets go first as a hand-over does', async () => {
    const e = new ScriptedElection(false);
    const r = await handover(e, false).setMaintenance(true, true, 5000);
    expect(r.maintenance).to.equal(true);
    expect(e.steps, 'let go, no step-down to wait for').to.deep.equal(['released: maintenance on (tandem maintenance on --force)']);
    expect(e.state).to.equal('BACKUP');
  });

  it('unforced with a peer that could not take over: refused before anything changes', async () => {
    const e = new ScriptedElection(true);
    const err = await handover(e, false).setMaintenance(true, false, 5000).then(() => null, (x: Error) => x);
    expect(err?.message).to.equal('maintenance on refused: the peer could not take over: volume db is not connected to the peer; fix that first, or use --force to leave MASTER anyway');
    expect(e.state).to.equal('MASTER');
    expect(e.steps).to.deep.equal([]);
  });

  it('off while on still hands over applies after it: maintenance ends off (the on overrode it before)', async () => {
    const e = new ScriptedElection(true);
    const h = handover(e);
    const on = h.setMaintenance(true, false, 5000);
    const off = h.setMaintenance(false, false, 5000);
    expect((await on).maintenance).to.equal(true);
    expect((await off).maintenance).to.equal(false);
    expect(h.maintenance).to.equal(false);
    expect(e.holds.size).to.equal(0);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('on while a switchover runs is refused: the node is BACKUP already, and holding it would skip the check that someone serves', async () => {
    const e = new ScriptedElection(true);
    const h = handover(e);
    const sw = h.switchover(false, 5000);
    const err = await h.setMaintenance(true, false, 5000).then(() => null, (x: Error) => x);
    expect(err?.message).to.equal('maintenance on refused: a switchover of VI_1 is running; try again once it has ended');
    expect((await sw).new_master).to.equal('192.0.2.12');
    expect(h.maintenance).to.equal(false);
  });

  it('a BACKUP just holds: nothing to hand over', async () => {
    const e = new ScriptedElection(false);
    e.state = 'BACKUP';
    const r = await handover(e, false).setMaintenance(true, false, 5000);
    expect(r.maintenance).to.equal(true);
    expect(e.steps).to.deep.equal([]);
  });
});
