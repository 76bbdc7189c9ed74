// Which after-sb policy names are legal for each number of primaries
// (drbd.conf(5) net section; replication.md "Generation identifiers"), for the
// config validator: an issue message naming the allowed values, or null.
import { isNodeName, nodeName } from '../config/names.js';
import type { AfterSb0pri, AfterSb1pri, AfterSb2pri } from './after-sb.js';

export type Primaries = 0 | 1 | 2;

export const AFTER_SB_0PRI: readonly string[] = [
  'disconnect', 'discard-younger-primary', 'discard-older-primary', 'discard-zero-changes', 'discard-least-changes', 'discard-node-NAME',
];
export const AFTER_SB_1PRI: readonly AfterSb1pri[] = ['disconnect', 'consensus', 'discard-secondary', 'violently-as0p'];
export const AFTER_SB_2PRI: readonly AfterSb2pri[] = ['disconnect', 'violently-as0p'];

// DRBD policies tandem does not implement: it runs no DRBD handler scripts.
const UNSUPPORTED: Record<string, string> = {
  'call-pri-lost-after-sb': 'it calls DRBD\'s pri-lost-after-sb handler, and tandem runs no DRBD handlers',
};

const DISCARD_NODE = 'discard-node-';

export const afterSbKey = (n: Primaries): string => `after_sb_${n}pri`;

function allowed(n: Primaries): readonly string[] {
  return n === 0 ? AFTER_SB_0PRI : n === 1 ? AFTER_SB_1PRI : AFTER_SB_2PRI;
}

function choices(items: readonly string[]): string {
  const q = items.map((s) => JSON.stringify(s));
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

export function isAfterSb0pri(v: unknown): v is AfterSb0pri {
  if (typeof v !== 'string') return false;
  if (v.startsWith(DISCARD_NODE)) return isNodeName(v.slice(DISCARD_NODE.length));
  return AFTER_SB_0PRI.includes(v);
}
export const isAfterSb1pri = (v: unknown): v is AfterSb1pri => (AFTER_SB_1PRI as readonly unknown[]).includes(v);
export const isAfterSb2pri = (v: unknown): v is AfterSb2pri => (AFTER_SB_2PRI as readonly unknown[]).includes(v);

// nodeNames: when given, discard-node-NAME must name one of them.
export function afterSbPolicyIssue(primaries: Primaries, value: unknown, nodeNames?: readonly string[]): string | null {
  const key = afterSbKey(primaries);
  const legal = `${key} must be one of ${choices(allowed(primaries))}`;
  if (typeof value !== 'string') return `${legal}; got a ${value === null ? 'null' : typeof value}`;
  if (primaries === 0 && value.startsWith(DISCARD_NODE)) {
    const name = value.slice(DISCARD_NODE.length);
    if (!isNodeName(name)) return `${key}: ${JSON.stringify(value)} must end in a node name (${nodeName.allowed})`;
    if (nodeNames !== undefined && !nodeNames.includes(name)) {
      return `${key}: ${JSON.stringify(value)} names no node of this volume (${nodeNames.length === 0 ? 'none defined' : `nodes: ${choices(nodeNames)}`})`;
    }
    return null;
  }
  const ok = primaries === 0 ? isAfterSb0pri(value) : primaries === 1 ? isAfterSb1pri(value) : isAfterSb2pri(value);
  if (ok) return null;
  const unsupported = UNSUPPORTED[value];
  if (unsupported !== undefined && Object.hasOwn(UNSUPPORTED, value)) return `${legal}; ${JSON.stringify(value)} is a DRBD policy tandem does not support: ${unsupported}`;
  const homes = ([0, 1, 2] as const).filter((n) => n === 0 ? isAfterSb0pri(value) : n === 1 ? isAfterSb1pri(value) : isAfterSb2pri(value));
  if (homes.length > 0) return `${legal}; ${JSON.stringify(value)} is only valid for ${homes.map(afterSbKey).join(' and ')}`;
  return `${legal}; got ${JSON.stringify(value)}`;
}
