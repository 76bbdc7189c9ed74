import { expect } from 'chai';
import { initFsm, nextDeadline, step } from '../../../lib/vrrp/fsm/fsm.js';
import type { Fsm, FsmConfig, FsmEvent } from '../../../lib/vrrp/fsm/types.js';
import { rng } from '../../helpers/random.js';

// Random event sequences against the invariants the driver relies on; seeded,
// so every failure is reproducible.

const SEQUENCES = 800;
const EVENTS = 200;

function randomConfig(r: () => number, pick: <T>(xs: readonly T[]) => T): FsmConfig {
  const version = pick([2, 3] as const);
  return {
    version,
    advertIntCs: version === 2 ? pick([100, 200, 300, 25500]) : pick([1, 10, 50, 100, 250, 4095]),
    preempt: r() < 0.7,
    preemptDelayMs: pick([0, 0, 1, 500, 5000, 60_000]),
    primaryIp: pick(['192.0.2.10', '192.0.2.20', 'fe80::10']),
    initialState: pick(['BACKUP', 'MASTER'] as const),
  };
}

function randomEvent(r: () => number, pick: <T>(xs: readonly T[]) => T): FsmEvent {
  const reason = pick(['link', 'script', 'sync group G1: VI_2 is FAULT', '']);
  switch (Math.floor(r() * 10)) {
    case 0: return { type: 'startup' };
    case 1:
    case 2: return {
      type: 'advert',
      src: pick(['192.0.2.5', '192.0.2.10', '192.0.2.20', '192.0.2.30', 'fe80::1', 'fe80::10', 'fe80::ff', 'garbage']),
      priority: pick([0, 0, 1, 50, 99, 100, 101, 150, 254, 255, 256, -1, 1.5, NaN]),
      advertIntCs: pick([0, 1, 10, 100, 200, 4095, 4096, NaN]),
    };
    case 3:
    case 4: return { type: 'timer' };
    case 5: return { type: 'priority', priority: pick([0, 1, 50, 100, 150, 253, 254, 255, 300, NaN, -Infinity, 99.5]) };
    case 6: return r() < 0.5 ? { type: 'fault', reason } : { type: 'fault-cleared', reason };
    case 7: return r() < 0.1 ? { type: 'shutdown' } : { type: 'priority', priority: pick([80, 120]) };
    case 8: return { type: 'force', to: pick(['MASTER', 'BACKUP', 'FAULT'] as const), reason };
    default: {
      const hold = pick(['maintenance', 'boot: waiting for the peer']);
      return pick<FsmEvent>([{ type: 'hold', reason: hold }, { type: 'hold-cleared', reason: hold }, { type: 'step-down', reason: 'switchover' }]);
    }
  }
}

// Plain checks: chai per assertion would make 60 000 steps take seconds.
function must(cond: boolean, msg: string): void {
  if (!cond) expect.fail(msg);
}

const isNum = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function checkInvariants(f: Fsm, cfg: FsmConfig, now: number, ownerAtStart: boolean, ctx: string): void {
  const d = nextDeadline(f);
  must(d === null || d > now, `${ctx}: deadline ${d} not after now ${now}`);
  must(Number.isInteger(f.priority) && f.priority >= 1 && f.priority <= 255, `${ctx}: priority ${f.priority}`);
  must((f.priority === 255) === ownerAtStart, `${ctx}: owner priority changed`);
  must(new Set(f.faultReasons).size === f.faultReasons.length, `${ctx}: duplicate fault reasons`);
  if (f.state === 'BACKUP') {
    must(isNum(f.masterDownAt) && f.advertAt === null && f.faultReasons.length === 0, `${ctx}: BACKUP fields ${JSON.stringify(f)}`);
  } else if (f.state === 'MASTER') {
    must(isNum(f.advertAt) && f.masterDownAt === null && f.masterIp === cfg.primaryIp && f.faultReasons.length === 0, `${ctx}: MASTER fields ${JSON.stringify(f)}`);
  } else {
    must(f.masterDownAt === null && f.advertAt === null, `${ctx}: ${f.state} holds a timer`);
  }
  if (f.state === 'FAULT') must(f.faultReasons.length > 0, `${ctx}: FAULT without a reason`);
  must(new Set(f.holdReasons).size === f.holdReasons.length, `${ctx}: duplicate hold reasons`);
  must(!(f.state === 'MASTER' && f.holdReasons.length > 0), `${ctx}: MASTER while held`);
  must(!(f.state === 'MASTER' && f.yielding), `${ctx}: MASTER still yielding`);
}

