import { expect } from 'chai';
import { initFsm, step } from '../../lib/vrrp/fsm/fsm.js';
import type { Fsm, FsmConfig, FsmEvent, VrrpState } from '../../lib/vrrp/fsm/types.js';
import { isSyncGroupReason, syncFaultReason, syncGroupEvents } from '../../lib/vrrp/sync-group.js';
import type { MemberTransition, SyncEvent, SyncMember } from '../../lib/vrrp/sync-group.js';

const G = 'G1';
const F = (m: string): string => syncFaultReason(G, m);
const m = (name: string, state: VrrpState, ...faultReasons: string[]): SyncMember => ({ name, state, faultReasons });
const ch = (member: string, from: VrrpState, to: VrrpState, reason: string): MemberTransition => ({ member, from, to, reason });
const force = (member: string, to: 'MASTER' | 'BACKUP' | 'FAULT', reason: string): SyncEvent => ({ member, event: { type: 'force', to, reason } });
const clear = (member: string, reason: string): SyncEvent => ({ member, event: { type: 'fault-cleared', reason } });

describe('vrrp/sync-group reactions', () => {
  it('names its reasons', () => {
    expect(F('VI_2')).to.equal('sync group G1: VI_2 is FAULT');
    expect(isSyncGroupReason(G, 'sync group G1: VI_2 is MASTER')).to.equal(true);
    expect(isSyncGroupReason(G, 'fault cleared: sync group G1: VI_2 is FAULT')).to.equal(true);
    expect(isSyncGroupReason(G, 'sync group G2: VI_2 is MASTER')).to.equal(false);
    expect(isSyncGroupReason(G, 'master down timer expired')).to.equal(false);
  });

  // Members are the snapshots after the change.
  const rows: [name: string, members: SyncMember[], change: MemberTransition | null, out: SyncEvent[]][] = [
    ['own FAULT -> the others FAULT',
      [m('VI_1', 'FAULT', 'link'), m('VI_2', 'BACKUP'), m('VI_3', 'MASTER')], ch('VI_1', 'BACKUP', 'FAULT', 'link'),
      [force('VI_2', 'FAULT', F('VI_1')), force('VI_3', 'FAULT', F('VI_1'))]],
    ['own FAULT while another is FAULT of its own: both hold each other',
      [m('VI_1', 'FAULT', 'link', F('VI_2')), m('VI_2', 'FAULT', 'script')], ch('VI_2', 'BACKUP', 'FAULT', 'script'),
      [force('VI_2', 'FAULT', F('VI_1'))]],
    ['a forced FAULT starts no round',
      [m('VI_1', 'FAULT', 'link'), m('VI_2', 'FAULT', F('VI_1'))], ch('VI_2', 'MASTER', 'FAULT', F('VI_1')), []],
    ['leaving own FAULT -> the others lose that reason',
      [m('VI_1', 'BACKUP'), m('VI_2', 'FAULT', F('VI_1')), m('VI_3', 'FAULT', F('VI_1'))], ch('VI_1', 'FAULT', 'BACKUP', 'fault cleared: link'),
      [clear('VI_2', F('VI_1')), clear('VI_3', F('VI_1'))]],
    ['an inconsistent snapshot is repaired (missing reasons added, stale ones cleared)',
      [m('VI_1', 'BACKUP'), m('VI_2', 'FAULT', F('VI_1')), m('VI_3', 'FAULT', 'script', F('VI_1'))], ch('VI_1', 'FAULT', 'BACKUP', 'fault cleared: link'),
      [force('VI_1', 'FAULT', F('VI_3')), force('VI_2', 'FAULT', F('VI_3')), clear('VI_2', F('VI_1')), clear('VI_3', F('VI_1'))]],
    ['own fault cleared while still held by the group (no transition) -> the others lose that reason',
      [m('VI_1', 'FAULT', F('VI_2')), m('VI_2', 'FAULT', 'script', F('VI_1'))], null,
      [clear('VI_2', F('VI_1'))]],
    ['an own fault added to a member already FAULT by the group (no transition) -> propagated',
      [m('VI_1', 'FAULT', F('VI_2'), 'link'), m('VI_2', 'FAULT', 'script')], null,
      [force('VI_2', 'FAULT', F('VI_1'))]],
    ['INIT member with a fault before startup -> recorded on the others',
      [m('VI_1', 'INIT', 'link'), m('VI_2', 'INIT')], null, [force('VI_2', 'FAULT', F('VI_1'))]],
    ['own MASTER -> BACKUP members MASTER, no one else',
      [m('VI_1', 'MASTER'), m('VI_2', 'BACKUP'), m('VI_3', 'MASTER'), m('VI_4', 'INIT'), m('VI_5', 'STOP')], ch('VI_1', 'BACKUP', 'MASTER', 'master down timer expired'),
      [force('VI_2', 'MASTER', 'sync group G1: VI_1 is MASTER')]],
    ['a forced MASTER starts no round',
      [m('VI_1', 'MASTER'), m('VI_2', 'MASTER'), m('VI_3', 'BACKUP')], ch('VI_2', 'BACKUP', 'MASTER', 'sync group G1: VI_1 is MASTER'), []],
    ['own MASTER -> BACKUP: MASTER members BACKUP',
      [m('VI_1', 'BACKUP'), m('VI_2', 'MASTER'), m('VI_3', 'BACKUP')], ch('VI_1', 'MASTER', 'BACKUP', 'higher priority advert from 192.0.2.12 (200)'),
      [force('VI_2', 'BACKUP', 'sync group G1: VI_1 is BACKUP')]],
    ['a forced BACKUP starts no round',
      [m('VI_1', 'BACKUP'), m('VI_2', 'BACKUP'), m('VI_3', 'MASTER')], ch('VI_2', 'MASTER', 'BACKUP', 'sync group G1: VI_1 is BACKUP'), []],
    ['INIT -> BACKUP changes nothing', [m('VI_1', 'BACKUP'), m('VI_2', 'INIT')], ch('VI_1', 'INIT', 'BACKUP', 'startup'), []],
    ['MASTER -> STOP changes nothing', [m('VI_1', 'STOP'), m('VI_2', 'MASTER')], ch('VI_1', 'MASTER', 'STOP', 'shutdown'), []],
    ['a STOP member is no origin and gets nothing',
      [m('VI_1', 'STOP', 'link'), m('VI_2', 'STOP'), m('VI_3', 'BACKUP')], ch('VI_1', 'FAULT', 'STOP', 'shutdown'), []],
  ];
  for (const [name, members, change, out] of rows) {
    it(name, () => expect(syncGroupEvents(G, members, change)).to.deep.equal(out));
  }
});

