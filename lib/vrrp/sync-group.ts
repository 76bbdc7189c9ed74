// vrrp_sync_group (keepalived; RFC 5798 has no groups): the members move
// together. Pure: the driver passes every member's current snapshot and the
// transition that just happened, and feeds the returned events to the other
// members with step(). The table is in docs/vrrp-state-machine.md.
import type { FsmEvent, VrrpState } from './fsm/types.js';

export interface SyncMember {
  name: string;
  state: VrrpState;
  faultReasons: readonly string[];
}

export interface MemberTransition {
  member: string;
  from: VrrpState;
  to: VrrpState;
  reason: string; // the transition action's reason
}

export interface SyncEvent {
  member: string;
  event: FsmEvent;
}

export function syncReasonPrefix(group: string): string {
  return `sync group ${group}: `;
}

// The fault reason a member holds while another member has a fault of its own.
export function syncFaultReason(group: string, member: string): string {
  return `${syncReasonPrefix(group)}${member} is FAULT`;
}

function isSyncFault(group: string, reason: string): boolean {
  return reason.startsWith(syncReasonPrefix(group)) && reason.endsWith(' is FAULT');
}

// A transition this group caused: forced ones never start a new round, so
// members cannot drive each other back and forth.
export function isSyncGroupReason(group: string, reason: string): boolean {
  return reason.startsWith(syncReasonPrefix(group)) || reason.startsWith(`fault cleared: ${syncReasonPrefix(group)}`);
}

// A fault that is the member's own (a link, a weight-0 tracker), not one the group put there.
export function hasOwnFault(group: string, m: SyncMember): boolean {
  return m.state !== 'STOP' && m.faultReasons.some((r) => !isSyncFault(group, r));
}

// Every member holds "sync group G: X is FAULT" exactly for each other member
// X with a fault of its own. Derived from the own faults only (which the
// group never changes), so it converges in one round and never deadlocks on
// two members holding each other's reasons.
function faultEvents(group: string, members: readonly SyncMember[]): SyncEvent[] {
  const origins = members.filter((m) => hasOwnFault(group, m)).map((m) => m.name);
  const out: SyncEvent[] = [];
  for (const m of members) {
    if (m.state === 'STOP') continue; // STOP ignores everything
    const want = origins.filter((o) => o !== m.name).map((o) => syncFaultReason(group, o));
    const have = m.faultReasons.filter((r) => isSyncFault(group, r));
    for (const r of want) {
      if (!have.includes(r)) out.push({ member: m.name, event: { type: 'force', to: 'FAULT', reason: r } });
    }
    for (const r of have) {
      if (!want.includes(r)) out.push({ member: m.name, event: { type: 'fault-cleared', reason: r } });
    }
  }
  return out;
}

// Call after every step() of a member that changed it (a transition, or a
// fault reason added or cleared without one): `members` are the snapshots
// after that step, `change` its transition action or null.
export function syncGroupEvents(group: string, members: readonly SyncMember[], change: MemberTransition | null): SyncEvent[] {
  const out = faultEvents(group, members);
  if (change === null || isSyncGroupReason(group, change.reason)) return out;
  const others = members.filter((m) => m.name !== change.member);
  if (change.to === 'MASTER') {
    // keepalived: one member MASTER -> the group is MASTER (FAULT members cannot be forced).
    const reason = `${syncReasonPrefix(group)}${change.member} is MASTER`;
    for (const m of others) if (m.state === 'BACKUP') out.push({ member: m.name, event: { type: 'force', to: 'MASTER', reason } });
  } else if (change.from === 'MASTER' && change.to === 'BACKUP') {
    // RFC 5798 6.4.3 lost the election on one member -> the whole group steps down.
    const reason = `${syncReasonPrefix(group)}${change.member} is BACKUP`;
    for (const m of others) if (m.state === 'MASTER') out.push({ member: m.name, event: { type: 'force', to: 'BACKUP', reason } });
  }
  return out;
}
