// `vrrp`: instances, tracking scripts and sync groups, and the rules that
// span instances; crossCheck refuses a VIP that is a node's own address.
// Absent means no VRRP at all (a replication-only node).
import { isMapping, mapping } from './checks.js';
import type { Issues } from './issues.js';
import { renderPath, type KeyPath } from './path.js';
import type { Section } from './section.js';
import { ownAddresses } from './own-addresses.js';
import { checkKeys } from './suggest.js';
import type { InstanceConfig, ScriptConfig, SyncGroupConfig, VrrpConfig } from './types.js';
import { readInstance, type InstanceDraft } from './vrrp-instance.js';
import { readSyncGroups } from './vrrp-sync-groups.js';
import { readScripts } from './vrrp-trackers.js';

export const VRRP_KEYS = ['instances', 'scripts', 'sync_groups'] as const;
const VRRP_HINTS = {
  vrrp_script: 'keepalived\'s vrrp_script blocks go under scripts',
  vrrp_sync_group: 'keepalived\'s vrrp_sync_group blocks go under sync_groups',
  vrrp_instance: 'keepalived\'s vrrp_instance blocks go in the instances list',
};

export const vrrpSection: Section<'vrrp'> = {
  key: 'vrrp',
  validate(raw, at, { issues }) {
    const empty: VrrpConfig = { instances: [], scripts: {}, syncGroups: [] };
    if (raw === undefined) return empty;
    const obj = mapping(raw, at, issues, `keys: ${VRRP_KEYS.join(', ')}`);
    if (obj === undefined) return undefined;
    checkKeys(obj, VRRP_KEYS, at, issues, VRRP_HINTS);
    const scripts = readScripts(obj['scripts'], [...at, 'scripts'], issues);
    // Names as written, so a script with a bad body or a bad scripts section
    // does not also turn every track_script reference into an error.
    const rawScripts = obj['scripts'];
    const scriptNames = isMapping(rawScripts) ? Object.keys(rawScripts) : rawScripts === undefined ? [] : undefined;
    const drafts = readInstances(obj['instances'], [...at, 'instances'], scriptNames, issues);
    checkAcrossInstances(drafts, issues);
    const names = drafts.flatMap((d) => (d.name === undefined ? [] : [d.name]));
    const syncGroups = readSyncGroups(obj['sync_groups'], [...at, 'sync_groups'], names, issues);
    warnUnusedScripts(Object.keys(scripts), drafts, at, issues);
    const instances = drafts.flatMap((d): InstanceConfig[] => (d.config === undefined ? [] : [d.config]));
    warnGroupWeights(syncGroups, instances, scripts, [...at, 'sync_groups'], issues);
    return { instances, scripts, syncGroups };
  },
  crossCheck(config, { issues }) {
    const owned = ownAddresses(config);
    for (const vip of owned.filter((o) => o.kind === 'vip')) {
      const node = owned.find((o) => o.kind !== 'vip' && o.address === vip.address);
      // A VIP leaves every node that is not MASTER (and is cleared at start): a node's own address would go with it.
      if (node !== undefined) {
        issues.error(vip.at, vip.address, `${vip.address} is also ${node.what}: a VIP moves between the nodes and is removed from each one that is not MASTER, and at start, so it must be an address of its own, not a node's (an address owner, priority 255 with the interface's own address, is not supported)`);
      }
    }
  },
};

function readInstances(raw: unknown, at: KeyPath, scriptNames: readonly string[] | undefined, issues: Issues): InstanceDraft[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.error(at, raw, 'must be a list of instances (- name: VI_1 ...)');
    return [];
  }
  return raw.flatMap((v: unknown, i) => readInstance(v, [...at, i], scriptNames, issues) ?? []);
}

function checkAcrossInstances(drafts: readonly InstanceDraft[], issues: Issues): void {
  const names = new Map<string, KeyPath>();
  const routers = new Map<string, InstanceDraft>();
  const vips = new Map<string, KeyPath>();
  for (const d of drafts) {
    if (d.name !== undefined) {
      const first = names.get(d.name);
      if (first !== undefined) issues.error([...d.at, 'name'], d.name, `instance names must be unique: ${renderPath(first)} is also named ${d.name}`);
      else names.set(d.name, d.at);
    }
    if (d.iface !== undefined && d.vrid !== undefined) {
      // RFC 5798 6.1: a VRID identifies one virtual router on a LAN, per address family.
      const key = `${d.iface}/${d.vrid}/${d.addresses.family}`;
      const first = routers.get(key);
      if (first !== undefined) {
        issues.error([...d.at, 'virtual_router_id'], d.vrid,
          `${first.name ?? renderPath(first.at)} already uses virtual_router_id ${d.vrid} for IPv${d.addresses.family} on ${d.iface}: (interface, virtual_router_id, family) must be unique`);
      } else routers.set(key, d);
    }
    for (const vip of d.addresses.vips) {
      const first = vips.get(vip.address);
      // Two virtual routers holding one address would fight over it.
      if (first !== undefined) issues.error(vip.at, vip.written, `${vip.address} is already a VIP at ${renderPath(first)}: a VIP belongs to one instance only`);
      else vips.set(vip.address, vip.at);
    }
  }
}

function warnUnusedScripts(names: readonly string[], drafts: readonly InstanceDraft[], at: KeyPath, issues: Issues): void {
  const used = new Set(drafts.flatMap((d) => d.config?.trackScript.map((t) => t.name) ?? []));
  // With errors elsewhere the usage list is incomplete; warn only on a clean read.
  if (issues.count > 0) return;
  for (const name of names) {
    if (!used.has(name)) issues.warn([...at, 'scripts', name], name, 'is defined but no instance lists it in track_script, so it never runs');
  }
}

// keepalived ignores tracker weights of sync-group members (unless
// sync_group_tracking_weight): a weight that moves one member below its peer
// would make the group flap between the nodes. tandem does the same: for a
// group member a failing tracker means FAULT, and the group follows it.
function warnGroupWeights(
  groups: readonly SyncGroupConfig[],
  instances: readonly InstanceConfig[],
  scripts: Readonly<Record<string, ScriptConfig>>,
  at: KeyPath,
  issues: Issues,
): void {
  for (const g of groups) {
    for (const name of g.members) {
      const i = instances.find((x) => x.name === name);
      if (i === undefined) continue;
      const weighted = [
        ...i.trackInterface.filter((t) => t.weight !== 0).map((t) => `interface ${t.name}`),
        ...i.trackScript.filter((t) => (t.weight ?? scripts[t.name]?.weight ?? 0) !== 0).map((t) => `script ${t.name}`),
      ];
      if (weighted.length > 0) {
        issues.warn([...at, g.name], name, `${name} tracks ${weighted.join(', ')} with a weight; in a sync group weights are ignored (as keepalived does) and a failure puts the whole group in FAULT, because a weight moving one member would make the group flap`);
      }
    }
  }
}
