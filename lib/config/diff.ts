// What changed between the running configuration and a re-read one, for
// `tandem reload` (issue 5): the changes the daemon applies live (VIPs of an
// instance, the managed services, the startup section) and every other
// change, by path, which needs a restart of the daemon. Pure.
import type { ServiceConfig, TandemConfig, VirtualAddress } from './types.js';

export interface VipChange {
  instance: string;
  added: VirtualAddress[];
  removed: VirtualAddress[];
}

export interface ConfigChanges {
  vips: VipChange[];
  services: { added: string[]; removed: string[]; changed: string[] };
  startup: boolean;
  restartOnly: string[]; // paths whose change the running daemon cannot apply
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

// The key as the file spells it: initialState is `state`, advertIntCs `advert_int`, camelCase snake_case.
const FILE_KEYS: Readonly<Record<string, string>> = { initialState: 'state', family: 'virtual_ipaddress (its address family)', syncGroups: 'sync_groups' };
export const fileKey = (k: string): string => FILE_KEYS[k] ?? k.replace(/(Ms|Cs)$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const vipKey = (v: VirtualAddress): string => JSON.stringify([v.address, v.prefix, v.dev, v.label ?? null]);

export function diffConfig(cur: TandemConfig, next: TandemConfig): ConfigChanges {
  const restartOnly: string[] = [];
  if (!same(cur.node, next.node)) restartOnly.push('node');
  if (!same(cur.replication, next.replication)) restartOnly.push('replication');
  const { instances: ci, ...cvrrp } = cur.vrrp;
  const { instances: ni, ...nvrrp } = next.vrrp;
  for (const k of Object.keys({ ...cvrrp, ...nvrrp }) as (keyof typeof cvrrp)[]) {
    if (!same(cvrrp[k], nvrrp[k])) restartOnly.push(`vrrp.${fileKey(k)}`);
  }
  const vips: VipChange[] = [];
  if (!same(ci.map((i) => i.name), ni.map((i) => i.name))) restartOnly.push('vrrp.instances (names or order)');
  else {
    ci.forEach((c, idx) => {
      const n = ni[idx];
      if (n === undefined) return;
      const { virtualIpaddress: cv, ...crest } = c;
      const { virtualIpaddress: nv, ...nrest } = n;
      for (const k of Object.keys({ ...crest, ...nrest }) as (keyof typeof crest)[]) {
        if (!same(crest[k], nrest[k])) restartOnly.push(`vrrp.instances[${idx}].${fileKey(k)} (${c.name})`);
      }
      const have = new Set(cv.map(vipKey));
      const want = new Set(nv.map(vipKey));
      const added = nv.filter((v) => !have.has(vipKey(v)));
      const removed = cv.filter((v) => !want.has(vipKey(v)));
      if (added.length > 0 || removed.length > 0) vips.push({ instance: c.name, added, removed });
    });
  }
  return { vips, services: diffServices(cur.services, next.services, restartOnly), startup: !same(cur.startup, next.startup), restartOnly };
}

function diffServices(cur: readonly ServiceConfig[], next: readonly ServiceConfig[], restartOnly: string[]): ConfigChanges['services'] {
  const byName = new Map(cur.map((s) => [s.name, s]));
  const nextNames = new Set(next.map((s) => s.name));
  const kept = next.filter((s) => byName.has(s.name)).map((s) => s.name);
  // Reordering running services would need a stop and start of everything between: a restart's job.
  if (!same(kept, cur.filter((s) => nextNames.has(s.name)).map((s) => s.name))) restartOnly.push('services (order)');
  return {
    added: next.filter((s) => !byName.has(s.name)).map((s) => s.name),
    removed: cur.filter((s) => !nextNames.has(s.name)).map((s) => s.name),
    changed: next.filter((s) => byName.has(s.name) && !same(byName.get(s.name), s)).map((s) => s.name),
  };
}

export function describeChanges(c: ConfigChanges): string {
  const parts: string[] = [];
  for (const v of c.vips) {
    if (v.added.length > 0) parts.push(`${v.instance}: VIP added ${v.added.map((x) => `${x.address}/${x.prefix}`).join(' ')}`);
    if (v.removed.length > 0) parts.push(`${v.instance}: VIP removed ${v.removed.map((x) => `${x.address}/${x.prefix}`).join(' ')}`);
  }
  const s = c.services;
  if (s.added.length > 0) parts.push(`services added: ${s.added.join(', ')}`);
  if (s.removed.length > 0) parts.push(`services removed: ${s.removed.join(', ')}`);
  if (s.changed.length > 0) parts.push(`services changed: ${s.changed.join(', ')}`);
  if (c.startup) parts.push('startup changed');
  return parts.length === 0 ? 'no changes' : parts.join('; ');
}