// The members' real machines, driven the way a driver would: after every
// step that changed a member (forced or not), ask the group and feed the
// answer. The round count proves there is no ping-pong.
const CFG: FsmConfig = { version: 3, advertIntCs: 100, preempt: true, preemptDelayMs: 0, primaryIp: '192.0.2.10', initialState: 'BACKUP' };

class Group {
  fsms = new Map<string, Fsm>();
  log: string[] = [];
  steps = 0;
  constructor(names: string[], priority = 100) {
    for (const n of names) this.fsms.set(n, initFsm(CFG, priority));
  }
  state(): Record<string, string> {
    return Object.fromEntries([...this.fsms].map(([n, f]) => [n, f.state]));
  }
  apply(name: string, ev: FsmEvent, now: number): void {
    const queue: SyncEvent[] = [{ member: name, event: ev }];
    while (queue.length > 0) {
      expect(++this.steps, 'sync group ping-pong').to.be.lessThan(100);
      const { member, event } = queue.shift()!;
      const before = this.fsms.get(member)!;
      const r = step(before, CFG, event, now);
      this.fsms.set(member, r.fsm);
      if (r.fsm === before) continue;
      let change: MemberTransition | null = null;
      for (const a of r.actions) {
        if (a.type === 'transition') {
          change = { member, from: a.from, to: a.to, reason: a.reason };
          this.log.push(`${member} ${a.from}->${a.to}`);
        } else this.log.push(`${member} advert ${a.priority}`);
      }
      const members = [...this.fsms].map(([n, f]) => ({ name: n, state: f.state, faultReasons: f.faultReasons }));
      queue.push(...syncGroupEvents(G, members, change));
    }
  }
}

