// `tandem provision`'s flags (bootvm.py's, issue 5) checked one by one, each
// with the validator's own check where there is one, so a bad value is
// refused with the flag's name and what is allowed. What spans flags and the
// host (which node list entry is this node, the VIP, the VRID) is left to
// provision.ts, which hands it to `ha set`'s applyHaSet.
import { posix } from 'node:path';
import { byteSize, integer, oneOf, QUOTED_NUMBER_HINT, type Check } from './checks.js';
import { parseKadVip, parseNodeList } from './ha-set.js';
import { Issues } from './issues.js';
import { absolutePath, interfaceName, nodeName } from './names.js';
import { parseRoute, type Route } from './provision-routes.js';
import { MAX_VOLUME_BYTES, SIZE_ALIGN } from './replication-volume.js';
import { witnessAddress } from './startup-section.js';
import { hostAddress } from './vrrp-addresses.js';

export const HA_MODES = ['no_ha', 'drbd', 'drbd_on_cinder'] as const;
export type HaMode = (typeof HA_MODES)[number];
export const DEFAULT_DB_IMAGE = '/var/lib/tandem/db.img';
export const DEFAULT_DB_SIZE = '10GiB';

// As commander hands them over: text, absent when not given.
export interface ProvisionFlags {
  name: string; // NAME: this node's node.name
  // Required; absent ones are reported together with every other problem.
  haMode?: string;
  haNodeList?: string;
  kadVip?: string;
  kadVif?: string;
  kadVri?: string;
  kadUnicastSrcIp?: string;
  kadUnicastPeer?: string;
  peerName?: string;
  dbVolumeId?: string;
  dbSize?: string;
  ipaddr?: string;
  gatewayIp?: string;
  route?: string[];
  configDir: string; // absolute
  secretFile?: string; // absolute; default <configDir>/secret
}

export interface CheckedFlags extends Pick<Required<ProvisionFlags>, 'haNodeList' | 'kadVip' | 'kadVif' | 'configDir'> {
  name: string;
  mode: HaMode;
  kadVri?: number;
  unicast?: { src: string; peers: string[] }; // --kad_unicast_*: VRRP over other addresses than the node list
  peerName?: string; // replicated modes only
  device?: string; // replicated modes only: the volume's backing file or device
  dbSize?: { text: string; bytes: number };
  ipaddr?: string[];
  witness?: string;
  routes: Route[];
  secretFile: string;
}

const CINDER_HINT = 'ESC\'s cinder mode (one shared volume moved to the MASTER) is not supported: tandem replicates, use drbd_on_cinder';
const haMode: Check<HaMode> = oneOf(HA_MODES);
const vri = integer(1, 255);
const dbSize = byteSize(SIZE_ALIGN, MAX_VOLUME_BYTES);
// OpenStack exposes an attached virtio volume as /dev/disk/by-id/virtio-<the first 20 characters of its id>.
const CINDER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const splitList = (text: string): string[] => text.split(/[\s,]+/).filter((s) => s !== '');

// A validator check applied to one flag: the value, or "FLAG VALUE: must be ..." added to `errors`.
function flag<T>(check: Check<T>, name: string, value: unknown, errors: string[]): T | undefined {
  const issues = new Issues();
  const out = check.read(value, [], issues);
  for (const i of issues.errors) errors.push(`${name} ${JSON.stringify(value)}: ${i.message.replace(QUOTED_NUMBER_HINT, ' (written in decimal)')}`);
  return out;
}

