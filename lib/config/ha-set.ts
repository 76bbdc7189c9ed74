// `tandem ha set` (escadm's `ha set`, issue 5): the ESC flags turned into an
// edit of the VRRP instance in the user's YAML file, keeping every comment
// and every key it does not own. Pure: the text, the flags and this host's
// addresses in; the new text, what changed, or why not, out. The caller
// validates the result with the full config validator before writing it.
//
//   --ha_node_list 'IP1 IP2'   this node's address -> unicast_src_ip, the others -> unicast_peer
//   --kad_vip V[/p][:if]       -> virtual_ipaddress (IPv6: [V/p]:if); default prefix /32 or /128
//   --kad_vif IFACE            -> interface
//   --kad_vri N                -> virtual_router_id (default: the VIP's last byte, as ESC's bootvm)
import { isMap, isScalar, isSeq, parseDocument, YAMLMap, type Document } from 'yaml';
import { canonicalIp, parseIp, type IpFamily } from '../net/ip-address.js';
import { spliceValues, type ValueEdit } from './yaml-splice.js';

export interface HaSetFlags {
  haNodeList: string; // addresses separated by spaces or commas
  kadVip: string;
  kadVif: string;
  kadVri?: number;
  instance?: string; // which vrrp instance; default the first, or VI_1 when there is none
}

// `file`: the file is what is wrong (exit 78), not a flag (exit 64).
export type HaSetResult = { ok: true; text: string; changes: string[] } | { ok: false; error: string; file?: true };

interface Vip { address: string; prefix: number; family: IpFamily; dev: string | null }

const fail = (error: string): HaSetResult => ({ ok: false, error });
const badFile = (error: string): HaSetResult => ({ ok: false, error: `${error}; fix the file first`, file: true });

// V, V/p, V:if, V/p:if for IPv4; [V/p]:if, [V]:if, V or V/p for IPv6 (ESC's --kad_vip forms).
export function parseKadVip(text: string): Vip | string {
  const allowed = 'allowed: ADDRESS[/PREFIX][:IFACE] for IPv4, [ADDRESS/PREFIX]:IFACE or ADDRESS[/PREFIX] for IPv6';
  let body = text.trim();
  let dev: string | null = null;
  const bracket = /^\[([^\]]+)\](?::(.+))?$/.exec(body);
  if (bracket !== null) {
    body = bracket[1] as string;
    dev = bracket[2] ?? null;
  } else if (!body.includes('::') && body.split(':').length === 2) {
    const [a, d] = body.split(':') as [string, string];
    body = a;
    dev = d;
  }
  const [addr, pfx] = body.split('/') as [string, string | undefined];
  const ip = parseIp(addr);
  if (ip === null) return `--kad_vip ${JSON.stringify(text)}: ${JSON.stringify(addr)} is not an IP address; ${allowed}`;
  const max = ip.family === 4 ? 32 : 128;
  const prefix = pfx === undefined ? max : Number(pfx);
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > max || (pfx !== undefined && !/^\d+$/.test(pfx))) return `--kad_vip ${JSON.stringify(text)}: the prefix must be 1..${max}; ${allowed}`;
  if (dev !== null && !/^[^\s/:]{1,15}$/.test(dev)) return `--kad_vip ${JSON.stringify(text)}: ${JSON.stringify(dev)} is not an interface name (1..15 bytes, no "/", ":" or spaces)`;
  const edge = subnetEdge(ip.bytes, prefix, ip.family);
  if (edge !== null) return `--kad_vip ${JSON.stringify(text)}: ${canonicalIp(addr)} is the ${edge} of its /${prefix}; a VIP must be a host address (or give the prefix it has, e.g. /${max})`;
  return { address: canonicalIp(addr) as string, prefix, family: ip.family, dev };
}

// The subnet's network or broadcast address (IPv4, prefixes up to /30), or its
// subnet-router anycast address (IPv6 up to /126, RFC 4291 2.6.1): no host may hold it.
function subnetEdge(bytes: Buffer, prefix: number, family: IpFamily): string | null {
  if (prefix > (family === 4 ? 30 : 126)) return null;
  let zeros = true;
  let ones = true;
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    const set = ((bytes[bit >> 3] as number) >> (7 - (bit & 7))) & 1;
    zeros &&= set === 0;
    ones &&= set === 1;
  }
  if (zeros) return family === 4 ? 'network address' : 'subnet-router anycast address (RFC 4291 2.6.1)';
  return ones && family === 4 ? 'broadcast address' : null;
}