describe('vrrp/sync-group with real machines', () => {
  it('moves the group to MASTER, to FAULT and back, without ping-pong', () => {
    const g = new Group(['VI_1', 'VI_2']);
    g.apply('VI_1', { type: 'startup' }, 0);
    g.apply('VI_2', { type: 'startup' }, 0);
    g.apply('VI_1', { type: 'timer' }, 3609.375);
    expect(g.state()).to.deep.equal({ VI_1: 'MASTER', VI_2: 'MASTER' });
    expect(g.log.slice(-4)).to.deep.equal(['VI_1 advert 100', 'VI_1 BACKUP->MASTER', 'VI_2 advert 100', 'VI_2 BACKUP->MASTER']);

    g.log = [];
    g.apply('VI_2', { type: 'fault', reason: 'link eth1 down' }, 5000);
    expect(g.state()).to.deep.equal({ VI_1: 'FAULT', VI_2: 'FAULT' });
    expect(g.log).to.deep.equal(['VI_2 advert 0', 'VI_2 MASTER->FAULT', 'VI_1 advert 0', 'VI_1 MASTER->FAULT']);
    expect(g.fsms.get('VI_1')!.faultReasons).to.deep.equal([F('VI_2')]);

    // VI_1 gets a fault of its own; VI_2's clears: both stay FAULT.
    g.apply('VI_1', { type: 'fault', reason: 'script chk failed' }, 6000);
    g.apply('VI_2', { type: 'fault-cleared', reason: 'link eth1 down' }, 7000);
    expect(g.state()).to.deep.equal({ VI_1: 'FAULT', VI_2: 'FAULT' });
    expect(g.fsms.get('VI_1')!.faultReasons).to.deep.equal(['script chk failed']);
    expect(g.fsms.get('VI_2')!.faultReasons).to.deep.equal([F('VI_1')]);

    // The last own fault clears: the whole group leaves FAULT for BACKUP.
    g.apply('VI_1', { type: 'fault-cleared', reason: 'script chk failed' }, 8000);
    expect(g.state()).to.deep.equal({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
    expect([...g.fsms.values()].map((f) => f.faultReasons)).to.deep.equal([[], []]);
  });

  it('mutual faults cleared in either order never deadlock', () => {
    for (const order of [['VI_1', 'VI_2'], ['VI_2', 'VI_1']]) {
      const g = new Group(['VI_1', 'VI_2', 'VI_3']);
      for (const n of ['VI_1', 'VI_2', 'VI_3']) g.apply(n, { type: 'startup' }, 0);
      g.apply('VI_1', { type: 'fault', reason: 'a' }, 10);
      g.apply('VI_2', { type: 'fault', reason: 'b' }, 20);
      expect(g.state()).to.deep.equal({ VI_1: 'FAULT', VI_2: 'FAULT', VI_3: 'FAULT' });
      g.apply(order[0]!, { type: 'fault-cleared', reason: order[0] === 'VI_1' ? 'a' : 'b' }, 30);
      expect(g.state()).to.deep.equal({ VI_1: 'FAULT', VI_2: 'FAULT', VI_3: 'FAULT' });
      g.apply(order[1]!, { type: 'fault-cleared', reason: order[1] === 'VI_1' ? 'a' : 'b' }, 40);
      expect(g.state(), order.join(',')).to.deep.equal({ VI_1: 'BACKUP', VI_2: 'BACKUP', VI_3: 'BACKUP' });
    }
  });

  it('a member losing the election takes the group to BACKUP', () => {
    const g = new Group(['VI_1', 'VI_2']);
    g.apply('VI_1', { type: 'startup' }, 0);
    g.apply('VI_2', { type: 'startup' }, 0);
    g.apply('VI_2', { type: 'timer' }, 3609.375);
    expect(g.state()).to.deep.equal({ VI_1: 'MASTER', VI_2: 'MASTER' });
    g.apply('VI_1', { type: 'advert', src: '192.0.2.12', priority: 200, advertIntCs: 100 }, 4000);
    expect(g.state()).to.deep.equal({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
    expect(g.fsms.get('VI_2')!.masterDownAt).to.equal(4000 + 3609.375);
  });
});