// Every flag on its own, all problems at once; or the checked values.
export function checkFlags(f: ProvisionFlags): CheckedFlags | string[] {
  const errors: string[] = [];
  const required = { '--ha_mode': [f.haMode, `one of ${HA_MODES.join(', ')}`], '--ha_node_list': [f.haNodeList, "both nodes' addresses, e.g. '192.0.2.11 192.0.2.12'"], '--kad_vip': [f.kadVip, 'the VIP, e.g. 192.0.2.100/24'], '--kad_vif': [f.kadVif, 'the interface VRRP runs on, e.g. eth0'] } as const;
  for (const [name, [value, what]] of Object.entries(required)) if (value === undefined) errors.push(`${name} is required: ${what}`);
  const name = flag(nodeName, 'NAME', f.name, errors);
  const mode = f.haMode === undefined ? undefined : f.haMode === 'cinder' ? undefined : flag(haMode, '--ha_mode', f.haMode, errors);
  if (f.haMode === 'cinder') errors.push(`--ha_mode cinder: ${CINDER_HINT}`);
  if (f.kadVif !== undefined) flag(interfaceName, '--kad_vif', f.kadVif, errors);
  const kadVri = f.kadVri === undefined ? undefined : flag(vri, '--kad_vri', /^\d+$/.test(f.kadVri) ? Number(f.kadVri) : f.kadVri, errors);
  const vip = f.kadVip === undefined ? undefined : parseKadVip(f.kadVip);
  if (typeof vip === 'string') errors.push(vip);
  const family = vip === undefined || typeof vip === 'string' ? undefined : vip.family;
  // Checked here too, so a bad list is reported beside a bad VIP (provision.ts checks it against the host).
  const nodeList = f.haNodeList === undefined ? undefined : parseNodeList(f.haNodeList, family);
  if (typeof nodeList === 'string') errors.push(nodeList);
  const unicast = checkUnicast(f, family, errors);
  const ipaddr = f.ipaddr === undefined ? undefined : splitList(f.ipaddr).flatMap((a) => flag(hostAddress, '--ipaddr', a, errors)?.address ?? []);
  if (f.ipaddr !== undefined && splitList(f.ipaddr).length === 0) errors.push('--ipaddr "": give this node\'s address (one of --ha_node_list)');
  const witness = f.gatewayIp === undefined ? undefined : flag(witnessAddress, '--gateway_ip', f.gatewayIp, errors);
  const routes = (f.route ?? []).flatMap(splitList).flatMap((r) => {
    const route = parseRoute(r);
    if (typeof route === 'string') errors.push(route);
    return typeof route === 'string' ? [] : [route];
  });
  const twice = routes.find((r, i) => routes.findIndex((o) => o.prefix === r.prefix) !== i);
  if (twice !== undefined) errors.push(`--route: ${twice.prefix} is given twice; each prefix once (ip route replace would keep only the last)`);
  flag(absolutePath, '--config-dir', f.configDir, errors);
  const secretFile = f.secretFile === undefined ? posix.join(f.configDir, 'secret') : flag(absolutePath, '--secret_file', f.secretFile, errors);
  const volume = mode === undefined || name === undefined ? undefined : checkVolume(f, mode, name, errors);
  const bytes = f.dbSize === undefined ? undefined : flag(dbSize, '--db_size', f.dbSize, errors);
  const { haNodeList, kadVip, kadVif, configDir } = f;
  if (errors.length > 0 || name === undefined || mode === undefined || secretFile === undefined) return errors;
  if (haNodeList === undefined || kadVip === undefined || kadVif === undefined) return errors; // reported above
  const out: CheckedFlags = { name, mode, haNodeList, kadVip, kadVif, configDir, routes, secretFile, ...volume };
  if (kadVri !== undefined) out.kadVri = kadVri;
  if (unicast !== undefined) out.unicast = unicast;
  if (ipaddr !== undefined) out.ipaddr = ipaddr;
  if (witness !== undefined) out.witness = witness;
  if (f.dbSize !== undefined && bytes !== undefined) out.dbSize = { text: f.dbSize, bytes };
  return out;
}

