// What the conductor needs from an election (architecture.md: "the election
// is an interface"): VRRP today (vrrp-election.ts), an etcd lease later. The
// election decides the role and reports it; the conductor only asks it to
// hold back, step down or fault, and whether the peer has been heard.
import type { VrrpState } from '../vrrp/fsm/types.js';

export type ElectionRole = VrrpState; // MASTER / BACKUP / FAULT / STOP (and INIT before the first decision)

export interface Election {
  readonly group: string; // the name in status and events (the VRRP instance)
  role(): ElectionRole;
  // A reason to stay out of MASTER (boot gate, maintenance); a MASTER steps down with priority 0.
  hold(reason: string, on: boolean): void;
  // Hand MASTER to the peer and stop preempting until MASTER again (switchover, a failed takeover).
  stepDown(reason: string): void;
  // FAULT while set (a failed takeover, a spent restart budget).
  fault(reason: string, on: boolean): void;
  // The peer's election messages have been received since start.
  peerHeard(): boolean;
  // The address of the current MASTER as the election sees it (ourselves while MASTER), if known.
  masterAddress(): string | null;
  ownAddress(): string;
}
