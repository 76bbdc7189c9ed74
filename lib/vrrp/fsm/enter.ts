// Entering a state: the field resets and the ordered actions for each target
// state, shared by every event that leads there (see docs/vrrp-state-machine.md).
import { configuredIntervalCs, masterDownIntervalMs } from './timers.js';
import { OWNER_PRIORITY, RELEASE_PRIORITY } from './types.js';
import type { Fsm, FsmAction, FsmConfig, StepResult, VrrpState } from './types.js';

export function transition(from: VrrpState, to: VrrpState, reason: string): FsmAction {
  return { type: 'transition', from, to, reason };
}

export function advertIntervalMs(cfg: FsmConfig): number {
  return configuredIntervalCs(cfg.advertIntCs) * 10;
}

// RFC 5798 6.4.1 / 6.4.2: send the first advert before the transition, so the
// driver announces itself before adding the VIPs (keepalived's order).
export function enterMaster(fsm: Fsm, cfg: FsmConfig, now: number, reason: string): StepResult {
  const next: Fsm = {
    ...fsm,
    state: 'MASTER',
    masterAdverIntCs: configuredIntervalCs(cfg.advertIntCs),
    masterDownAt: null,
    advertAt: now + advertIntervalMs(cfg),
    preemptDelayUntil: null,
    masterIp: cfg.primaryIp,
    yielding: false,
  };
  return {
    fsm: next,
    actions: [{ type: 'send-advert', priority: fsm.priority }, transition(fsm.state, 'MASTER', reason)],
  };
}

// RFC 5798 6.4.1: a (re)start from INIT or FAULT goes BACKUP with
// Master_Adver_Interval = Advertisement_Interval and the full down timer;
// it also arms preempt_delay ("seconds after startup").
function enterBackupFresh(fsm: Fsm, cfg: FsmConfig, now: number, reason: string): StepResult {
  const mai = configuredIntervalCs(cfg.advertIntCs);
  const next: Fsm = {
    ...fsm,
    state: 'BACKUP',
    masterAdverIntCs: mai,
    masterDownAt: now + masterDownIntervalMs(cfg.version, fsm.priority, mai),
    advertAt: null,
    preemptDelayUntil: cfg.preempt && cfg.preemptDelayMs > 0 ? now + cfg.preemptDelayMs : null,
    masterIp: null,
  };
  return { fsm: next, actions: [transition(fsm.state, 'BACKUP', reason)] };
}

// RFC 5798 6.4.1: the owner (255) goes MASTER at once, anyone else BACKUP.
// A held instance (boot gate, maintenance) goes BACKUP even as the owner.
export function startFresh(fsm: Fsm, cfg: FsmConfig, now: number, reason: string): StepResult {
  if (fsm.priority === OWNER_PRIORITY && fsm.holdReasons.length === 0) return enterMaster(fsm, cfg, now, reason);
  return enterBackupFresh(fsm, cfg, now, reason);
}

// RFC 5798 6.4.3: MASTER -> BACKUP, down timer computed with the new master's
// interval (v3) and our own priority.
export function enterBackupFromMaster(
  fsm: Fsm,
  cfg: FsmConfig,
  now: number,
  masterAdverIntCs: number,
  masterIp: string | null,
  reason: string,
): StepResult {
  const next: Fsm = {
    ...fsm,
    state: 'BACKUP',
    masterAdverIntCs,
    masterDownAt: now + masterDownIntervalMs(cfg.version, fsm.priority, masterAdverIntCs),
    advertAt: null,
    preemptDelayUntil: null,
    masterIp,
  };
  return { fsm: next, actions: [transition('MASTER', 'BACKUP', reason)] };
}

// A MASTER handing over (hold, step-down): priority 0 first, so the peer takes
// over after Skew_Time (RFC 5798 6.4.3), then BACKUP with the full down timer.
export function releaseToBackup(fsm: Fsm, cfg: FsmConfig, now: number, reason: string): StepResult {
  const r = enterBackupFromMaster(fsm, cfg, now, configuredIntervalCs(cfg.advertIntCs), null, reason);
  return { fsm: r.fsm, actions: [{ type: 'send-advert', priority: RELEASE_PRIORITY }, ...r.actions] };
}

// A MASTER that stops serving tells the backups with priority 0 first
// (RFC 5798 6.4.3 Shutdown) so they take over after Skew_Time, not MDI.
function releaseActions(fsm: Fsm, to: VrrpState, reason: string): FsmAction[] {
  const t = transition(fsm.state, to, reason);
  return fsm.state === 'MASTER' ? [{ type: 'send-advert', priority: RELEASE_PRIORITY }, t] : [t];
}

function cleared(fsm: Fsm): Fsm {
  return { ...fsm, masterDownAt: null, advertAt: null, preemptDelayUntil: null, masterIp: null };
}

export function enterFault(fsm: Fsm, faultReasons: string[], reason: string): StepResult {
  return { fsm: { ...cleared(fsm), state: 'FAULT', faultReasons }, actions: releaseActions(fsm, 'FAULT', reason) };
}

export function enterStop(fsm: Fsm, reason: string): StepResult {
  return { fsm: { ...cleared(fsm), state: 'STOP' }, actions: releaseActions(fsm, 'STOP', reason) };
}
