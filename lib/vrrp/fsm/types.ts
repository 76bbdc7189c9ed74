// Types of the pure VRRP instance state machine (RFC 5798 / RFC 9568 section
// 6.4, with keepalived's FAULT and STOP states). The driver owns sockets and
// timers; it feeds FsmEvents to step() and carries out the FsmActions.

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export const VRRP_STATES: readonly VrrpState[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'];

export interface FsmConfig {
  version: 2 | 3;
  advertIntCs: number; // configured advert interval, centiseconds (v2 is whole seconds*100)
  preempt: boolean; // false = keepalived nopreempt
  preemptDelayMs: number;
  primaryIp: string; // this node's source address, for the equal-priority tie-break (RFC 5798 6.4.3)
  initialState: 'BACKUP' | 'MASTER';
}

// An immutable snapshot; step() returns a new one (or the same object when
// the event changes nothing).
export interface Fsm {
  state: VrrpState;
  priority: number; // effective priority in use (1..255; 255 = owner)
  masterAdverIntCs: number; // v3 learns it from the MASTER's adverts (RFC 5798 6.4.2); v2 = configured
  masterDownAt: number | null; // ms, absolute (same clock as `now`); set only in BACKUP
  advertAt: number | null; // ms, next advert; set only in MASTER
  // ms, absolute: until then a BACKUP accepts lower-priority adverts instead
  // of preempting. May lie in the past (= expired); never a timer deadline.
  preemptDelayUntil: number | null;
  masterIp: string | null; // source of the last accepted advert, or own primaryIp while MASTER
  faultReasons: string[]; // non-empty while FAULT is requested
  // Non-empty: never become MASTER (boot gate WAITING, maintenance); a MASTER steps down.
  holdReasons: string[];
  // After a step-down (switchover, a failed takeover): do not preempt until MASTER again.
  yielding: boolean;
}

export type FsmEvent =
  | { type: 'startup' } // INIT -> BACKUP/MASTER/FAULT
  | { type: 'advert'; src: string; priority: number; advertIntCs: number } // an advert that passed checks
  | { type: 'timer' } // the driver calls this when now >= nextDeadline
  | { type: 'priority'; priority: number } // effective priority changed (trackers)
  | { type: 'fault'; reason: string }
  | { type: 'fault-cleared'; reason: string }
  | { type: 'shutdown' } // -> STOP
  | { type: 'hold'; reason: string } // stay out of MASTER until every hold is cleared
  | { type: 'hold-cleared'; reason: string }
  | { type: 'step-down'; reason: string } // hand MASTER to a peer (priority 0) and stop preempting
  | { type: 'force'; to: 'MASTER' | 'BACKUP' | 'FAULT'; reason: string }; // sync-group decisions

export type FsmEventType = FsmEvent['type'];

export type FsmAction =
  | { type: 'send-advert'; priority: number }
  | { type: 'transition'; from: VrrpState; to: VrrpState; reason: string };

export interface StepResult {
  fsm: Fsm;
  actions: FsmAction[];
}

// Priority 255 marks the address owner (RFC 5798 5.2.4); 0 means "stopped
// being MASTER" on the wire and is never an instance's own priority.
export const OWNER_PRIORITY = 255;
export const RELEASE_PRIORITY = 0;
