// The resource-group conductor against a scripted election and effects that
// record what ran: the order of the steps, a failing or hanging step putting
// the group in FAULT and yielding, leaving running every step, and a newer
// transition cancelling a takeover in progress.
import { expect } from 'chai';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Election, ElectionRole } from '../../lib/node/election.js';
import { HaGroup, type StepEffects } from '../../lib/node/ha-group.js';
import type { PlanGroup } from '../../lib/node/ha-plan.js';

class FakeElection implements Election {
  readonly group = 'VI_1';
  state: ElectionRole = 'BACKUP';
  faults = new Set<string>();
  holds = new Set<string>();
  stepDowns: string[] = [];
  onFault: ((on: boolean) => void) | null = null;
  role(): ElectionRole { return this.state; }
  hold(reason: string, on: boolean): void { if (on) this.holds.add(reason); else this.holds.delete(reason); }
  stepDown(reason: string): void { this.stepDowns.push(reason); }
  fault(reason: string, on: boolean): void {
    if (on) this.faults.add(reason); else this.faults.delete(reason);
    this.onFault?.(on);
  }
  peerHeard(): boolean { return false; }
  masterAddress(): string | null { return null; }
  ownAddress(): string { return '192.0.2.11'; }
}

const PLAN: PlanGroup = {
  volumes: ['db', 'files'],
  services: [{ name: 'pgsql', startStepMs: 2000, stopStepMs: 2000 }, { name: 'app', startStepMs: 150, stopStepMs: 2000 }],
  vips: true,
};

function effects(log: string[], behave: Partial<Record<string, (signal: AbortSignal) => Promise<void>>> = {}): StepEffects {
  const step = (name: string) => async (signal: AbortSignal): Promise<void> => {
    log.push(name);
    await behave[name]?.(signal);
  };
  return {
    promote: (v, s) => step(`promote ${v}`)(s),
    demote: (v, s) => step(`demote ${v}`)(s),
    start: (v, s) => step(`start ${v}`)(s),
    stop: (v, s) => step(`stop ${v}`)(s),
    addVips: (s) => step('add-vips')(s),
    announce: () => void log.push('announce'),
    removeVips: (s) => step('remove-vips')(s),
    notify: (state, _p, s) => step(`notify ${state}`)(s),
  };
}

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));
const never = (signal: AbortSignal): Promise<void> => new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error('aborted'))));

function setup(behave: Parameters<typeof effects>[1] = {}, faultHoldMs = 60_000) {
  const log: string[] = [];
  const events: Array<{ type: string; fields: Record<string, unknown> }> = [];
  const election = new FakeElection();
  const group = new HaGroup(PLAN, election, effects(log, behave), { log: quiet, emit: (type, fields) => events.push({ type, fields }), faultHoldMs: () => faultHoldMs });
  // The election reacts to a fault as VRRP does: MASTER -> FAULT, and back to BACKUP when cleared.
  election.onFault = (on) => {
    const from = election.state;
    if (on && from !== 'FAULT') {
      election.state = 'FAULT';
      group.onRole(from, 'FAULT', 'fault', 0);
    } else if (!on && election.faults.size === 0 && from === 'FAULT') {
      election.state = 'BACKUP';
      group.onRole('FAULT', 'BACKUP', 'fault cleared', 100);
    }
  };
  const master = (): void => {
    const from = election.state;
    election.state = 'MASTER';
    group.onRole(from, 'MASTER', 'master down timer expired', 100);
  };
  // A MASTER hears a better peer: the election is BACKUP and the group is told.
  const backup = (reason = 'higher priority advert'): void => {
    election.state = 'BACKUP';
    group.onRole('MASTER', 'BACKUP', reason, 100);
  };
  // MASTER with every step done, then the log emptied: what follows is the way down.
  const served = async (): Promise<void> => {
    master();
    await group.idle();
    log.length = 0;
  };
  return { log, events, election, group, master, backup, served };
}

// A garbage collection on demand, to show a step's timeout survives one.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const UP = ['promote db', 'promote files', 'start pgsql', 'start app', 'add-vips', 'announce', 'notify MASTER'];
const DOWN = (to: string): string[] => ['remove-vips', 'stop app', 'stop pgsql', 'demote files', 'demote db', `notify ${to}`];

