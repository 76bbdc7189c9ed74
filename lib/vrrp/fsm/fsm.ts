// The VRRP instance state machine: pure, clock injected, never throws. One
// function per event; the transition table is in docs/vrrp-state-machine.md.
import { onAdvertBackup, onAdvertMaster, isOwnAddress } from './advert.js';
import { advertIntervalMs, enterBackupFromMaster, enterFault, enterMaster, enterStop, releaseToBackup, startFresh } from './enter.js';
import { configuredIntervalCs, masterDownIntervalMs } from './timers.js';
import { OWNER_PRIORITY } from './types.js';
import type { Fsm, FsmConfig, FsmEvent, StepResult } from './types.js';

export function initFsm(cfg: FsmConfig, priority: number): Fsm {
  return {
    state: 'INIT',
    priority: Number.isFinite(priority) ? Math.min(OWNER_PRIORITY, Math.max(1, Math.round(priority))) : 1,
    masterAdverIntCs: configuredIntervalCs(cfg.advertIntCs), // RFC 5798 6.4.1
    masterDownAt: null,
    advertAt: null,
    preemptDelayUntil: null,
    masterIp: null,
    faultReasons: [],
    holdReasons: [],
    yielding: false,
  };
}

// The one timer the driver must arm: the down timer in BACKUP, the advert
// timer in MASTER, none elsewhere (a timer event there would do nothing).
export function nextDeadline(fsm: Fsm): number | null {
  if (fsm.state === 'BACKUP') return fsm.masterDownAt;
  if (fsm.state === 'MASTER') return fsm.advertAt;
  return null;
}

function same(fsm: Fsm): StepResult {
  return { fsm, actions: [] };
}

// Transition reasons end up in logs and notify scripts: never empty.
function readable(reason: string, fallback: string): string {
  return typeof reason === 'string' && reason.trim() !== '' ? reason : `${fallback} (no reason given)`;
}

export function step(fsm: Fsm, cfg: FsmConfig, ev: FsmEvent, now: number): StepResult {
  if (fsm.state === 'STOP') return same(fsm); // STOP is absorbing
  switch (ev.type) {
    case 'startup': return onStartup(fsm, cfg, now);
    case 'advert': return onAdvert(fsm, cfg, ev, now);
    case 'timer': return onTimer(fsm, cfg, now);
    case 'priority': return onPriority(fsm, ev.priority);
    case 'fault': return onFault(fsm, ev.reason, readable(ev.reason, 'fault'));
    case 'fault-cleared': return onFaultCleared(fsm, cfg, ev.reason, now);
    case 'shutdown': return enterStop(fsm, 'shutdown');
    case 'force': return onForce(fsm, cfg, ev.to, ev.reason, now);
    case 'hold': return onHold(fsm, cfg, ev.reason, now);
    case 'hold-cleared': return onHoldCleared(fsm, cfg, ev.reason, now);
    case 'step-down': return onStepDown(fsm, cfg, readable(ev.reason, 'step down'), now);
    default: return same(fsm); // an unknown event from an untyped caller
  }
}

function onStartup(fsm: Fsm, cfg: FsmConfig, now: number): StepResult {
  if (fsm.state !== 'INIT') return same(fsm);
  if (fsm.faultReasons.length > 0) {
    return enterFault(fsm, fsm.faultReasons, `startup with fault: ${fsm.faultReasons.map((r) => readable(r, 'fault')).join('; ')}`);
  }
  // RFC 5798 6.4.1; keepalived: `state MASTER` below 255 still waits the full down interval.
  let reason = 'startup';
  if (fsm.priority === OWNER_PRIORITY) reason = 'startup as address owner (priority 255)';
  else if (cfg.initialState === 'MASTER') reason = 'startup (state MASTER waits for the master down timer)';
  return startFresh(fsm, cfg, now, reason);
}

function onAdvert(fsm: Fsm, cfg: FsmConfig, ev: Extract<FsmEvent, { type: 'advert' }>, now: number): StepResult {
  // RFC 5798 5.2.4: priority is an octet; anything else is not an advert.
  if (!Number.isInteger(ev.priority) || ev.priority < 0 || ev.priority > 255) return same(fsm);
  if (typeof ev.src !== 'string' || isOwnAddress(ev.src, cfg)) return same(fsm); // our own advert looped back
  if (fsm.state === 'BACKUP') return onAdvertBackup(fsm, cfg, ev, now);
  if (fsm.state === 'MASTER') return onAdvertMaster(fsm, cfg, ev, now);
  return same(fsm); // INIT and FAULT ignore adverts (keepalived vrrp_check_packet)
}