// --ha_node_list: two or more addresses of one family (the VIP's, when known), canonical; or why not.
export function parseNodeList(text: string, family: 4 | 6 | undefined): string[] | string {
  const nodes = text.split(/[\s,]+/).filter((s) => s !== '');
  const canon = nodes.map((n) => canonicalIp(n));
  const want = family ?? parseIp(nodes[0] ?? '')?.family ?? 4;
  const bad = nodes.find((_, i) => canon[i] === null || parseIp(nodes[i] as string)?.family !== want);
  const whose = family === undefined ? 'one family' : "the VIP's family";
  if (nodes.length < 2 || bad !== undefined) return `--ha_node_list ${JSON.stringify(text)}: ${bad !== undefined ? `${JSON.stringify(bad)} is not an IPv${want} address` : 'lists fewer than two nodes'}; allowed: two or more IPv${want} addresses (${whose}), separated by spaces`;
  if (new Set(canon).size !== canon.length) return `--ha_node_list ${JSON.stringify(text)} lists an address twice`;
  return canon as string[];
}

// `interfaces`: this host's, when known; --kad_vif and the VIP's device must be among them.
export function applyHaSet(source: string, f: HaSetFlags, localAddresses: readonly string[], interfaces?: readonly string[]): HaSetResult {
  try {
    return edit(source, f, localAddresses, interfaces);
  } catch (e) {
    // A shape the checks below did not foresee: the YAML library's own words, never a crash.
    return badFile(`the file cannot be edited: ${(e as Error).message}`);
  }
}