describe('node/ha-group', () => {
  it('becoming MASTER: volumes, services in order, then the VIPs, then notify; status records each step', async () => {
    const t = setup();
    t.master();
    await t.group.idle();
    expect(t.log).to.deep.equal(UP);
    expect(t.group.serving).to.equal(true);
    const rec = t.group.transitions().at(-1);
    expect(rec?.result).to.equal('done');
    expect(rec?.steps.map((s) => s.step)).to.deep.equal(['promote db (30 s)', 'promote files (30 s)', 'start pgsql (2 s)', 'start app (0.15 s)', 'add-vips (5 s)', 'announce (5 s)', 'notify MASTER (10 s)']);
    expect(t.events.map((e) => e.type)).to.include('ha.master');
  });

  it('leaving MASTER: VIPs first, services in reverse, then the volumes, then notify', async () => {
    const t = setup();
    await t.served();
    t.backup();
    await t.group.idle();
    expect(t.log).to.deep.equal(DOWN('BACKUP'));
    expect(t.group.serving).to.equal(false);
  });

  it('a BACKUP that never served only notifies', async () => {
    const t = setup();
    t.group.onRole('INIT', 'BACKUP', 'startup', 100);
    await t.group.idle();
    expect(t.log).to.deep.equal(['notify BACKUP']);
  });

  it('a failed step: FAULT (with the step and the error), every step let go, then yielding; no VIP was added', async () => {
    const t = setup({ 'start pgsql': async () => { throw new Error('exited with status 1'); } });
    t.master();
    await t.group.idle();
    expect(t.log).to.deep.equal(['promote db', 'promote files', 'start pgsql', ...DOWN('FAULT')]);
    expect([...t.election.faults]).to.deep.equal(['failed: start pgsql (2 s) failed: exited with status 1']);
    expect(t.election.stepDowns).to.have.length(1);
    expect(t.events.find((e) => e.type === 'ha.failed')?.fields.reason).to.equal('start pgsql (2 s) failed: exited with status 1');
    expect(t.group.transitions().map((r) => `${r.from}->${r.to} ${r.result}`)).to.deep.equal(['BACKUP->MASTER failed', 'MASTER->FAULT done']);
  });

  it('a step that hangs times out (start_timeout) and fails the takeover the same way', async () => {
    const t = setup({ 'start app': never });
    t.master();
    await t.group.idle();
    expect(t.log.slice(0, 4)).to.deep.equal(['promote db', 'promote files', 'start pgsql', 'start app']);
    expect(t.log).to.not.include('add-vips');
    expect([...t.election.faults][0]).to.match(/start app \(0.15 s\) failed: timed out after 0.15 s/);
  });

  it('the FAULT is cleared after fault_hold: the node is BACKUP again', async () => {
    const t = setup({ 'promote db': async () => { throw new Error('db: disk is Inconsistent'); } }, 50);
    t.master();
    await t.group.idle();
    expect(t.election.state).to.equal('FAULT');
    await tick(120);
    expect(t.election.state).to.equal('BACKUP');
    expect(t.election.faults.size).to.equal(0);
  });

  it('leaving runs every step even when some fail, and reports them', async () => {
    const t = setup({ 'stop app': async () => { throw new Error('still running'); }, 'demote files': async () => { throw new Error('EIO'); } });
    await t.served();
    t.backup('x');
    await t.group.idle();
    expect(t.log).to.deep.equal(DOWN('BACKUP'));
    const rec = t.group.transitions().at(-1);
    expect(rec?.result).to.equal('failed');
    expect(rec?.steps.filter((s) => !s.ok).map((s) => s.error)).to.deep.equal(['still running', 'EIO']);
    expect(t.election.faults.size, 'leaving does not fault').to.equal(0);
  });

  it('a newer transition cancels a takeover in progress, then everything is let go', async () => {
    let release: () => void = () => {};
    const t = setup({ 'start pgsql': (signal) => new Promise((res, rej) => { release = res; signal.addEventListener('abort', () => rej(new Error('aborted'))); }) });
    t.master();
    await tick(10);
    t.backup();
    release();
    await t.group.idle();
    expect(t.log).to.deep.equal(['promote db', 'promote files', 'start pgsql', ...DOWN('BACKUP')]);
    expect(t.group.transitions().map((r) => r.result)).to.deep.equal(['cancelled', 'done']);
    expect(t.election.faults.size, 'a cancelled takeover is no failure').to.equal(0);
  });

  it('a spent restart budget on the MASTER escalates: everything let go while MASTER, then FAULT and yielding; on a BACKUP it is ignored', async () => {
    let roleAtStop = '';
    const t = setup({ 'stop pgsql': async () => { roleAtStop = t.election.state; } });
    t.group.escalate('app', 'ignored while BACKUP');
    await t.group.idle();
    expect(t.election.faults.size).to.equal(0);
    expect(t.log).to.deep.equal([]);
    t.master();
    await t.group.idle();
    t.log.length = 0;
    t.group.escalate('app', '4 runs in a row ended within 240 s');
    await t.group.idle();
    expect([...t.election.faults]).to.deep.equal(['failed: service app: 4 runs in a row ended within 240 s']);
    expect(t.log).to.deep.equal(DOWN('FAULT'));
    expect(roleAtStop, 'the services stop before the FAULT lets the peer take over').to.equal('MASTER');
    expect(t.group.transitions().slice(-2).map((r) => r.reason)).to.deep.equal(['leaving MASTER: service app: 4 runs in a row ended within 240 s: letting go before the step-down', 'fault']);
  });

  it('a peer with newer data (stepAside) makes the MASTER let go in order too, then FAULT', async () => {
    const t = setup();
    await t.served();
    t.group.stepAside('db', 'the peer holds newer data');
    await t.group.idle();
    expect([...t.election.faults]).to.deep.equal(['failed: volume db: the peer holds newer data']);
    expect(t.log).to.deep.equal(DOWN('FAULT'));
  });

  it('exclusive work (restart, reload) waits for the transition in progress and comes before later ones', async () => {
    let release: () => void = () => {};
    const t = setup({ 'start app': () => new Promise((res) => (release = res)) });
    t.master();
    await tick(10);
    const order: string[] = [];
    const done = t.group.exclusive(async () => {
      order.push(`exclusive after ${t.log.at(-1)}`);
      return 42;
    });
    await tick(10);
    expect(order).to.deep.equal([]);
    // Mid-takeover: something is up, but the node does not serve yet.
    expect([t.group.holding, t.group.serving]).to.deep.equal([true, false]);
    release();
    expect(await done).to.equal(42);
    expect(order).to.deep.equal(['exclusive after notify MASTER']);
    await t.group.idle();
  });

  it('release (a planned hand-over) lets go of everything while MASTER; the step-down then only notifies', async () => {
    const t = setup();
    await t.served();
    expect(await t.group.release('switchover (tandem switchover)')).to.equal(true);
    expect(t.log, 'no notify yet: the node is still MASTER').to.deep.equal(['remove-vips', 'stop app', 'stop pgsql', 'demote files', 'demote db']);
    expect(t.election.state).to.equal('MASTER');
    expect(t.group.holding).to.equal(false);
    expect(t.group.serving).to.equal(false);
    t.backup('priority 0 sent');
    await t.group.idle();
    expect(t.log.slice(5)).to.deep.equal(['notify BACKUP']);
    const rec = t.group.transitions().slice(-2);
    expect(rec.map((r) => [r.from, r.to, r.reason, r.result])).to.deep.equal([
      ['MASTER', 'BACKUP', 'switchover (tandem switchover): letting go before the step-down', 'done'],
      ['MASTER', 'BACKUP', 'priority 0 sent', 'done'],
    ]);
  });

  it('handingOver is true while release lets go, and only then', async () => {
    let finish: () => void = () => {};
    const t = setup({ 'stop app': () => new Promise<void>((res) => (finish = res)) });
    await t.served();
    expect(t.group.handingOver).to.equal(false);
    const releasing = t.group.release('switchover');
    await tick();
    expect(t.group.handingOver, 'while a stop runs').to.equal(true);
    finish();
    expect(await releasing).to.equal(true);
    expect(t.group.handingOver).to.equal(false);
  });

  it('release with a stop that fails: false, and the step-down\'s leave runs every step again', async () => {
    let fails = 1;
    const t = setup({ 'stop app': async () => { if (fails-- > 0) throw new Error('still running'); } });
    await t.served();
    expect(await t.group.release('switchover')).to.equal(false);
    expect(t.group.holding).to.equal(true);
    t.backup();
    await t.group.idle();
    expect(t.log.slice(5)).to.deep.equal(['remove-vips', 'stop app', 'stop pgsql', 'demote files', 'demote db', 'notify BACKUP']);
  });

  it('release on a node that is not MASTER, or holds nothing, does nothing', async () => {
    const t = setup();
    expect(await t.group.release('switchover')).to.equal(false);
    await t.served();
    t.backup();
    await t.group.idle();
    t.log.length = 0;
    t.election.state = 'MASTER'; // the election says MASTER, but the takeover has not run
    expect(await t.group.release('switchover')).to.equal(false);
    expect(t.log).to.deep.equal([]);
  });

  it('a takeover after a release runs every step, and a later step-down leaves them all', async () => {
    const t = setup();
    await t.served();
    await t.group.release('switchover');
    t.backup();
    await t.group.idle(); // the peer did not take over: MASTER again
    t.log.length = 0;
    t.master();
    await t.group.idle();
    expect(t.log).to.deep.equal(['promote db', 'promote files', 'start pgsql', 'start app', 'add-vips', 'announce', 'notify MASTER']);
    t.log.length = 0;
    t.backup();
    await t.group.idle();
    expect(t.log).to.deep.equal(['remove-vips', 'stop app', 'stop pgsql', 'demote files', 'demote db', 'notify BACKUP']);
  });

  // The step's timeout was AbortSignal.any([outer, AbortSignal.timeout(ms)]): on Node 20 a garbage collection
  // before it fired lost it (nodejs/node#57736), and a hanging step hung the group for ever.
  it('a hanging step times out even when garbage collections run meanwhile', async function () {
    this.timeout(10_000);
    const t = setup({ 'start app': never });
    const collector = setInterval(() => gc(), 20);
    try {
      t.master();
      const done = t.group.idle().then(() => 'done');
      expect(await Promise.race([done, tick(3000).then(() => 'still hanging after 3 s')])).to.equal('done');
      expect([...t.election.faults][0]).to.match(/start app \(0.15 s\) failed: timed out after 0.15 s/);
    } finally {
      clearInterval(collector);
    }
  });
});
