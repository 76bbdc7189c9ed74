import { expect } from 'chai';
import { initFsm, nextDeadline, step } from '../../../lib/vrrp/fsm/fsm.js';
import type { Fsm, FsmAction, FsmConfig, FsmEvent, VrrpState } from '../../../lib/vrrp/fsm/types.js';
import { VRRP_STATES } from '../../../lib/vrrp/fsm/types.js';

// One row per transition and per ignored event; every state x event pair is
// covered (checked at the end). Times are ms; v3, advert_int 1 s, P=100:
// Skew 609.375 ms, Master_Down_Interval 3609.375 ms (RFC 5798 6.1).
const OWN = '192.0.2.10';
const PEER = '192.0.2.20'; // higher address than OWN
const LOW = '192.0.2.5'; // lower address than OWN
const NOW = 10_000;
const MDI = 3609.375;
const SKEW = 609.375;

const CFG: FsmConfig = { version: 3, advertIntCs: 100, preempt: true, preemptDelayMs: 0, primaryIp: OWN, initialState: 'BACKUP' };

function freeze(f: Fsm): Fsm {
  Object.freeze(f.faultReasons);
  Object.freeze(f.holdReasons);
  return Object.freeze(f);
}

const blank: Fsm = { state: 'INIT', priority: 100, masterAdverIntCs: 100, masterDownAt: null, advertAt: null, preemptDelayUntil: null, masterIp: null, faultReasons: [], holdReasons: [], yielding: false };
const S = {
  INIT: freeze({ ...blank }),
  BACKUP: freeze({ ...blank, state: 'BACKUP', masterDownAt: 12_000, masterIp: PEER }),
  MASTER: freeze({ ...blank, state: 'MASTER', advertAt: 10_500, masterIp: OWN }),
  FAULT: freeze({ ...blank, state: 'FAULT', faultReasons: ['link eth0 down'] }),
  STOP: freeze({ ...blank, state: 'STOP' }),
} satisfies Record<VrrpState, Fsm>;
const at = (s: VrrpState, patch: Partial<Fsm>): Fsm =>
  freeze({ ...S[s], ...patch, faultReasons: [...(patch.faultReasons ?? S[s].faultReasons)], holdReasons: [...(patch.holdReasons ?? S[s].holdReasons)] });

const adv = (src: string, priority: number, advertIntCs = 100): FsmEvent => ({ type: 'advert', src, priority, advertIntCs });
const send = (priority: number): FsmAction => ({ type: 'send-advert', priority });
const tr = (from: VrrpState, to: VrrpState, reason: string): FsmAction => ({ type: 'transition', from, to, reason });

interface Row {
  name: string;
  rfc: string; // the section the row implements (or "keepalived" / "robustness")
  from: Fsm;
  ev: FsmEvent;
  now?: number;
  cfg?: Partial<FsmConfig>;
  expect: Partial<Fsm> | 'same'; // 'same' = the very same object back, no actions
  actions?: FsmAction[];
}

