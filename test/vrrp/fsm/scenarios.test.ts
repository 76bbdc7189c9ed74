import { expect } from 'chai';
import { initFsm, nextDeadline, step } from '../../../lib/vrrp/fsm/fsm.js';
import type { Fsm, FsmAction, FsmConfig, FsmEvent, VrrpState } from '../../../lib/vrrp/fsm/types.js';

// Event sequences with explicit times (ms). P=150, v3, 1 s:
// Skew = 106*1000/256 = 414.0625, MDI = 3414.0625.
const OWN = '192.0.2.10';
const LOWER_MASTER = '192.0.2.20';
const MDI150 = 3414.0625;
const CFG: FsmConfig = { version: 3, advertIntCs: 100, preempt: true, preemptDelayMs: 0, primaryIp: OWN, initialState: 'BACKUP' };

interface Step {
  at: number;
  ev: FsmEvent;
  state: VrrpState; // state after the step
  fields?: Partial<Fsm>;
  actions?: FsmAction[];
}

function play(cfg: FsmConfig, priority: number, steps: Step[]): Fsm {
  let fsm = initFsm(cfg, priority);
  for (const s of steps) {
    const r = step(fsm, cfg, s.ev, s.at);
    const where = `at ${s.at} after ${JSON.stringify(s.ev)}`;
    expect(r.fsm.state, where).to.equal(s.state);
    if (s.fields) for (const [k, v] of Object.entries(s.fields)) expect(r.fsm[k as keyof Fsm], `${where}: ${k}`).to.deep.equal(v);
    if (s.actions) expect(r.actions, where).to.deep.equal(s.actions);
    fsm = r.fsm;
  }
  return fsm;
}

const adv = (priority: number, src = LOWER_MASTER, advertIntCs = 100): FsmEvent => ({ type: 'advert', src, priority, advertIntCs });
const TIMER: FsmEvent = { type: 'timer' };
const STARTUP: FsmEvent = { type: 'startup' };

