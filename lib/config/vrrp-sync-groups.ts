// vrrp.sync_groups (keepalived's vrrp_sync_group): instances that go MASTER
// together and leave together. Written as `G1: [VI_1, VI_2]` or as
// `G1: { group: [VI_1, VI_2], notify_master: ... }`.
import { Fields, isMapping, mapping } from './checks.js';
import { listChoices, type Issues } from './issues.js';
import { isObjectName, objectName } from './names.js';
import type { KeyPath } from './path.js';
import { renderPath } from './path.js';
import { checkKeys, didYouMean } from './suggest.js';
import type { NotifyConfig, SyncGroupConfig } from './types.js';
import { NOTIFY_KEYS, readNotify } from './vrrp-instance.js';

export const SYNC_GROUP_KEYS = ['group', ...NOTIFY_KEYS] as const;
// One member would fail over alone, which a plain instance already does: such
// a group is almost always a typo or a half-finished edit, so it is refused.
export const MIN_MEMBERS = 2;

export function readSyncGroups(raw: unknown, at: KeyPath, instances: readonly string[], issues: Issues): SyncGroupConfig[] {
  if (raw === undefined) return [];
  const groups = mapping(raw, at, issues, 'group name -> [instance, ...] or { group: [...], notify... }');
  if (groups === undefined) return [];
  const owner = new Map<string, KeyPath>(); // instance -> where it was first grouped
  const out: SyncGroupConfig[] = [];
  for (const [name, body] of Object.entries(groups)) {
    const here: KeyPath = [...at, name];
    if (!isObjectName(name)) issues.error(here, name, `a sync group name must be ${objectName.allowed}`);
    let membersAt = here;
    let members: unknown = body;
    let notify: NotifyConfig = {};
    if (isMapping(body)) {
      checkKeys(body, SYNC_GROUP_KEYS, here, issues);
      const f = new Fields(body, here, issues);
      notify = readNotify(f);
      membersAt = f.path('group');
      members = f.raw('group');
      if (!f.has('group')) {
        issues.error(membersAt, undefined, `required key is missing: must be a list of at least ${MIN_MEMBERS} instance names`);
        continue;
      }
    }
    if (!Array.isArray(members) || members.length < MIN_MEMBERS) {
      const why = Array.isArray(members) ? ': one instance alone already fails over by itself, so a one-member group is refused' : '';
      issues.error(membersAt, members, `must be a list of at least ${MIN_MEMBERS} instance names (or { group: [...], notify... })${why}`);
      continue;
    }
    const kept = readMembers(members, membersAt, instances, owner, issues);
    out.push({ name, members: kept, ...notify });
  }
  return out;
}

function readMembers(
  members: readonly unknown[],
  at: KeyPath,
  instances: readonly string[],
  owner: Map<string, KeyPath>,
  issues: Issues,
): string[] {
  const kept: string[] = [];
  members.forEach((m: unknown, i) => {
    const here = [...at, i];
    if (typeof m !== 'string') {
      issues.error(here, m, 'must be the name of an instance of vrrp.instances');
      return;
    }
    if (!instances.includes(m)) {
      const guess = didYouMean(m, instances);
      const hint = guess === undefined ? '' : `did you mean "${guess}"? `;
      const have = instances.length === 0 ? 'there are none' : `defined: ${listChoices(instances)}`;
      issues.error(here, m, `no such instance: ${hint}must name an instance of vrrp.instances (${have})`);
      return;
    }
    if (kept.includes(m)) {
      issues.error(here, m, `${m} is listed twice: each member once`);
      return;
    }
    const first = owner.get(m);
    if (first !== undefined) {
      issues.error(here, m, `${m} is already a member at ${renderPath(first)}: an instance belongs to at most one sync group`);
      return;
    }
    owner.set(m, here);
    kept.push(m);
  });
  return kept;
}
