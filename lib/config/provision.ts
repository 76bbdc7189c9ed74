// `tandem provision NAME` (bootvm.py's flags, issue 5), pure: checked flags
// and what the caller found on the host in; this node's tandem.yaml and
// systemd units out, already accepted by the daemon's own validator, or why
// not. The VRRP instance is exactly what `tandem ha set` writes for the same
// flags (applyHaSet), so a later `ha set` edits it in place; the volume's
// listen / peers come from the same node list, so two calls, one per node,
// with the same list make a pair.
import { posix } from 'node:path';
import { parse, stringify } from 'yaml';
import { canonicalIp, compareIp } from '../net/ip-address.js';
import { applyHaSet, type HaSetFlags } from './ha-set.js';
import { formatIssues, parseConfigText } from './load.js';
import { formatHostPort } from './names.js';
import { DEFAULT_DB_SIZE, splitList, type CheckedFlags } from './provision-flags.js';
import { daemonUnit, routesUnit, type Unit } from './provision-units.js';
import type { ConfigIssue } from './types.js';

export { checkFlags, type CheckedFlags, type ProvisionFlags } from './provision-flags.js';

export const REPLICATION_PORT = 7789; // DRBD's customary first port
export const VOLUME_NAME = 'db';

// What is at the volume's device path (the caller looks; absent: missing).
export interface DeviceFacts {
  kind: 'block-device' | 'file' | 'missing' | 'other';
  bytes?: number;
}

export interface ProvisionHost {
  localAddresses: readonly string[]; // this host's, to tell this node's node list entry when --ipaddr is absent
  device?: DeviceFacts;
  daemonUnit: string; // systemd/tandem.service as shipped
  daemon: readonly string[]; // the program and arguments that run `tandem` here
}

export interface Provisioned {
  configFile: string;
  config: string; // tandem.yaml
  units: Unit[];
  secretFile: string | null; // null: nothing replicated, no secret
  peer: { name: string | null; address: string }; // the (first) VRRP / replication peer
  warnings: ConfigIssue[]; // the validator's, for a configuration it accepts
}

export type ProvisionResult = { ok: true; out: Provisioned } | { ok: false; errors: string[] };

const fail = (...errors: string[]): ProvisionResult => ({ ok: false, errors });
const scalar = (v: string | number): string => stringify(v).trimEnd(); // quoted only where YAML needs it

export function provision(c: CheckedFlags, host: ProvisionHost): ProvisionResult {
  const local = selfAddress(c, host.localAddresses);
  if (typeof local === 'string') return fail(local);
  const size = c.device === undefined ? undefined : volumeSize(c, host.device ?? { kind: 'missing' });
  if (typeof size === 'object') return fail(size.error);
  const ha: HaSetFlags = { haNodeList: c.haNodeList, kadVip: c.kadVip, kadVif: c.kadVif, ...(c.kadVri === undefined ? {} : { kadVri: c.kadVri }) };
  const set = applyHaSet(header(c) + VRRP_TEMPLATE, ha, local);
  if (!set.ok) return fail(set.error);
  const [self, ...peers] = nodeAddresses(set.text);
  if (c.mode !== 'no_ha' && peers.length !== 1) {
    return fail(`--ha_node_list ${JSON.stringify(c.haNodeList)} lists ${peers.length + 1} addresses: --ha_mode ${c.mode} replicates to one peer (--peer_name), so list exactly two`);
  }
  let text = set.text.replace(/^( {6}priority: )100$/m, `$1${priorityOf(self, peers)}`);
  if (c.unicast !== undefined) {
    // The same edit again, over the VRRP addresses: the node list still places the volume.
    const vrrp = applyHaSet(text, { ...ha, haNodeList: [c.unicast.src, ...c.unicast.peers].join(' ') }, [c.unicast.src]);
    if (!vrrp.ok) return fail(vrrp.error);
    text = vrrp.text;
  }
  text += replicationYaml(c, self, peers[0], size) + startupYaml(c);
  const configFile = posix.join(c.configDir, 'tandem.yaml');
  const v = parseConfigText(text, { hostname: c.name });
  if (!v.ok) return fail(...v.issues.map((i) => `${formatIssues([i], configFile)} (from ${flagOf(i.path)})`));
  const units = [daemonUnit(host.daemonUnit, host.daemon, configFile, c.name, c.routes.length > 0)];
  if (c.routes.length > 0) units.push(routesUnit(c.routes, c.name));
  return {
    ok: true,
    out: {
      configFile, config: text, units, warnings: v.warnings ?? [],
      secretFile: c.device === undefined ? null : c.secretFile,
      peer: { name: c.peerName ?? null, address: peers[0] ?? '' },
    },
  };
}

// 110 for the lowest address of the node list, 100 for the next, ...: the same answer on every node, whatever the list's order.
export function priorityOf(self: string | undefined, peers: readonly string[]): number {
  if (self === undefined) return 100;
  const rank = peers.filter((p) => compareIp(p, self) < 0).length;
  return Math.max(1, 110 - 10 * rank);
}

// This node's node list entry: the one among --ipaddr, or among this host's addresses without it.
function selfAddress(c: CheckedFlags, host: readonly string[]): string[] | string {
  const listed = splitList(c.haNodeList).map(canonicalIp);
  const pool = c.ipaddr ?? host;
  if (listed.includes(null)) return [...pool]; // applyHaSet names the bad entry
  const mine = [...new Set(pool.map(canonicalIp))].filter((a): a is string => a !== null && listed.includes(a));
  if (mine.length === 1) return mine;
  const among = c.ipaddr !== undefined ? `--ipaddr ${JSON.stringify(c.ipaddr.join(' '))}` : `this host's addresses (${host.join(', ') || 'none'})`;
  const fix = c.ipaddr !== undefined ? 'exactly one must be in it' : 'give --ipaddr with this node\'s entry';
  return `--ha_node_list ${JSON.stringify(c.haNodeList)}: ${mine.length === 0 ? 'none' : 'more than one'} of ${among} is in it; ${fix}`;
}