describe('vrrp/fsm random event sequences', () => {
  it(`${SEQUENCES} sequences of ${EVENTS} events keep every invariant`, () => {
    let transitions = 0;
    const statesSeen = new Set<string>();
    for (let seed = 1; seed <= SEQUENCES; seed++) {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const cfg = randomConfig(r, pick);
      let fsm = initFsm(cfg, pick([1, 50, 100, 200, 254, 255]));
      const owner = fsm.priority === 255;
      let now = 1_000_000;
      for (let i = 0; i < EVENTS; i++) {
        const ctx = `seed ${seed} event ${i}`;
        // A driver fires the timer once it is due, before anything else.
        const due = nextDeadline(fsm);
        let ev: FsmEvent;
        if (due !== null && r() < 0.3) {
          now = r() < 0.5 ? due : Math.max(now, due + r() * 5000); // exactly on time, or late
          ev = { type: 'timer' };
        } else {
          now += pick([0, 0, 1, 10, 100, 1000, 3000]) * r();
          if (due !== null && now >= due) ev = { type: 'timer' };
          else ev = randomEvent(r, pick);
        }
        const before = Object.freeze({ ...fsm, faultReasons: Object.freeze([...fsm.faultReasons]) as string[] });
        const res = step(before, cfg, ev, now);
        statesSeen.add(res.fsm.state);
        if (before.state === 'STOP') must(res.fsm === before && res.actions.length === 0, `${ctx}: STOP is absorbing`);
        // Actions: at most one transition, last, from the old state to the new one.
        const trs = res.actions.filter((a) => a.type === 'transition');
        const acts = JSON.stringify(res.actions);
        must(trs.length <= 1, `${ctx}: two transitions ${acts}`);
        const t = trs[0];
        if (t !== undefined && t.type === 'transition') {
          must(res.actions[res.actions.length - 1] === t, `${ctx}: transition not last ${acts}`);
          must(t.from === before.state && t.to === res.fsm.state, `${ctx}: transition ${acts} vs ${before.state} -> ${res.fsm.state}`);
          must(t.reason.trim().length > 0, `${ctx}: empty reason`);
          transitions++;
          const first = res.actions[0];
          if (t.to === 'MASTER') must(first?.type === 'send-advert' && first.priority === res.fsm.priority, `${ctx}: MASTER without a first advert ${acts}`);
          if (t.from === 'MASTER' && (t.to === 'FAULT' || t.to === 'STOP')) must(first?.type === 'send-advert' && first.priority === 0, `${ctx}: no priority 0 ${acts}`);
        } else {
          must(res.fsm.state === before.state, `${ctx}: state changed without a transition action`);
        }
        for (const a of res.actions) {
          if (a.type !== 'send-advert') continue;
          if (a.priority === 0) must(t?.from === 'MASTER', `${ctx}: priority 0 only when leaving MASTER ${acts}`);
          else must(res.fsm.state === 'MASTER', `${ctx}: adverts only from MASTER ${acts}`);
        }
        checkInvariants(res.fsm, cfg, now, owner, ctx);
        fsm = res.fsm;
      }
    }
    // The generator must actually reach the states it claims to test.
    expect([...statesSeen].sort()).to.deep.equal(['BACKUP', 'FAULT', 'INIT', 'MASTER', 'STOP']);
    expect(transitions).to.be.greaterThan(SEQUENCES * 3);
  });
});