const SYNC = 'sync group G1: VI_2 is FAULT';
const rows: Row[] = [
  // INIT
  { name: 'startup -> BACKUP with the down timer', rfc: 'RFC 5798 6.4.1', from: S.INIT, ev: { type: 'startup' },
    expect: { state: 'BACKUP', masterDownAt: NOW + MDI }, actions: [tr('INIT', 'BACKUP', 'startup')] },
  { name: 'startup, state MASTER below 255 -> BACKUP, full down interval', rfc: 'keepalived', from: S.INIT, ev: { type: 'startup' }, cfg: { initialState: 'MASTER' },
    expect: { state: 'BACKUP', masterDownAt: NOW + MDI }, actions: [tr('INIT', 'BACKUP', 'startup (state MASTER waits for the master down timer)')] },
  { name: 'startup v2, advert_int 3 s -> BACKUP, MDI 9609.375', rfc: 'RFC 3768 6.4.1', from: at('INIT', { masterAdverIntCs: 300 }), ev: { type: 'startup' }, cfg: { version: 2, advertIntCs: 300 },
    expect: { state: 'BACKUP', masterAdverIntCs: 300, masterDownAt: NOW + 9609.375 }, actions: [tr('INIT', 'BACKUP', 'startup')] },
  { name: 'startup at 255 -> MASTER, advert first', rfc: 'RFC 5798 6.4.1', from: at('INIT', { priority: 255 }), ev: { type: 'startup' },
    expect: { state: 'MASTER', advertAt: NOW + 1000, masterIp: OWN }, actions: [send(255), tr('INIT', 'MASTER', 'startup as address owner (priority 255)')] },
  { name: 'startup with preempt_delay arms it', rfc: 'keepalived preempt_delay', from: S.INIT, ev: { type: 'startup' }, cfg: { preemptDelayMs: 30_000 },
    expect: { state: 'BACKUP', masterDownAt: NOW + MDI, preemptDelayUntil: NOW + 30_000 }, actions: [tr('INIT', 'BACKUP', 'startup')] },
  { name: 'startup with nopreempt does not arm preempt_delay', rfc: 'keepalived nopreempt', from: S.INIT, ev: { type: 'startup' }, cfg: { preempt: false, preemptDelayMs: 30_000 },
    expect: { state: 'BACKUP', masterDownAt: NOW + MDI }, actions: [tr('INIT', 'BACKUP', 'startup')] },
  { name: 'startup with a recorded fault -> FAULT', rfc: 'keepalived', from: at('INIT', { faultReasons: ['link eth0 down', SYNC] }), ev: { type: 'startup' },
    expect: { state: 'FAULT' }, actions: [tr('INIT', 'FAULT', `startup with fault: link eth0 down; ${SYNC}`)] },
  { name: 'advert ignored', rfc: 'keepalived vrrp_check_packet', from: S.INIT, ev: adv(PEER, 200), expect: 'same' },
  { name: 'timer ignored', rfc: 'robustness', from: S.INIT, ev: { type: 'timer' }, expect: 'same' },
  { name: 'priority recorded', rfc: 'keepalived', from: S.INIT, ev: { type: 'priority', priority: 150 }, expect: { priority: 150 }, actions: [] },
  { name: 'fault recorded, INIT kept until startup', rfc: 'keepalived', from: S.INIT, ev: { type: 'fault', reason: 'x' }, expect: { faultReasons: ['x'] }, actions: [] },
  { name: 'fault-cleared removes the reason', rfc: 'keepalived', from: at('INIT', { faultReasons: ['x'] }), ev: { type: 'fault-cleared', reason: 'x' }, expect: { faultReasons: [] }, actions: [] },
  { name: 'fault-cleared of an unknown reason ignored', rfc: 'robustness', from: S.INIT, ev: { type: 'fault-cleared', reason: 'x' }, expect: 'same' },
  { name: 'shutdown -> STOP', rfc: 'keepalived', from: S.INIT, ev: { type: 'shutdown' }, expect: { state: 'STOP' }, actions: [tr('INIT', 'STOP', 'shutdown')] },
  { name: 'force MASTER ignored', rfc: 'keepalived vrrp_sync_group', from: S.INIT, ev: { type: 'force', to: 'MASTER', reason: 'r' }, expect: 'same' },
  { name: 'force BACKUP ignored', rfc: 'keepalived vrrp_sync_group', from: S.INIT, ev: { type: 'force', to: 'BACKUP', reason: 'r' }, expect: 'same' },
  { name: 'force FAULT recorded like a fault', rfc: 'keepalived vrrp_sync_group', from: S.INIT, ev: { type: 'force', to: 'FAULT', reason: SYNC }, expect: { faultReasons: [SYNC] }, actions: [] },

  // BACKUP (masterDownAt 12000, master PEER)
  { name: 'startup ignored', rfc: 'robustness', from: S.BACKUP, ev: { type: 'startup' }, expect: 'same' },
  { name: 'priority-0 advert -> down timer = Skew', rfc: 'RFC 5798 6.4.2', from: S.BACKUP, ev: adv(PEER, 0), expect: { masterDownAt: NOW + SKEW }, actions: [] },
  { name: 'priority-0 advert never delays an earlier timer', rfc: 'RFC 5798 6.4.2', from: at('BACKUP', { masterDownAt: 10_100 }), ev: adv(PEER, 0), expect: 'same' },
  { name: 'higher advert accepted: timer reset, master recorded', rfc: 'RFC 5798 6.4.2', from: S.BACKUP, ev: adv('192.0.2.30', 200),
    expect: { masterDownAt: NOW + MDI, masterIp: '192.0.2.30' }, actions: [] },
  { name: 'v3 adopts the master interval (2 s)', rfc: 'RFC 5798 6.4.2', from: S.BACKUP, ev: adv(PEER, 200, 200),
    expect: { masterAdverIntCs: 200, masterDownAt: NOW + 7218.75 }, actions: [] },
  { name: 'v3 keeps its interval when the advert carries 0', rfc: 'robustness', from: at('BACKUP', { masterAdverIntCs: 200 }), ev: adv(PEER, 200, 0),
    expect: { masterDownAt: NOW + 7218.75 }, actions: [] },
  { name: 'v2 never adopts the advert interval', rfc: 'RFC 3768 6.4.2', from: S.BACKUP, ev: adv(PEER, 200, 200), cfg: { version: 2 },
    expect: { masterDownAt: NOW + MDI }, actions: [] },
  { name: 'equal-priority advert accepted', rfc: 'RFC 5798 6.4.2', from: S.BACKUP, ev: adv(LOW, 100), expect: { masterDownAt: NOW + MDI, masterIp: LOW }, actions: [] },
  { name: 'lower advert discarded with preempt (timer runs on)', rfc: 'RFC 5798 6.4.2', from: S.BACKUP, ev: adv(LOW, 50), expect: 'same' },
  { name: 'lower advert accepted with nopreempt', rfc: 'RFC 5798 6.4.2', from: S.BACKUP, ev: adv(LOW, 50), cfg: { preempt: false },
    expect: { masterDownAt: NOW + MDI, masterIp: LOW }, actions: [] },
  { name: 'lower advert starts preempt_delay and is accepted', rfc: 'keepalived preempt_delay', from: S.BACKUP, ev: adv(LOW, 50), cfg: { preemptDelayMs: 30_000 },
    expect: { masterDownAt: NOW + MDI, masterIp: LOW, preemptDelayUntil: NOW + 30_000 }, actions: [] },
  { name: 'lower advert accepted while preempt_delay runs', rfc: 'keepalived preempt_delay', from: at('BACKUP', { preemptDelayUntil: NOW + 1 }), ev: adv(LOW, 50), cfg: { preemptDelayMs: 30_000 },
    expect: { masterDownAt: NOW + MDI, masterIp: LOW }, actions: [] },
  { name: 'lower advert discarded once preempt_delay is over', rfc: 'keepalived preempt_delay', from: at('BACKUP', { preemptDelayUntil: NOW }), ev: adv(LOW, 50), cfg: { preemptDelayMs: 30_000 }, expect: 'same' },
  { name: 'higher advert disarms preempt_delay', rfc: 'keepalived preempt_delay', from: at('BACKUP', { preemptDelayUntil: NOW + 5 }), ev: adv(PEER, 200), cfg: { preemptDelayMs: 30_000 },
    expect: { masterDownAt: NOW + MDI, preemptDelayUntil: null }, actions: [] },
  { name: 'own advert looped back ignored', rfc: 'robustness', from: S.BACKUP, ev: adv(OWN, 200), expect: 'same' },
  { name: 'advert priority 256 ignored', rfc: 'RFC 5798 5.2.4', from: S.BACKUP, ev: adv(PEER, 256), expect: 'same' },
  { name: 'advert priority 1.5 ignored', rfc: 'RFC 5798 5.2.4', from: S.BACKUP, ev: adv(PEER, 1.5), expect: 'same' },
  { name: 'down timer fired -> MASTER, advert first', rfc: 'RFC 5798 6.4.2', from: at('BACKUP', { masterAdverIntCs: 200, preemptDelayUntil: 1 }), ev: { type: 'timer' }, now: 12_000,
    expect: { state: 'MASTER', masterAdverIntCs: 100, masterDownAt: null, advertAt: 13_000, preemptDelayUntil: null, masterIp: OWN },
    actions: [send(100), tr('BACKUP', 'MASTER', 'master down timer expired')] },
  { name: 'late down timer -> MASTER, adverts from now', rfc: 'RFC 5798 6.4.2', from: S.BACKUP, ev: { type: 'timer' }, now: 15_000,
    expect: { state: 'MASTER', masterDownAt: null, advertAt: 16_000, masterIp: OWN }, actions: [send(100), tr('BACKUP', 'MASTER', 'master down timer expired')] },
  { name: 'early timer ignored', rfc: 'robustness', from: S.BACKUP, ev: { type: 'timer' }, now: 11_999, expect: 'same' },
  { name: 'priority rise kept, timer untouched', rfc: 'RFC 5798 6.4.2', from: S.BACKUP, ev: { type: 'priority', priority: 150 }, expect: { priority: 150 }, actions: [] },
  { name: 'same priority ignored', rfc: 'robustness', from: S.BACKUP, ev: { type: 'priority', priority: 100 }, expect: 'same' },
  { name: 'priority 255 from a tracker clamped to 254', rfc: 'keepalived', from: S.BACKUP, ev: { type: 'priority', priority: 255 }, expect: { priority: 254 }, actions: [] },
  { name: 'priority 0 clamped to 1', rfc: 'keepalived', from: S.BACKUP, ev: { type: 'priority', priority: 0 }, expect: { priority: 1 }, actions: [] },
  { name: 'priority NaN ignored', rfc: 'robustness', from: S.BACKUP, ev: { type: 'priority', priority: NaN }, expect: 'same' },
  { name: 'fault -> FAULT', rfc: 'keepalived', from: S.BACKUP, ev: { type: 'fault', reason: 'link eth0 down' },
    expect: { state: 'FAULT', masterDownAt: null, masterIp: null, faultReasons: ['link eth0 down'] }, actions: [tr('BACKUP', 'FAULT', 'link eth0 down')] },
  { name: 'fault-cleared of an unknown reason ignored', rfc: 'robustness', from: S.BACKUP, ev: { type: 'fault-cleared', reason: 'x' }, expect: 'same' },
  { name: 'shutdown -> STOP, no advert', rfc: 'RFC 5798 6.4.2', from: S.BACKUP, ev: { type: 'shutdown' },
    expect: { state: 'STOP', masterDownAt: null, masterIp: null }, actions: [tr('BACKUP', 'STOP', 'shutdown')] },
  { name: 'force MASTER -> MASTER, advert first', rfc: 'keepalived vrrp_sync_group', from: S.BACKUP, ev: { type: 'force', to: 'MASTER', reason: 'sync group G1: VI_2 is MASTER' },
    expect: { state: 'MASTER', masterDownAt: null, advertAt: NOW + 1000, masterIp: OWN }, actions: [send(100), tr('BACKUP', 'MASTER', 'sync group G1: VI_2 is MASTER')] },
  { name: 'force BACKUP ignored (already)', rfc: 'keepalived vrrp_sync_group', from: S.BACKUP, ev: { type: 'force', to: 'BACKUP', reason: 'r' }, expect: 'same' },
  { name: 'force FAULT -> FAULT', rfc: 'keepalived vrrp_sync_group', from: S.BACKUP, ev: { type: 'force', to: 'FAULT', reason: SYNC },
    expect: { state: 'FAULT', masterDownAt: null, masterIp: null, faultReasons: [SYNC] }, actions: [tr('BACKUP', 'FAULT', SYNC)] },

  // MASTER (advertAt 10500)
  { name: 'startup ignored', rfc: 'robustness', from: S.MASTER, ev: { type: 'startup' }, expect: 'same' },
  { name: 'priority-0 advert -> advert now', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: adv(PEER, 0), expect: { advertAt: NOW + 1000 }, actions: [send(100)] },
  { name: 'higher advert -> BACKUP', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: adv(PEER, 200),
    expect: { state: 'BACKUP', advertAt: null, masterDownAt: NOW + MDI, masterIp: PEER }, actions: [tr('MASTER', 'BACKUP', 'higher priority advert from 192.0.2.20 (200)')] },
  { name: 'higher advert, v3 2 s interval -> BACKUP with its MDI', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: adv(LOW, 101, 200),
    expect: { state: 'BACKUP', masterAdverIntCs: 200, advertAt: null, masterDownAt: NOW + 7218.75, masterIp: LOW }, actions: [tr('MASTER', 'BACKUP', 'higher priority advert from 192.0.2.5 (101)')] },
  { name: 'equal priority, higher address -> BACKUP', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: adv(PEER, 100),
    expect: { state: 'BACKUP', advertAt: null, masterDownAt: NOW + MDI, masterIp: PEER }, actions: [tr('MASTER', 'BACKUP', 'equal priority advert from higher address 192.0.2.20 (100)')] },
  { name: 'equal priority, lower address -> advert at once', rfc: 'RFC 5798 6.4.3, RFC 9568 6.4.3', from: S.MASTER, ev: adv(LOW, 100), expect: { advertAt: NOW + 1000 }, actions: [send(100)] },
  { name: 'equal priority, other family -> advert at once', rfc: 'robustness', from: S.MASTER, ev: adv('2001:db8::1', 100), expect: { advertAt: NOW + 1000 }, actions: [send(100)] },
  { name: 'lower advert -> advert at once', rfc: 'RFC 9568 6.4.3', from: S.MASTER, ev: adv(PEER, 50), expect: { advertAt: NOW + 1000 }, actions: [send(100)] },
  { name: 'own advert looped back ignored', rfc: 'robustness', from: S.MASTER, ev: adv(OWN, 100), expect: 'same' },
  { name: 'advert timer -> advert, re-armed', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: { type: 'timer' }, now: 10_500, expect: { advertAt: 11_500 }, actions: [send(100)] },
  { name: 'late advert timer -> one advert, re-armed from now', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: { type: 'timer' }, now: 13_000, expect: { advertAt: 14_000 }, actions: [send(100)] },
  { name: 'early timer ignored', rfc: 'robustness', from: S.MASTER, ev: { type: 'timer' }, now: 10_499, expect: 'same' },
  { name: 'priority drop kept, no advert of its own', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: { type: 'priority', priority: 50 }, expect: { priority: 50 }, actions: [] },
  { name: 'owner priority never changed', rfc: 'RFC 5798 5.2.4', from: at('MASTER', { priority: 255 }), ev: { type: 'priority', priority: 100 }, expect: 'same' },
  { name: 'fault -> FAULT, priority 0 first', rfc: 'keepalived', from: S.MASTER, ev: { type: 'fault', reason: 'link eth0 down' },
    expect: { state: 'FAULT', advertAt: null, masterIp: null, faultReasons: ['link eth0 down'] }, actions: [send(0), tr('MASTER', 'FAULT', 'link eth0 down')] },
  { name: 'fault-cleared of an unknown reason ignored', rfc: 'robustness', from: S.MASTER, ev: { type: 'fault-cleared', reason: 'x' }, expect: 'same' },
  { name: 'shutdown -> STOP, priority 0 first', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: { type: 'shutdown' },
    expect: { state: 'STOP', advertAt: null, masterIp: null }, actions: [send(0), tr('MASTER', 'STOP', 'shutdown')] },
  { name: 'force MASTER ignored (already)', rfc: 'keepalived vrrp_sync_group', from: S.MASTER, ev: { type: 'force', to: 'MASTER', reason: 'r' }, expect: 'same' },
  { name: 'force BACKUP -> BACKUP with the down timer', rfc: 'keepalived vrrp_sync_group', from: S.MASTER, ev: { type: 'force', to: 'BACKUP', reason: 'sync group G1: VI_2 is BACKUP' },
    expect: { state: 'BACKUP', advertAt: null, masterDownAt: NOW + MDI, masterIp: null }, actions: [tr('MASTER', 'BACKUP', 'sync group G1: VI_2 is BACKUP')] },
  { name: 'force FAULT -> FAULT, priority 0 first', rfc: 'keepalived vrrp_sync_group', from: S.MASTER, ev: { type: 'force', to: 'FAULT', reason: SYNC },
    expect: { state: 'FAULT', advertAt: null, masterIp: null, faultReasons: [SYNC] }, actions: [send(0), tr('MASTER', 'FAULT', SYNC)] },

  // FAULT (reasons: link eth0 down)
  { name: 'startup ignored', rfc: 'robustness', from: S.FAULT, ev: { type: 'startup' }, expect: 'same' },
  { name: 'advert ignored', rfc: 'keepalived vrrp_check_packet', from: S.FAULT, ev: adv(PEER, 0), expect: 'same' },
  { name: 'timer ignored', rfc: 'robustness', from: S.FAULT, ev: { type: 'timer' }, now: 99_999, expect: 'same' },
  { name: 'priority recorded', rfc: 'keepalived', from: S.FAULT, ev: { type: 'priority', priority: 150 }, expect: { priority: 150 }, actions: [] },
  { name: 'second fault reason added', rfc: 'keepalived', from: S.FAULT, ev: { type: 'fault', reason: 'script chk failed' }, expect: { faultReasons: ['link eth0 down', 'script chk failed'] }, actions: [] },
  { name: 'repeated fault reason ignored', rfc: 'robustness', from: S.FAULT, ev: { type: 'fault', reason: 'link eth0 down' }, expect: 'same' },
  { name: 'last fault cleared -> BACKUP with the down timer', rfc: 'keepalived, RFC 5798 6.4.1', from: at('FAULT', { masterAdverIntCs: 200 }), ev: { type: 'fault-cleared', reason: 'link eth0 down' },
    expect: { state: 'BACKUP', masterAdverIntCs: 100, masterDownAt: NOW + MDI, faultReasons: [] }, actions: [tr('FAULT', 'BACKUP', 'fault cleared: link eth0 down')] },
  { name: 'last fault cleared with preempt_delay arms it', rfc: 'keepalived preempt_delay', from: S.FAULT, ev: { type: 'fault-cleared', reason: 'link eth0 down' }, cfg: { preemptDelayMs: 5000 },
    expect: { state: 'BACKUP', masterDownAt: NOW + MDI, preemptDelayUntil: NOW + 5000, faultReasons: [] }, actions: [tr('FAULT', 'BACKUP', 'fault cleared: link eth0 down')] },
  { name: 'last fault cleared at 255 -> MASTER', rfc: 'keepalived, RFC 5798 6.4.1', from: at('FAULT', { priority: 255 }), ev: { type: 'fault-cleared', reason: 'link eth0 down' },
    expect: { state: 'MASTER', advertAt: NOW + 1000, masterIp: OWN, faultReasons: [] }, actions: [send(255), tr('FAULT', 'MASTER', 'fault cleared: link eth0 down')] },
  { name: 'one of two faults cleared: stays FAULT', rfc: 'keepalived', from: at('FAULT', { faultReasons: ['link eth0 down', SYNC] }), ev: { type: 'fault-cleared', reason: 'link eth0 down' },
    expect: { faultReasons: [SYNC] }, actions: [] },
  { name: 'fault-cleared of an unknown reason ignored', rfc: 'robustness', from: S.FAULT, ev: { type: 'fault-cleared', reason: 'x' }, expect: 'same' },
  { name: 'shutdown -> STOP', rfc: 'keepalived', from: S.FAULT, ev: { type: 'shutdown' }, expect: { state: 'STOP' }, actions: [tr('FAULT', 'STOP', 'shutdown')] },
  { name: 'force MASTER refused', rfc: 'keepalived vrrp_sync_group', from: S.FAULT, ev: { type: 'force', to: 'MASTER', reason: 'r' }, expect: 'same' },
  { name: 'force BACKUP refused', rfc: 'keepalived vrrp_sync_group', from: S.FAULT, ev: { type: 'force', to: 'BACKUP', reason: 'r' }, expect: 'same' },
  { name: 'force FAULT adds the group reason', rfc: 'keepalived vrrp_sync_group', from: S.FAULT, ev: { type: 'force', to: 'FAULT', reason: SYNC },
    expect: { faultReasons: ['link eth0 down', SYNC] }, actions: [] },

  // Holds (boot gate WAITING, maintenance) and step-down (switchover), tandem's additions for issue 5.
  { name: 'hold recorded', rfc: 'tandem hold', from: S.INIT, ev: { type: 'hold', reason: 'maintenance' }, expect: { holdReasons: ['maintenance'] }, actions: [] },
  { name: 'startup at 255 while held -> BACKUP', rfc: 'tandem hold', from: at('INIT', { priority: 255, holdReasons: ['maintenance'] }), ev: { type: 'startup' },
    expect: { state: 'BACKUP', masterDownAt: NOW + 3003.90625 }, actions: [tr('INIT', 'BACKUP', 'startup as address owner (priority 255)')] },
  { name: 'hold-cleared removes the reason', rfc: 'tandem hold', from: at('INIT', { holdReasons: ['maintenance'] }), ev: { type: 'hold-cleared', reason: 'maintenance' }, expect: { holdReasons: [] }, actions: [] },
  { name: 'step-down: yielding from now on', rfc: 'tandem step-down', from: S.INIT, ev: { type: 'step-down', reason: 'r' }, expect: { yielding: true }, actions: [] },
  { name: 'hold recorded, down timer untouched', rfc: 'tandem hold', from: S.BACKUP, ev: { type: 'hold', reason: 'maintenance' }, expect: { holdReasons: ['maintenance'] }, actions: [] },
  { name: 'repeated hold ignored', rfc: 'robustness', from: at('BACKUP', { holdReasons: ['maintenance'] }), ev: { type: 'hold', reason: 'maintenance' }, expect: 'same' },
  { name: 'down timer while held: stays BACKUP, timer re-armed', rfc: 'tandem hold', from: at('BACKUP', { holdReasons: ['boot: waiting for the peer'] }), ev: { type: 'timer' }, now: 12_000,
    expect: { masterDownAt: 12_000 + MDI }, actions: [] },
  { name: 'lower advert while held: accepted (no preempt)', rfc: 'tandem hold', from: at('BACKUP', { holdReasons: ['maintenance'] }), ev: adv(PEER, 50),
    expect: { masterDownAt: NOW + MDI, masterIp: PEER }, actions: [] },
  { name: 'lower advert while yielding: accepted (no preempt)', rfc: 'tandem step-down', from: at('BACKUP', { yielding: true }), ev: adv(PEER, 50),
    expect: { masterDownAt: NOW + MDI, masterIp: PEER }, actions: [] },
  { name: 'down timer while yielding -> MASTER, yielding over', rfc: 'RFC 5798 6.4.2', from: at('BACKUP', { yielding: true }), ev: { type: 'timer' }, now: 12_000,
    expect: { state: 'MASTER', masterDownAt: null, advertAt: 13_000, masterIp: OWN, yielding: false }, actions: [send(100), tr('BACKUP', 'MASTER', 'master down timer expired')] },
  { name: 'force MASTER while held ignored', rfc: 'tandem hold', from: at('BACKUP', { holdReasons: ['maintenance'] }), ev: { type: 'force', to: 'MASTER', reason: 'r' }, expect: 'same' },
  { name: 'last hold cleared: the down timer starts afresh', rfc: 'RFC 5798 6.4.1', from: at('BACKUP', { holdReasons: ['maintenance'] }), ev: { type: 'hold-cleared', reason: 'maintenance' },
    expect: { holdReasons: [], masterDownAt: NOW + MDI }, actions: [] },
  { name: 'one of two holds cleared: still held, timer untouched', rfc: 'tandem hold', from: at('BACKUP', { holdReasons: ['maintenance', 'boot'] }), ev: { type: 'hold-cleared', reason: 'boot' },
    expect: { holdReasons: ['maintenance'] }, actions: [] },
  { name: 'hold-cleared of an unknown reason ignored', rfc: 'robustness', from: S.BACKUP, ev: { type: 'hold-cleared', reason: 'x' }, expect: 'same' },
  { name: 'step-down: yielding', rfc: 'tandem step-down', from: S.BACKUP, ev: { type: 'step-down', reason: 'r' }, expect: { yielding: true }, actions: [] },
  { name: 'step-down while yielding ignored', rfc: 'robustness', from: at('BACKUP', { yielding: true }), ev: { type: 'step-down', reason: 'r' }, expect: 'same' },
  { name: 'hold -> BACKUP, priority 0 first', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: { type: 'hold', reason: 'maintenance' },
    expect: { state: 'BACKUP', advertAt: null, masterDownAt: NOW + MDI, masterIp: null, holdReasons: ['maintenance'] }, actions: [send(0), tr('MASTER', 'BACKUP', 'held: maintenance')] },
  { name: 'hold-cleared of an unknown reason ignored', rfc: 'robustness', from: S.MASTER, ev: { type: 'hold-cleared', reason: 'x' }, expect: 'same' },
  { name: 'step-down -> BACKUP, priority 0 first, yielding', rfc: 'RFC 5798 6.4.3', from: S.MASTER, ev: { type: 'step-down', reason: 'switchover' },
    expect: { state: 'BACKUP', advertAt: null, masterDownAt: NOW + MDI, masterIp: null, yielding: true }, actions: [send(0), tr('MASTER', 'BACKUP', 'switchover')] },
  { name: 'hold recorded', rfc: 'tandem hold', from: S.FAULT, ev: { type: 'hold', reason: 'maintenance' }, expect: { holdReasons: ['maintenance'] }, actions: [] },
  { name: 'last fault cleared at 255 while held -> BACKUP', rfc: 'tandem hold', from: at('FAULT', { priority: 255, holdReasons: ['maintenance'] }), ev: { type: 'fault-cleared', reason: 'link eth0 down' },
    expect: { state: 'BACKUP', masterDownAt: NOW + 3003.90625, faultReasons: [] }, actions: [tr('FAULT', 'BACKUP', 'fault cleared: link eth0 down')] },
  { name: 'hold-cleared removes the reason', rfc: 'tandem hold', from: at('FAULT', { holdReasons: ['maintenance'] }), ev: { type: 'hold-cleared', reason: 'maintenance' }, expect: { holdReasons: [] }, actions: [] },
  { name: 'step-down: yielding', rfc: 'tandem step-down', from: S.FAULT, ev: { type: 'step-down', reason: 'r' }, expect: { yielding: true }, actions: [] },
];

