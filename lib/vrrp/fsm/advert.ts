// What BACKUP and MASTER do with an advert that passed the receive checks
// (RFC 5798 / RFC 9568 6.4.2 and 6.4.3, plus keepalived's preempt_delay).
import { compareIp } from '../../net/ip-address.js';
import { configuredIntervalCs, isValidAdverIntCs, masterDownIntervalMs, skewMs } from './timers.js';
import { advertIntervalMs, enterBackupFromMaster } from './enter.js';
import type { Fsm, FsmConfig, StepResult } from './types.js';

export interface Advert {
  src: string;
  priority: number;
  advertIntCs: number;
}

// compareIp throws on mixed families or garbage; the machine must not.
export function safeCompareIp(a: string, b: string): number | null {
  try {
    return compareIp(a, b);
  } catch {
    return null;
  }
}

export function isOwnAddress(src: string, cfg: FsmConfig): boolean {
  return src === cfg.primaryIp || safeCompareIp(src, cfg.primaryIp) === 0;
}

// v3 adopts the master's interval (RFC 5798 6.4.2); v2 intervals must match
// (the receiver drops mismatches), so v2 always uses its own.
function learnedIntervalCs(fsm: Fsm, cfg: FsmConfig, adv: Advert): number {
  if (cfg.version === 2) return configuredIntervalCs(cfg.advertIntCs);
  return isValidAdverIntCs(adv.advertIntCs) ? adv.advertIntCs : fsm.masterAdverIntCs;
}

export function onAdvertBackup(fsm: Fsm, cfg: FsmConfig, adv: Advert, now: number): StepResult {
  if (adv.priority === 0) {
    // RFC 5798 6.4.2: the master left; take over after Skew_Time. Never later
    // than an armed timer, so repeated priority-0 adverts cannot hold us off.
    const at = now + skewMs(cfg.version, fsm.priority, fsm.masterAdverIntCs);
    if (fsm.masterDownAt !== null && fsm.masterDownAt <= at) return { fsm, actions: [] };
    return { fsm: { ...fsm, masterDownAt: at }, actions: [] };
  }
  const lower = adv.priority < fsm.priority;
  // Held or yielding after a step-down: a lower master is accepted, as with nopreempt.
  const preempt = cfg.preempt && !fsm.yielding && fsm.holdReasons.length === 0;
  let preemptDelayUntil = fsm.preemptDelayUntil;
  if (preempt && lower) {
    if (cfg.preemptDelayMs <= 0) return { fsm, actions: [] }; // RFC 5798 6.4.2: discard, let the timer run out
    // keepalived preempt_delay: first sight of a lower master starts the delay.
    if (preemptDelayUntil === null) preemptDelayUntil = now + cfg.preemptDelayMs;
    else if (now >= preemptDelayUntil) return { fsm, actions: [] }; // delay over: preempt
  } else if (!lower) {
    preemptDelayUntil = null; // a master we would not preempt: the next lower one restarts the delay
  }
  // RFC 5798 6.4.2: accept - reset the down timer with the master's interval.
  const mai = learnedIntervalCs(fsm, cfg, adv);
  const next: Fsm = {
    ...fsm,
    masterAdverIntCs: mai,
    masterDownAt: now + masterDownIntervalMs(cfg.version, fsm.priority, mai),
    preemptDelayUntil,
    masterIp: adv.src,
  };
  return { fsm: next, actions: [] };
}

// RFC 5798 6.4.3: higher priority, or equal priority and a higher primary
// address (unsigned compare), wins. An uncomparable address never wins.
function winsOverUs(fsm: Fsm, cfg: FsmConfig, adv: Advert): string | null {
  if (adv.priority > fsm.priority) return `higher priority advert from ${adv.src} (${adv.priority})`;
  if (adv.priority === fsm.priority && (safeCompareIp(adv.src, cfg.primaryIp) ?? 0) > 0) {
    return `equal priority advert from higher address ${adv.src} (${adv.priority})`;
  }
  return null;
}

export function onAdvertMaster(fsm: Fsm, cfg: FsmConfig, adv: Advert, now: number): StepResult {
  const reason = adv.priority === 0 ? null : winsOverUs(fsm, cfg, adv);
  if (reason !== null) return enterBackupFromMaster(fsm, cfg, now, learnedIntervalCs(fsm, cfg, adv), adv.src, reason);
  // RFC 5798 6.4.3 (priority 0) and RFC 9568 6.4.3 (lower priority): answer at
  // once so the other side sees us now, and restart the advert timer.
  return {
    fsm: { ...fsm, advertAt: now + advertIntervalMs(cfg) },
    actions: [{ type: 'send-advert', priority: fsm.priority }],
  };
}