function onTimer(fsm: Fsm, cfg: FsmConfig, now: number): StepResult {
  const due = nextDeadline(fsm);
  if (due === null || now < due) return same(fsm);
  // RFC 5798 6.4.2: Master_Down_Timer fired.
  if (fsm.state === 'BACKUP') {
    // Held (boot gate, maintenance): no master heard, but we must not serve; look again after MDI.
    if (fsm.holdReasons.length > 0) return { fsm: { ...fsm, masterDownAt: now + masterDownIntervalMs(cfg.version, fsm.priority, fsm.masterAdverIntCs) }, actions: [] };
    return enterMaster(fsm, cfg, now, 'master down timer expired');
  }
  // RFC 5798 6.4.3: Adver_Timer fired; re-arm from now so a late timer does not burst.
  return {
    fsm: { ...fsm, advertAt: now + advertIntervalMs(cfg) },
    actions: [{ type: 'send-advert', priority: fsm.priority }],
  };
}

// Trackers change the priority; the new value counts from the next advert
// sent or received (RFC 5798 6.4.2 compares at receipt). The owner's 255 is
// fixed and trackers cannot produce 255 (tracking.ts clamps to 1..254).
function onPriority(fsm: Fsm, priority: number): StepResult {
  if (fsm.priority === OWNER_PRIORITY || !Number.isFinite(priority)) return same(fsm);
  const p = Math.min(OWNER_PRIORITY - 1, Math.max(1, Math.round(priority)));
  return p === fsm.priority ? same(fsm) : { fsm: { ...fsm, priority: p }, actions: [] };
}

// Faults are a set of reasons; INIT only records them (startup then goes FAULT),
// BACKUP and MASTER leave for FAULT, FAULT adds the reason.
function onFault(fsm: Fsm, reason: string, transitionReason: string): StepResult {
  if (fsm.faultReasons.includes(reason)) return same(fsm);
  const faultReasons = [...fsm.faultReasons, reason];
  if (fsm.state === 'BACKUP' || fsm.state === 'MASTER') return enterFault(fsm, faultReasons, transitionReason);
  return { fsm: { ...fsm, faultReasons }, actions: [] };
}

function onFaultCleared(fsm: Fsm, cfg: FsmConfig, reason: string, now: number): StepResult {
  if (!fsm.faultReasons.includes(reason)) return same(fsm);
  const faultReasons = fsm.faultReasons.filter((r) => r !== reason);
  const next: Fsm = { ...fsm, faultReasons };
  // Leaving FAULT is a restart: BACKUP with the down timer, or MASTER at 255.
  if (fsm.state === 'FAULT' && faultReasons.length === 0) {
    return startFresh(next, cfg, now, `fault cleared: ${readable(reason, 'fault')}`);
  }
  return { fsm: next, actions: [] };
}

// Sync-group decisions (keepalived vrrp_sync_group): they move a member along
// with the group, but never out of FAULT or INIT.
function onForce(fsm: Fsm, cfg: FsmConfig, to: string, key: string, now: number): StepResult {
  const reason = readable(key, 'sync group');
  if (to === 'FAULT') return onFault(fsm, key, reason);
  if (to === 'MASTER' && fsm.state === 'BACKUP' && fsm.holdReasons.length === 0) return enterMaster(fsm, cfg, now, reason);
  if (to === 'BACKUP' && fsm.state === 'MASTER') {
    return enterBackupFromMaster(fsm, cfg, now, configuredIntervalCs(cfg.advertIntCs), null, reason);
  }
  return same(fsm);
}

// Holds are a set of reasons, like faults. A MASTER steps down with priority 0
// (RFC 5798 6.4.3 Shutdown, so the peer takes over after Skew_Time); INIT and
// FAULT only record the reason, and the restart they lead to goes BACKUP.
function onHold(fsm: Fsm, cfg: FsmConfig, reason: string, now: number): StepResult {
  if (fsm.holdReasons.includes(reason)) return same(fsm);
  const next: Fsm = { ...fsm, holdReasons: [...fsm.holdReasons, reason] };
  if (fsm.state === 'MASTER') return releaseToBackup(next, cfg, now, `held: ${readable(reason, 'hold')}`);
  return { fsm: next, actions: [] };
}

// Clearing the last hold restarts a BACKUP's down timer, as a start does (RFC 5798 6.4.1): two
// nodes released together then race by Skew_Time, so the higher priority wins.
function onHoldCleared(fsm: Fsm, cfg: FsmConfig, reason: string, now: number): StepResult {
  if (!fsm.holdReasons.includes(reason)) return same(fsm);
  const holdReasons = fsm.holdReasons.filter((r) => r !== reason);
  if (fsm.state !== 'BACKUP' || holdReasons.length > 0) return { fsm: { ...fsm, holdReasons }, actions: [] };
  return { fsm: { ...fsm, holdReasons, masterDownAt: now + masterDownIntervalMs(cfg.version, fsm.priority, fsm.masterAdverIntCs) }, actions: [] };
}

// A clean hand-over: the MASTER sends priority 0 and goes BACKUP; from then on
// it does not preempt (failback is manual, as in ESC) until it is MASTER again.
function onStepDown(fsm: Fsm, cfg: FsmConfig, reason: string, now: number): StepResult {
  if (fsm.state === 'MASTER') return releaseToBackup({ ...fsm, yielding: true }, cfg, now, reason);
  if (fsm.yielding || fsm.state === 'STOP') return same(fsm);
  return { fsm: { ...fsm, yielding: true }, actions: [] };
}