// The volume's size: an existing file or device's own (the daemon refuses any other), else --db_size.
function volumeSize(c: CheckedFlags, d: DeviceFacts): number | string | { error: string } {
  const dev = c.device ?? '';
  if (d.kind === 'other') return { error: `--db_volume_id: ${dev} is neither a regular file nor a block device` };
  if (c.mode === 'drbd_on_cinder' && d.kind === 'file') return { error: `--db_volume_id: ${dev} is a regular file; drbd_on_cinder replicates an attached block device (use --ha_mode drbd for an image file)` };
  if (d.bytes !== undefined) {
    if (c.dbSize !== undefined && c.dbSize.bytes !== d.bytes) return { error: `--db_size ${JSON.stringify(c.dbSize.text)}: ${dev} holds ${d.bytes} bytes, and the volume's size must be exactly that: leave --db_size out` };
    return d.bytes;
  }
  if (c.mode === 'drbd_on_cinder' && c.dbSize === undefined) {
    return { error: `--db_volume_id: ${dev} does not exist (is the volume attached?); attach it first, or give --db_size with its exact size` };
  }
  return c.dbSize?.text ?? DEFAULT_DB_SIZE;
}

// unicast_src_ip then unicast_peer of the instance applyHaSet wrote: the node list, this node first.
function nodeAddresses(text: string): string[] {
  const doc = parse(text) as { vrrp: { instances: Array<{ unicast_src_ip: string; unicast_peer: string[] }> } };
  const i = doc.vrrp.instances[0];
  return i === undefined ? [] : [i.unicast_src_ip, ...i.unicast_peer];
}

function header(c: CheckedFlags): string {
  const what = c.mode === 'no_ha' ? 'VIP failover only (--ha_mode no_ha: nothing replicated)' : `the volume ${VOLUME_NAME} replicated to ${c.peerName ?? ''} (--ha_mode ${c.mode})`;
  return [
    `# Node ${c.name} of an HA pair, written by \`tandem provision\`: ${what}.`,
    `# The other node runs the same command with its own NAME${c.mode === 'no_ha' ? '' : ', --peer_name'} and --ipaddr (docs/provision.md);`,
    '# `tandem ha set` changes the VRRP instance later.',
    `node:\n  name: ${scalar(c.name)}\n`,
  ].join('\n');
}

// The policy half of the instance; applyHaSet adds interface, VRID, VIP and unicast addresses.
const VRRP_TEMPLATE = `
vrrp:
  instances:
    # Every node BACKUP; the lower address has the higher priority, so nodes that come
    # up together never tie (a tie would make both MASTER for an advert interval); nopreempt
    # keeps the VIP where it is when the other comes back (failback is manual, as in ESC).
    - name: VI_1
      state: BACKUP
      priority: 100
      nopreempt: true
      check_unicast_src: true   # adverts from addresses other than unicast_peer are dropped
`;

function replicationYaml(c: CheckedFlags, self: string | undefined, peer: string | undefined, size: number | string | undefined): string {
  if (c.device === undefined || self === undefined || peer === undefined || size === undefined) return '';
  const at = (host: string): string => scalar(formatHostPort({ host, port: REPLICATION_PORT }));
  const device = c.mode === 'drbd_on_cinder' ? '# the attached volume (--db_volume_id); size is its own' : '# an image file, created at size when missing (--db_volume_id, --db_size)';
  return `
replication:
  # The same secret on both nodes: copy this file to ${c.peerName ?? 'the peer'} (docs/provision.md).
  secret_file: ${scalar(c.secretFile)}
  volumes:
    - name: ${VOLUME_NAME}
      ${device}
      device: ${scalar(c.device)}
      size: ${scalar(size)}
      listen: ${at(self)}   # this node's --ha_node_list entry
      peers:
        - name: ${scalar(c.peerName ?? '')}   # --peer_name: the other node's NAME, checked at connect
          address: ${at(peer)}
`;
}

function startupYaml(c: CheckedFlags): string {
  if (c.mode === 'no_ha') return ''; // no volume, no boot gate: the node starts at once
  if (c.witness === undefined) {
    return '\n# No startup.witness (--gateway_ip): a node that comes up alone waits until it hears its peer.\n';
  }
  return `
startup:
  witness: ${scalar(c.witness)}   # --gateway_ip: a node that comes up alone starts once this answers ping
`;
}

// The flag an issue of the generated configuration comes from.
const FLAGS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^node\./, 'NAME'], [/^startup\./, '--gateway_ip'], [/\.interface$/, '--kad_vif'], [/virtual_router_id/, '--kad_vri'],
  [/virtual_ipaddress/, '--kad_vip'], [/unicast_/, '--ha_node_list, --kad_unicast_src_ip, --kad_unicast_peer'],
  [/secret_file/, '--secret_file'], [/\.device$/, '--db_volume_id'], [/\.size$/, '--db_size, --db_volume_id'],
  [/\.listen$/, '--ha_node_list, --ipaddr'], [/\.peers/, '--peer_name, --ha_node_list'],
];
const flagOf = (path: string): string => FLAGS.find(([re]) => re.test(path))?.[1] ?? 'the flags together';