// STOP is absorbing: every event, one row each.
const stopEvents: FsmEvent[] = [
  { type: 'startup' }, adv(PEER, 0), adv(PEER, 200), { type: 'timer' }, { type: 'priority', priority: 50 },
  { type: 'fault', reason: 'x' }, { type: 'fault-cleared', reason: 'x' }, { type: 'shutdown' },
  { type: 'force', to: 'MASTER', reason: 'r' }, { type: 'force', to: 'BACKUP', reason: 'r' }, { type: 'force', to: 'FAULT', reason: 'r' },
  { type: 'hold', reason: 'x' }, { type: 'hold-cleared', reason: 'x' }, { type: 'step-down', reason: 'x' },
];
for (const ev of stopEvents) rows.push({ name: `${ev.type} ignored`, rfc: 'keepalived', from: S.STOP, ev, expect: 'same' });

const eventKey = (ev: FsmEvent): string => (ev.type === 'force' ? `force:${ev.to}` : ev.type);

describe('vrrp/fsm transition table', () => {
  for (const row of rows) {
    it(`${row.from.state}: ${row.name} [${row.rfc}]`, () => {
      const cfg = { ...CFG, ...row.cfg };
      const r = step(row.from, cfg, row.ev, row.now ?? NOW);
      if (row.expect === 'same') {
        expect(r.fsm).to.equal(row.from);
        expect(r.actions).to.deep.equal([]);
        return;
      }
      expect(r.fsm).to.not.equal(row.from);
      expect(r.fsm).to.deep.equal({ ...row.from, ...row.expect });
      expect(r.actions).to.deep.equal(row.actions);
    });
  }

  it('covers every state x event pair', () => {
    const seen = new Set(rows.map((r) => `${r.from.state} ${eventKey(r.ev)}`));
    const keys = ['startup', 'advert', 'timer', 'priority', 'fault', 'fault-cleared', 'shutdown', 'force:MASTER', 'force:BACKUP', 'force:FAULT', 'hold', 'hold-cleared', 'step-down'];
    const missing = VRRP_STATES.flatMap((s) => keys.map((k) => `${s} ${k}`)).filter((k) => !seen.has(k));
    expect(missing).to.deep.equal([]);
  });
});