// Both or neither; addresses of the VIP's family (one VRRP instance speaks one family).
function checkUnicast(f: ProvisionFlags, family: 4 | 6 | undefined, errors: string[]): CheckedFlags['unicast'] {
  if (f.kadUnicastSrcIp === undefined && f.kadUnicastPeer === undefined) return undefined;
  if (f.kadUnicastSrcIp === undefined || f.kadUnicastPeer === undefined) {
    const [given, missing] = f.kadUnicastSrcIp === undefined ? ['--kad_unicast_peer', '--kad_unicast_src_ip'] : ['--kad_unicast_src_ip', '--kad_unicast_peer'];
    errors.push(`${given} needs ${missing}: give both (VRRP between other addresses than --ha_node_list's) or neither`);
    return undefined;
  }
  const before = errors.length;
  const read = (name: string, text: string): string | undefined => {
    const a = flag(hostAddress, name, text, errors);
    if (a !== undefined && family !== undefined && a.family !== family) errors.push(`${name} ${JSON.stringify(text)}: an IPv${a.family} address, but the VIP is IPv${family}: one VRRP instance speaks one family`);
    return a?.address;
  };
  const src = read('--kad_unicast_src_ip', f.kadUnicastSrcIp);
  const peers = splitList(f.kadUnicastPeer).flatMap((p) => read('--kad_unicast_peer', p) ?? []);
  if (splitList(f.kadUnicastPeer).length === 0) errors.push('--kad_unicast_peer "": give the peers\' VRRP addresses, separated by spaces');
  if (src !== undefined && peers.includes(src)) errors.push(`--kad_unicast_peer ${JSON.stringify(f.kadUnicastPeer)} lists ${src}, which is --kad_unicast_src_ip: a node is not its own peer`);
  if (new Set(peers).size !== peers.length) errors.push(`--kad_unicast_peer ${JSON.stringify(f.kadUnicastPeer)} lists an address twice`);
  return errors.length > before || src === undefined ? undefined : { src, peers };
}

// The replicated volume's device and the peer's name; neither for no_ha.
function checkVolume(f: ProvisionFlags, mode: HaMode, name: string, errors: string[]): Pick<CheckedFlags, 'device' | 'peerName'> {
  if (mode === 'no_ha') {
    const extra = (['peerName', 'dbVolumeId', 'dbSize', 'secretFile'] as const).filter((k) => f[k] !== undefined);
    const flags = { peerName: '--peer_name', dbVolumeId: '--db_volume_id', dbSize: '--db_size', secretFile: '--secret_file' };
    if (extra.length > 0) errors.push(`${extra.map((k) => flags[k]).join(', ')}: only with --ha_mode drbd or drbd_on_cinder; no_ha replicates nothing`);
    // The witness opens the boot gate, which only a node with a replicated volume has (docs/ha.md "Boot gate").
    if (f.gatewayIp !== undefined) errors.push('--gateway_ip: only with --ha_mode drbd or drbd_on_cinder; a no_ha node has no replicated volume, so no boot gate for a witness to open: it starts at once');
    return {};
  }
  const out: Pick<CheckedFlags, 'device' | 'peerName'> = {};
  if (f.peerName === undefined) errors.push(`--peer_name is required with --ha_mode ${mode}: the peer's NAME, which the replication handshake checks`);
  else {
    const peer = flag(nodeName, '--peer_name', f.peerName, errors);
    if (peer === name) errors.push(`--peer_name ${JSON.stringify(peer)} is NAME: give the other node's name`);
    else if (peer !== undefined) out.peerName = peer;
  }
  if (f.dbVolumeId === undefined) {
    if (mode === 'drbd_on_cinder') errors.push('--db_volume_id is required with --ha_mode drbd_on_cinder: the attached volume (a device path such as /dev/vdb, or its cinder id)');
    else out.device = DEFAULT_DB_IMAGE;
    return out;
  }
  const id = f.dbVolumeId;
  if (CINDER_ID.test(id)) out.device = `/dev/disk/by-id/virtio-${id.toLowerCase().slice(0, 20)}`;
  else if (id.startsWith('/') && !/[\x00-\x1f\x7f]/.test(id)) out.device = id;
  else errors.push(`--db_volume_id ${JSON.stringify(id)}: must be an absolute path (an image file, or a device such as /dev/vdb; no newline or other control character) or a cinder volume id (8-4-4-4-12 hex digits)`);
  if (out.device !== undefined && mode === 'drbd_on_cinder' && !out.device.startsWith('/dev/')) {
    errors.push(`--db_volume_id ${JSON.stringify(id)}: drbd_on_cinder replicates an attached device (a path under /dev/, or a cinder volume id); for an image file use --ha_mode drbd`);
    delete out.device;
  }
  return out;
}
