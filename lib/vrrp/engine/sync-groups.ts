// Applies the pure sync-group rules (../sync-group.ts) to live instances:
// after a member changes, the events the rules return are fed to the other
// members. Also derives each group's own state for GROUP notifications.
import type { SyncGroupConfig } from '../../config/types.js';
import type { VrrpState } from '../fsm/types.js';
import { syncGroupEvents, type MemberTransition } from '../sync-group.js';
import type { VrrpInstance } from './instance.js';

export type GroupTransition = (group: SyncGroupConfig, from: VrrpState, to: VrrpState) => void;

// keepalived reports a group FAULT if any member is, MASTER once all are.
// STOP comes only at shutdown and never goes back: a group whose members
// stop one by one is STOPped, never BACKUP (notify_backup) on the way.
export function groupState(states: readonly VrrpState[]): VrrpState {
  if (states.includes('STOP')) return 'STOP';
  if (states.includes('FAULT')) return 'FAULT';
  if (states.every((s) => s === 'MASTER')) return 'MASTER';
  if (states.includes('INIT')) return 'INIT';
  return 'BACKUP';
}

export class SyncGroups {
  private readonly groupOf = new Map<string, SyncGroupConfig>();
  private readonly last = new Map<string, VrrpState>();

  constructor(
    groups: readonly SyncGroupConfig[],
    private readonly instances: ReadonlyMap<string, VrrpInstance>,
    private readonly onGroupTransition: GroupTransition,
  ) {
    for (const g of groups) {
      for (const m of g.members) this.groupOf.set(m, g);
      this.last.set(g.name, 'INIT');
    }
  }

  groupName(member: string): string | null {
    return this.groupOf.get(member)?.name ?? null;
  }

  // A member stepped: `change` is its transition, or null when only its fault reasons changed.
  // `stopping`: the daemon is shutting down; members are not moved, the group state still is.
  onMemberChange(member: string, change: MemberTransition | null, stopping = false): void {
    const g = this.groupOf.get(member);
    if (g === undefined) return;
    if (!stopping) this.applyRules(g, change);
    const now = groupState(g.members.map((name) => this.instances.get(name)?.snapshot.state ?? 'INIT'));
    const before = this.last.get(g.name) ?? 'INIT';
    if (now !== before) {
      this.last.set(g.name, now);
      this.onGroupTransition(g, before, now);
    }
  }

  private applyRules(g: SyncGroupConfig, change: MemberTransition | null): void {
    const members = g.members.flatMap((name) => {
      const i = this.instances.get(name);
      return i ? [{ name, state: i.snapshot.state, faultReasons: i.snapshot.faultReasons }] : [];
    });
    for (const { member: target, event } of syncGroupEvents(g.name, members, change)) {
      this.instances.get(target)?.handle(event);
    }
  }
}