describe('vrrp/fsm initFsm and nextDeadline', () => {
  it('initFsm is INIT with the configured interval and nothing armed', () => {
    expect(initFsm({ ...CFG, advertIntCs: 250 }, 120)).to.deep.equal({ ...blank, priority: 120, masterAdverIntCs: 250 });
  });
  it('initFsm keeps 255 and clamps nonsense into 1..255', () => {
    expect(initFsm(CFG, 255).priority).to.equal(255);
    expect(initFsm(CFG, 300).priority).to.equal(255);
    expect(initFsm(CFG, 0).priority).to.equal(1);
    expect(initFsm(CFG, NaN).priority).to.equal(1);
  });
  it('the deadline is the down timer in BACKUP, the advert timer in MASTER, none elsewhere', () => {
    expect(nextDeadline(S.BACKUP)).to.equal(12_000);
    expect(nextDeadline(S.MASTER)).to.equal(10_500);
    expect(nextDeadline(S.INIT)).to.equal(null);
    expect(nextDeadline(S.STOP)).to.equal(null);
    // A stray field outside its state is never a deadline (a timer there does nothing).
    expect(nextDeadline(at('FAULT', { masterDownAt: 5 }))).to.equal(null);
  });
  it('an unknown event type from an untyped caller is a no-op', () => {
    const bogus = { type: 'bogus' } as unknown as FsmEvent;
    for (const s of VRRP_STATES) {
      const r = step(S[s], CFG, bogus, NOW);
      expect(r.fsm).to.equal(S[s]);
      expect(r.actions).to.deep.equal([]);
    }
  });
});