function edit(source: string, f: HaSetFlags, localAddresses: readonly string[], interfaces?: readonly string[]): HaSetResult {
  const vip = parseKadVip(f.kadVip);
  if (typeof vip === 'string') return fail(vip);
  if (!/^[^\s/:]{1,15}$/.test(f.kadVif)) return fail(`--kad_vif ${JSON.stringify(f.kadVif)} is not an interface name: 1..15 bytes, no "/", ":" or spaces`);
  const missing = interfaces === undefined ? undefined : [['--kad_vif', f.kadVif], ['--kad_vip', vip.dev]].find(([, d]) => d !== null && !interfaces.includes(d as string));
  if (missing !== undefined) return fail(`${missing[0]}: ${JSON.stringify(missing[1])} is no interface of this host (its interfaces: ${interfaces?.join(', ') || 'none'})`);
  const canon = parseNodeList(f.haNodeList, vip.family);
  if (typeof canon === 'string') return fail(canon);
  const local = new Set(localAddresses.map((a) => canonicalIp(a)));
  const mine = canon.filter((a) => local.has(a));
  if (mine.length !== 1) {
    return fail(`--ha_node_list ${JSON.stringify(f.haNodeList)}: ${mine.length === 0 ? 'none' : 'more than one'} of these addresses is on this host (its addresses: ${localAddresses.join(', ') || 'none'}); exactly one must be this node's`);
  }
  const doc = parseDocument(source, { keepSourceTokens: false });
  if (doc.errors.length > 0) return badFile(`the configuration is not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? '?'}`);
  if (doc.contents !== null && !isMap(doc.contents)) return badFile('the file\'s top level is not a mapping (node:, vrrp: ...)');
  const changes: string[] = [];
  const at = instanceIndex(doc, f.instance);
  if (typeof at === 'string') return badFile(at);
  const base = ['vrrp', 'instances', at.index];
  // An anchor on the instance or above it: other instances may merge it (`<<: *common`), and would change with it.
  for (const [path, what] of [[base, `vrrp.instances[${at.index}]`], [['vrrp', 'instances'], 'vrrp.instances'], [['vrrp'], 'vrrp']] as const) {
    const anchor = (doc.getIn(path, true) as { anchor?: string } | undefined)?.anchor;
    if (typeof anchor === 'string' && anchor !== '') return fail(`${what} carries the anchor &${anchor}, which other entries may use through *${anchor}; change it by hand, or drop the anchor first`);
  }
  // Values as the loader reads them (merge keys applied), so a merged value counts as set.
  const effective = at.created ? {} : effectiveInstance(source, at.index);
  // An instance's VRID stays unless --kad_vri says otherwise: both nodes must agree on it, and reload cannot change it.
  const kept = effective.virtual_router_id;
  const vri = f.kadVri ?? (typeof kept === 'number' ? kept : vip.family === 4 ? Number(vip.address.split('.')[3]) : (parseIp(vip.address)?.bytes.at(-1) ?? 0));
  if (!Number.isInteger(vri) || vri < 1 || vri > 255) return fail(`--kad_vri: ${f.kadVri === undefined ? `the VIP's last byte is ${vri}, not a virtual router id; give --kad_vri` : `${f.kadVri} is not allowed`}: allowed 1..255`);
  if (at.created) {
    doc.addIn(['vrrp', 'instances'], doc.createNode({ name: f.instance ?? 'VI_1', priority: 100 }));
    changes.push(`vrrp.instances[${at.index}]: new instance ${f.instance ?? 'VI_1'}`, `vrrp.instances[${at.index}].priority: (none) -> 100`);
  }
  const edits: ValueEdit[] = [];
  let anchored: string | null = null;
  const set = (key: string, value: unknown): void => {
    const before = effective[key];
    const plain = (v: unknown): string => JSON.stringify(v);
    if (plain(before) === JSON.stringify(value)) return;
    // Other keys may use it through an alias: changing it here would change them silently (or leave them dangling).
    const anchor = anchorIn(doc.getIn([...base, key], true));
    if (anchor !== null) anchored ??= `vrrp.instances[${at.index}].${key} carries the anchor &${anchor}, which other keys may use through *${anchor}; change it by hand, or drop the anchor first`;
    edits.push({ key, value });
    doc.setIn([...base, key], doc.createNode(value, { flow: Array.isArray(value) }));
    changes.push(`vrrp.instances[${at.index}].${key}: ${before === undefined ? '(none)' : plain(before)} -> ${JSON.stringify(value)}`);
  };
  set('interface', f.kadVif);
  set('virtual_router_id', vri);
  const text = `${vip.address}/${vip.prefix}`;
  set('virtual_ipaddress', [vip.dev === null || vip.dev === f.kadVif ? text : { address: text, dev: vip.dev }]);
  set('unicast_src_ip', mine[0]);
  set('unicast_peer', canon.filter((a) => a !== mine[0]));
  if (anchored !== null) return fail(anchored);
  // Only the changed values' bytes change; a new instance, or an edit that cannot be made so, re-prints the
  // file ([a, b] as people write it, no line folded).
  const spliced = at.created || edits.length === 0 ? null : spliceValues(source, base, edits);
  if (spliced !== null || edits.length === 0) return { ok: true, text: spliced ?? source, changes };
  const printed = doc.toString({ flowCollectionPadding: false, lineWidth: 0 });
  return { ok: true, text: source.includes('\r\n') ? printed.replace(/\r?\n/g, '\r\n') : printed, changes }; // a CRLF file stays one
}

// The instance's keys as the loader sees them: merge keys (`<<`) applied, aliases resolved.
function effectiveInstance(source: string, index: number): Record<string, unknown> {
  try {
    const js = parseDocument(source, { merge: true }).toJS({ maxAliasCount: 100 }) as { vrrp?: { instances?: unknown[] } };
    const it = js.vrrp?.instances?.[index];
    return it !== null && typeof it === 'object' && !Array.isArray(it) ? (it as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

// The first anchor on a node or inside it, or null.
function anchorIn(node: unknown): string | null {
  if (node === null || typeof node !== 'object') return null;
  const n = node as { anchor?: string; items?: unknown[]; key?: unknown; value?: unknown };
  if (typeof n.anchor === 'string' && n.anchor !== '') return n.anchor;
  for (const it of n.items ?? []) {
    const found = anchorIn(it) ?? anchorIn((it as { key?: unknown }).key) ?? anchorIn((it as { value?: unknown }).value);
    if (found !== null) return found;
  }
  return null;
}

// The instance to edit: by name, else the only / first one; created (at the end) when there is none.
// Refused (a string) when vrrp, its instances or the instance is not what the file must hold: replacing it would drop what is there.
function instanceIndex(doc: Document, name: string | undefined): { index: number; created: boolean } | string {
  const vrrp = doc.get('vrrp', true);
  if (vrrp !== undefined && vrrp !== null && !isMap(vrrp) && !(isScalar(vrrp) && vrrp.value === null)) return `vrrp is ${shape(vrrp)}, not a mapping`;
  const list = doc.getIn(['vrrp', 'instances'], true);
  if (list === undefined || list === null || (isScalar(list) && list.value === null)) {
    if (!isMap(vrrp)) doc.set('vrrp', new YAMLMap());
    doc.setIn(['vrrp', 'instances'], doc.createNode([]));
    return { index: 0, created: true };
  }
  if (!isSeq(list)) return `vrrp.instances is ${shape(list)}, not a list`;
  const names = list.items.map((it) => (isMap(it) ? String(it.get('name')) : ''));
  const i = name === undefined ? (names.length > 0 ? 0 : -1) : names.indexOf(name);
  if (i < 0) return { index: names.length, created: true };
  if (!isMap(list.items[i])) return `vrrp.instances[${i}] is ${shape(list.items[i])}, not a mapping (name: VI_1, interface: ...)`;
  return { index: i, created: false };
}

function shape(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  if (isScalar(node)) return node.value === null ? 'empty' : `the value ${JSON.stringify(node.value)}`;
  return 'something else';
}
