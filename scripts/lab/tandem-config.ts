// Builds a tandem configuration for a lab host: one VRRP instance on the
// shared segment, with the options a test or the demo wants.
import { join } from 'node:path';
import type { LabHost } from './lab.js';

export interface InstanceOptions {
  name?: string;
  vrid?: number;
  priority: number;
  advertInt?: number;
  version?: 2 | 3;
  family?: 4 | 6;
  vips?: string[];
  nopreempt?: boolean;
  preemptDelay?: number;
  unicastPeers?: string[];
  checkUnicastSrc?: boolean;
  authPass?: string;
  v3ChecksumAsV2?: boolean;
  trackScript?: { name: string; script: string; weight: number; interval?: number; rise?: number; fall?: number };
  trackInterface?: { name: string; weight: number }[];
  notify?: string;
  garpMasterDelay?: number;
  garpMasterRepeat?: number;
}

export function controlSocket(h: LabHost): string {
  return join(h.dir, 'control.sock');
}

function instanceYaml(h: LabHost, o: InstanceOptions): string {
  const family = o.family ?? 4;
  const vips = o.vips ?? [family === 4 ? '192.0.2.100/24' : '2001:db8:1::100/64'];
  const lines = [
    `    - name: ${o.name ?? 'VI_1'}`,
    `      interface: ${h.dev}`,
    `      virtual_router_id: ${o.vrid ?? 51}`,
    `      priority: ${o.priority}`,
    `      advert_int: ${o.advertInt ?? 1}`,
    `      version: ${o.version ?? 3}`,
    `      nopreempt: ${o.nopreempt === true}`,
    `      preempt_delay: ${o.preemptDelay ?? 0}`,
    `      garp_master_delay: ${o.garpMasterDelay ?? 5}`,
    ...(o.garpMasterRepeat === undefined ? [] : [`      garp_master_repeat: ${o.garpMasterRepeat}`]),
    `      virtual_ipaddress: [${vips.join(', ')}]`,
  ];
  if (o.unicastPeers !== undefined) {
    lines.push(`      unicast_src_ip: ${family === 4 ? h.ipv4 : h.ipv6}`, `      unicast_peer: [${o.unicastPeers.join(', ')}]`);
    if (o.checkUnicastSrc === true) lines.push('      check_unicast_src: true');
  }
  if (o.authPass !== undefined) lines.push(`      authentication: { auth_type: PASS, auth_pass: ${o.authPass} }`);
  if (o.v3ChecksumAsV2 === true) lines.push('      v3_checksum_as_v2: true');
  if (o.trackScript !== undefined) lines.push(`      track_script: [${o.trackScript.name}]`);
  if (o.trackInterface !== undefined) {
    lines.push(`      track_interface: [${o.trackInterface.map((t) => `{ name: ${t.name}, weight: ${t.weight} }`).join(', ')}]`);
  }
  if (o.notify !== undefined) lines.push(`      notify: ${JSON.stringify(o.notify)}`);
  return lines.join('\n');
}

export type SyncGroupOptions = string[] | { group: string[]; notify: string };

export function tandemConfig(h: LabHost, instances: InstanceOptions[], syncGroups: Record<string, SyncGroupOptions> = {}): string {
  const out = [
    `node: { name: ${h.name}, state_dir: ${join(h.dir, 'state')}, control_socket: ${controlSocket(h)} }`,
    'vrrp:',
    '  instances:',
    ...instances.map((o) => instanceYaml(h, o)),
  ];
  const scripts = instances.flatMap((o) => (o.trackScript ? [o.trackScript] : []));
  if (scripts.length > 0) {
    out.push('  scripts:');
    for (const s of scripts) {
      out.push(`    ${s.name}: { script: ${JSON.stringify(s.script)}, interval: ${s.interval ?? 0.2}, weight: ${s.weight}, rise: ${s.rise ?? 1}, fall: ${s.fall ?? 1} }`);
    }
  }
  const groups = Object.entries(syncGroups);
  if (groups.length > 0) {
    out.push('  sync_groups:');
    for (const [name, g] of groups) {
      out.push(Array.isArray(g) ? `    ${name}: [${g.join(', ')}]` : `    ${name}: { group: [${g.group.join(', ')}], notify: ${JSON.stringify(g.notify)} }`);
    }
  }
  return `${out.join('\n')}\n`;
}