describe('vrrp/fsm scenarios', () => {
  it('preempt: a higher-priority node discards a lower master and takes over after MDI from startup', () => {
    play(CFG, 150, [
      { at: 0, ev: STARTUP, state: 'BACKUP', fields: { masterDownAt: MDI150 } },
      { at: 1000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: MDI150, masterIp: null } },
      { at: 2000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: MDI150 } },
      { at: 3000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: MDI150 } },
      { at: 3414, ev: TIMER, state: 'BACKUP', actions: [] },
      { at: MDI150, ev: TIMER, state: 'MASTER', actions: [{ type: 'send-advert', priority: 150 }, { type: 'transition', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' }] },
      // RFC 9568 6.4.3: the old master's next advert is answered at once, so it steps down quickly.
      { at: 4000, ev: adv(100), state: 'MASTER', fields: { advertAt: 5000 }, actions: [{ type: 'send-advert', priority: 150 }] },
    ]);
  });

  it('nopreempt: a higher-priority node stays BACKUP while the lower master advertises, then takes over after its priority-0', () => {
    play({ ...CFG, preempt: false }, 150, [
      { at: 0, ev: STARTUP, state: 'BACKUP' },
      { at: 1000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 1000 + MDI150, masterIp: LOWER_MASTER } },
      { at: 2000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 2000 + MDI150 } },
      { at: 3000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 3000 + MDI150 } },
      { at: 3414.0625, ev: TIMER, state: 'BACKUP', actions: [] }, // the old deadline is gone
      { at: 4000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 4000 + MDI150 } },
      // The master shuts down (priority 0): Skew_Time, not MDI.
      { at: 4500, ev: adv(0), state: 'BACKUP', fields: { masterDownAt: 4914.0625 } },
      { at: 4914.0625, ev: TIMER, state: 'MASTER' },
    ]);
  });

  it('preempt_delay from startup: lower adverts accepted for 5 s, then discarded', () => {
    const cfg = { ...CFG, preemptDelayMs: 5000 };
    play(cfg, 150, [
      { at: 0, ev: STARTUP, state: 'BACKUP', fields: { preemptDelayUntil: 5000 } },
      { at: 1000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 1000 + MDI150, preemptDelayUntil: 5000 } },
      { at: 4000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 4000 + MDI150 } },
      { at: 4999, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 4999 + MDI150 } },
      { at: 5000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 4999 + MDI150 } }, // delay over: discarded
      { at: 6000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 4999 + MDI150 } },
      { at: 4999 + MDI150, ev: TIMER, state: 'MASTER', fields: { preemptDelayUntil: null } },
    ]);
  });

  it('preempt_delay from seeing a lower master: a higher master disarms it, its priority drop restarts it', () => {
    const cfg = { ...CFG, preemptDelayMs: 5000 };
    play(cfg, 150, [
      { at: 0, ev: STARTUP, state: 'BACKUP', fields: { preemptDelayUntil: 5000 } },
      { at: 1000, ev: adv(200), state: 'BACKUP', fields: { preemptDelayUntil: null } },
      { at: 20_000, ev: adv(200), state: 'BACKUP', fields: { preemptDelayUntil: null } },
      // The master's tracker lowered it to 100: from now on it is a lower master.
      { at: 21_000, ev: adv(100), state: 'BACKUP', fields: { preemptDelayUntil: 26_000, masterDownAt: 21_000 + MDI150 } },
      { at: 25_000, ev: adv(100), state: 'BACKUP', fields: { preemptDelayUntil: 26_000, masterDownAt: 25_000 + MDI150 } },
      { at: 26_000, ev: adv(100), state: 'BACKUP', fields: { masterDownAt: 25_000 + MDI150 } },
      { at: 25_000 + MDI150, ev: TIMER, state: 'MASTER' },
    ]);
  });

  it('priority rise in BACKUP: no takeover until the next lower advert is discarded and the timer fires', () => {
    // P=100: MDI 3609.375 (computed with the priority at the last accepted advert).
    play(CFG, 100, [
      { at: 0, ev: STARTUP, state: 'BACKUP' },
      { at: 5000, ev: adv(150), state: 'BACKUP', fields: { masterDownAt: 8609.375 } },
      { at: 5500, ev: { type: 'priority', priority: 200 }, state: 'BACKUP', fields: { priority: 200, masterDownAt: 8609.375 }, actions: [] },
      { at: 6000, ev: adv(150), state: 'BACKUP', fields: { masterDownAt: 8609.375 } }, // now lower: discarded
      { at: 7000, ev: adv(150), state: 'BACKUP', fields: { masterDownAt: 8609.375 } },
      { at: 8609.375, ev: TIMER, state: 'MASTER', actions: [{ type: 'send-advert', priority: 200 }, { type: 'transition', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' }] },
    ]);
  });

  it('priority drop in MASTER: it keeps advertising the lower value until a higher advert arrives', () => {
    play(CFG, 150, [
      { at: 0, ev: STARTUP, state: 'BACKUP' },
      { at: MDI150, ev: TIMER, state: 'MASTER' },
      { at: 4000, ev: { type: 'priority', priority: 50 }, state: 'MASTER', actions: [] },
      { at: MDI150 + 1000, ev: TIMER, state: 'MASTER', actions: [{ type: 'send-advert', priority: 50 }] },
      { at: 5000, ev: adv(100), state: 'BACKUP', fields: { masterIp: LOWER_MASTER, masterDownAt: 5000 + 3804.6875 } }, // P=50 MDI
    ]);
  });

  it('v3 learned interval: a BACKUP follows the master 0.5 s interval, then advertises its own 1 s', () => {
    // P=100, MAI 50 cs: Skew 304.6875, MDI 1804.6875.
    play(CFG, 100, [
      { at: 0, ev: STARTUP, state: 'BACKUP', fields: { masterDownAt: 3609.375 } },
      { at: 500, ev: adv(200, LOWER_MASTER, 50), state: 'BACKUP', fields: { masterAdverIntCs: 50, masterDownAt: 2304.6875 } },
      { at: 1000, ev: adv(0, LOWER_MASTER, 50), state: 'BACKUP', fields: { masterDownAt: 1304.6875 } }, // Skew with MAI 50
      { at: 1304.6875, ev: TIMER, state: 'MASTER', fields: { masterAdverIntCs: 100, advertAt: 2304.6875 } },
    ]);
  });

  it('faults stack: only the last clear leaves FAULT, and the machine restarts from BACKUP', () => {
    play(CFG, 100, [
      { at: 0, ev: { type: 'fault', reason: 'link' }, state: 'INIT', fields: { faultReasons: ['link'] } },
      { at: 0, ev: STARTUP, state: 'FAULT', actions: [{ type: 'transition', from: 'INIT', to: 'FAULT', reason: 'startup with fault: link' }] },
      { at: 10, ev: { type: 'fault', reason: 'script' }, state: 'FAULT', fields: { faultReasons: ['link', 'script'] } },
      { at: 20, ev: { type: 'fault-cleared', reason: 'link' }, state: 'FAULT', actions: [] },
      { at: 30, ev: { type: 'fault-cleared', reason: 'script' }, state: 'BACKUP', fields: { masterDownAt: 30 + 3609.375, faultReasons: [] } },
      { at: 40, ev: { type: 'shutdown' }, state: 'STOP' },
      { at: 50, ev: STARTUP, state: 'STOP', actions: [] },
    ]);
  });
});

// Two or more machines on one simulated link: adverts are delivered at once
// to every other node, so a reply can trigger a reply.
interface Node { cfg: FsmConfig; fsm: Fsm }

function deliver(nodes: Node[], from: number, priority: number, now: number, depth: number): void {
  expect(depth, 'advert reply storm').to.be.lessThan(10);
  nodes.forEach((_n, i) => {
    if (i === from) return;
    const ev: FsmEvent = { type: 'advert', src: nodes[from]!.cfg.primaryIp, priority, advertIntCs: nodes[from]!.cfg.advertIntCs };
    apply(nodes, i, ev, now, depth + 1);
  });
}

function apply(nodes: Node[], i: number, ev: FsmEvent, now: number, depth = 0): void {
  const n = nodes[i]!;
  const r = step(n.fsm, n.cfg, ev, now);
  n.fsm = r.fsm;
  for (const a of r.actions) if (a.type === 'send-advert') deliver(nodes, i, a.priority, now, depth);
}

// Fire due timers in time order until `end`.
function runUntil(nodes: Node[], end: number): void {
  for (let guard = 0; guard < 10_000; guard++) {
    const due = nodes.map((n, i) => ({ i, at: nextDeadline(n.fsm) })).filter((d): d is { i: number; at: number } => d.at !== null && d.at <= end);
    if (due.length === 0) return;
    due.sort((a, b) => a.at - b.at || a.i - b.i);
    apply(nodes, due[0]!.i, { type: 'timer' }, due[0]!.at);
  }
  expect.fail('timers never settled');
}

function pair(ipA: string, ipB: string, pa = 100, pb = 100, extra: Partial<FsmConfig> = {}): Node[] {
  return [ipA, ipB].map((ip, k) => {
    const cfg: FsmConfig = { ...CFG, ...extra, primaryIp: ip };
    return { cfg, fsm: step(initFsm(cfg, k === 0 ? pa : pb), cfg, STARTUP, 0).fsm };
  });
}

describe('vrrp/fsm two-node elections', () => {
  const ties: [string, string, string][] = [
    ['IPv4', '192.0.2.9', '192.0.2.10'], // unsigned compare, not text: .10 > .9
    ['IPv4 wide', '10.0.0.255', '192.0.2.1'],
    ['IPv6', 'fe80::1', 'fe80::2'],
    ['IPv6 unsigned', '2001:db8::9', '2001:db8::10'], // 0x10 > 0x9
  ];
  // Both down timers fire before either advert arrives (equal MDI), so both
  // are MASTER when the adverts cross: RFC 5798 6.4.3 decides on the address.
  for (const [name, low, high] of ties) {
    for (const order of ['low first', 'high first'] as const) {
      it(`equal priority, ${name}: ${high} wins over ${low} (${order} in the exchange)`, () => {
        const nodes = pair(low, high);
        const t = nextDeadline(nodes[0]!.fsm)!;
        expect(nextDeadline(nodes[1]!.fsm)).to.equal(t);
        for (const n of nodes) n.fsm = step(n.fsm, n.cfg, { type: 'timer' }, t).fsm;
        expect(nodes.map((n) => n.fsm.state)).to.deep.equal(['MASTER', 'MASTER']);
        const first = order === 'low first' ? 0 : 1;
        deliver(nodes, first, 100, t, 0);
        deliver(nodes, 1 - first, 100, t, 0);
        runUntil(nodes, 20_000);
        expect(nodes[1]!.fsm.state).to.equal('MASTER');
        expect(nodes[0]!.fsm.state).to.equal('BACKUP');
        expect(nodes[0]!.fsm.masterIp).to.equal(high);
      });
    }
  }

  it('equal priority: a BACKUP keeps an established MASTER even when its own address is higher', () => {
    // RFC 5798 6.4.2 accepts priority >= own; the address only breaks ties between MASTERs.
    const nodes = pair('192.0.2.9', '192.0.2.10');
    apply(nodes, 0, { type: 'timer' }, nextDeadline(nodes[0]!.fsm)!); // the lower address fires first
    runUntil(nodes, 20_000);
    expect(nodes.map((n) => n.fsm.state)).to.deep.equal(['MASTER', 'BACKUP']);
  });

  it('the higher priority wins whatever the addresses, and a MASTER shutdown hands over after Skew_Time', () => {
    const nodes = pair('192.0.2.10', '192.0.2.20', 200, 100);
    runUntil(nodes, 20_000);
    expect(nodes.map((n) => n.fsm.state)).to.deep.equal(['MASTER', 'BACKUP']);
    apply(nodes, 0, { type: 'shutdown' }, 20_000);
    expect(nodes[0]!.fsm.state).to.equal('STOP');
    expect(nodes[1]!.fsm.masterDownAt).to.equal(20_000 + 609.375); // Skew for P=100
    runUntil(nodes, 30_000);
    expect(nodes[1]!.fsm.state).to.equal('MASTER');
  });

  it('after a split heals, two MASTERs settle on the higher one in one advert exchange', () => {
    const nodes = pair('192.0.2.10', '192.0.2.20', 100, 200);
    // Both MASTER (adverts were lost while the link was split).
    for (const n of nodes) n.fsm = step(n.fsm, n.cfg, { type: 'force', to: 'MASTER', reason: 'split' }, 1).fsm;
    expect(nodes.map((n) => n.fsm.state)).to.deep.equal(['MASTER', 'MASTER']);
    apply(nodes, 0, { type: 'timer' }, 1001); // the lower one advertises first
    expect(nodes.map((n) => n.fsm.state)).to.deep.equal(['BACKUP', 'MASTER']);
  });

  it('three nodes: the highest becomes MASTER, the others stay BACKUP through many intervals', () => {
    const cfgs = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => ({ ...CFG, primaryIp: ip }));
    const nodes: Node[] = cfgs.map((cfg, k) => ({ cfg, fsm: step(initFsm(cfg, [100, 254, 1][k]!), cfg, STARTUP, 0).fsm }));
    runUntil(nodes, 60_000);
    expect(nodes.map((n) => n.fsm.state)).to.deep.equal(['BACKUP', 'MASTER', 'BACKUP']);
    expect(nodes[0]!.fsm.masterIp).to.equal('192.0.2.2');
    expect(nodes[2]!.fsm.masterIp).to.equal('192.0.2.2');
  });
});
