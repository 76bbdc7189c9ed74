// One entry of vrrp.instances (keepalived's vrrp_instance block).
import { bool, check, Fields, integer, mapping, oneOf, seconds, type Check } from './checks.js';
import type { Issues } from './issues.js';
import { command, interfaceName, objectName } from './names.js';
import type { KeyPath } from './path.js';
import { checkKeys } from './suggest.js';
import type { InstanceConfig, NotifyConfig, VrrpVersion } from './types.js';
import { readAuthentication } from './vrrp-auth.js';
import { readAddresses, type InstanceAddresses } from './vrrp-family.js';
import { readTrackInterfaces, readTrackScripts } from './vrrp-trackers.js';

export const NOTIFY_KEYS = ['notify', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop'] as const;
export const INSTANCE_KEYS = [
  'name', 'interface', 'state', 'virtual_router_id', 'priority', 'advert_int', 'version',
  'nopreempt', 'preempt_delay', 'unicast_src_ip', 'unicast_peer', 'check_unicast_src',
  'authentication', 'v3_checksum_as_v2', 'virtual_ipaddress', 'track_interface', 'track_script',
  'garp_master_delay', 'garp_master_repeat', 'garp_master_refresh', ...NOTIFY_KEYS,
] as const;

// keepalived keywords a migrating user may bring along, with what to do instead.
const unsupported = (k: string): string => `keepalived's ${k} is not supported by tandem`;
export const INSTANCE_HINTS: Readonly<Record<string, string>> = {
  mcast_src_ip: 'keepalived\'s mcast_src_ip is written unicast_src_ip here (it also sets the source of multicast adverts)',
  preempt: 'preemption is on unless nopreempt: true',
  notify_fifo: `${unsupported('notify_fifo')}: the control socket streams the same events as JSON lines`,
  ...Object.fromEntries(
    ['use_vmac', 'vmac_xmit_base', 'accept', 'no_accept', 'dont_track_primary', 'virtual_routes', 'virtual_rules',
      'virtual_ipaddress_excluded', 'smtp_alert', 'track_process', 'track_file', 'track_bfd', 'lvs_sync_daemon_interface']
      .map((k) => [k, unsupported(k)]),
  ),
};

export const DEFAULT_PRIORITY = 100; // keepalived's default
export const DEFAULT_ADVERT_INT_CS = 100;
const MAX_GARP_S = 86400;

const version: Check<VrrpVersion> = check('2 or 3', (v) => (v === 2 || v === 3 ? v : undefined));
// RFC 3768 5.3.7: an 8-bit count of seconds. RFC 5798 5.2.7: 12 bits of centiseconds.
const advertIntV2 = check('a whole number of seconds 1..255 for VRRPv2 (fractions need version: 3)', (v) =>
  Number.isInteger(v) && Number(v) >= 1 && Number(v) <= 255 ? Number(v) * 100 : undefined,
);
const advertIntV3 = seconds(0.01, 40.95, 100);

// What the cross-instance checks need, even when the instance itself has errors.
export interface InstanceDraft {
  at: KeyPath;
  name?: string;
  iface?: string;
  vrid?: number;
  addresses: InstanceAddresses;
  config?: InstanceConfig; // set when every required key was readable
}

// `scriptNames` is undefined when vrrp.scripts is unreadable: references are then not checked.
export function readInstance(raw: unknown, at: KeyPath, scriptNames: readonly string[] | undefined, issues: Issues): InstanceDraft | undefined {
  const obj = mapping(raw, at, issues, `a VRRP instance with keys such as ${INSTANCE_KEYS.slice(0, 5).join(', ')}`);
  if (obj === undefined) return undefined;
  checkKeys(obj, INSTANCE_KEYS, at, issues, INSTANCE_HINTS);
  const f = new Fields(obj, at, issues);
  const name = f.required('name', objectName);
  const iface = f.required('interface', interfaceName);
  const vrid = f.required('virtual_router_id', integer(1, 255));
  const priority = f.withDefault('priority', integer(1, 255), DEFAULT_PRIORITY);
  const initialState = f.withDefault('state', oneOf(['BACKUP', 'MASTER'] as const), 'BACKUP');
  const addresses = readAddresses(f, iface, issues);
  const family = addresses.family;

  let ver = f.withDefault('version', version, 3);
  if (family === 6 && ver === 2) {
    issues.error(f.path('version'), 2, 'IPv6 instances are always VRRPv3 (RFC 5798); VRRPv2 (RFC 3768) carries IPv4 only: set version: 3');
    ver = 3;
  }
  const advertIntCs = f.withDefault('advert_int', ver === 2 ? advertIntV2 : advertIntV3, DEFAULT_ADVERT_INT_CS);
  const nopreempt = f.withDefault('nopreempt', bool, false);
  const preemptDelayMs = f.withDefault('preempt_delay', seconds(0, 1000, 1000), 0);
  const checkUnicastSrc = f.withDefault('check_unicast_src', bool, false);
  if (checkUnicastSrc && addresses.unicastPeer.length === 0 && !f.has('unicast_peer')) {
    issues.error(f.path('check_unicast_src'), true, 'check_unicast_src applies only to unicast instances: add unicast_peer, or remove it');
  }
  const authentication = f.has('authentication') ? readAuthentication(f.raw('authentication'), f.path('authentication'), ver, issues) : undefined;
  const v3ChecksumAsV2 = f.withDefault('v3_checksum_as_v2', bool, false);
  if (v3ChecksumAsV2 && (ver === 2 || family === 6)) {
    issues.warn(f.path('v3_checksum_as_v2'), true, 'has no effect: it only changes the checksum of VRRPv3 over IPv4');
  }
  const trackInterface = readTrackInterfaces(f.raw('track_interface'), f.path('track_interface'), issues);
  const trackScript = readTrackScripts(f.raw('track_script'), f.path('track_script'), issues, scriptNames);
  const garpMasterDelayMs = f.withDefault('garp_master_delay', seconds(0, MAX_GARP_S, 1000), 5000);
  const garpMasterRepeat = f.withDefault('garp_master_repeat', integer(1, 255), 5);
  const garpMasterRefreshMs = f.withDefault('garp_master_refresh', seconds(0, MAX_GARP_S, 1000), 0);
  const notify = readNotify(f);
  warnPreemption(f, { initialState, nopreempt, preemptDelayMs, priority });

  const draft: InstanceDraft = { at, addresses };
  if (name !== undefined) draft.name = name;
  if (iface !== undefined) draft.iface = iface;
  if (vrid !== undefined) draft.vrid = vrid;
  if (name === undefined || iface === undefined || vrid === undefined || addresses.vips.length === 0) return draft;
  const config: InstanceConfig = {
    name, interface: iface, virtualRouterId: vrid, priority, advertIntCs, version: ver, family, initialState,
    // An owner's nopreempt is reset (warned above), as keepalived does.
    nopreempt: nopreempt && priority !== 255, preemptDelayMs, unicastPeer: addresses.unicastPeer, checkUnicastSrc, v3ChecksumAsV2,
    virtualIpaddress: addresses.vips.map(({ address, prefix, family: fam, dev, label }) =>
      label === undefined ? { address, prefix, family: fam, dev: dev ?? iface } : { address, prefix, family: fam, dev: dev ?? iface, label }),
    trackInterface, trackScript, garpMasterDelayMs, garpMasterRepeat, garpMasterRefreshMs, ...notify,
  };
  if (addresses.unicastSrcIp !== undefined) config.unicastSrcIp = addresses.unicastSrcIp;
  if (authentication !== undefined) config.authentication = authentication;
  draft.config = config;
  return draft;
}

export function readNotify(f: Fields): NotifyConfig {
  const out: NotifyConfig = {};
  const set = (key: (typeof NOTIFY_KEYS)[number], field: keyof NotifyConfig): void => {
    const v = f.optional(key, command);
    if (v !== undefined) out[field] = v;
  };
  set('notify', 'notify');
  set('notify_master', 'notifyMaster');
  set('notify_backup', 'notifyBackup');
  set('notify_fault', 'notifyFault');
  set('notify_stop', 'notifyStop');
  return out;
}

// Accepted combinations that keepalived users often misread.
function warnPreemption(f: Fields, i: { initialState: string; nopreempt: boolean; preemptDelayMs: number; priority: number }): void {
  if (!i.nopreempt) return;
  if (i.initialState === 'MASTER') {
    f.issues.warn(f.path('nopreempt'), true, 'nopreempt is meant for state: BACKUP; with state: MASTER keepalived warns that it will not work');
  }
  if (i.preemptDelayMs > 0) f.issues.warn(f.path('preempt_delay'), f.raw('preempt_delay'), 'has no effect with nopreempt: true');
  if (i.priority === 255) f.issues.warn(f.path('nopreempt'), true, 'an address owner (priority 255) always preempts (RFC 5798 6.1): nopreempt is ignored, as keepalived resets it');
}
