// Real keepalived as a lab peer: a configuration written from the same
// options tandem's lab configs take, started in a host's namespace in the
// foreground with its log in the host's directory.
import { join } from 'node:path';
import type { Lab, LabHost, LabProcess } from './lab.js';
import type { InstanceOptions } from './tandem-config.js';

function instanceBlock(h: LabHost, o: InstanceOptions): string {
  const family = o.family ?? 4;
  const vips = o.vips ?? [family === 4 ? '192.0.2.100/24' : '2001:db8:1::100/64'];
  const lines = [
    `vrrp_instance ${o.name ?? 'VI_1'} {`,
    '  state BACKUP',
    `  interface ${h.dev}`,
    `  virtual_router_id ${o.vrid ?? 51}`,
    `  priority ${o.priority}`,
    `  advert_int ${o.advertInt ?? 1}`,
    `  version ${o.version ?? 3}`,
    `  garp_master_delay ${o.garpMasterDelay ?? 5}`,
  ];
  if (o.nopreempt === true) lines.push('  nopreempt');
  if ((o.preemptDelay ?? 0) > 0) lines.push(`  preempt_delay ${o.preemptDelay}`);
  if (o.unicastPeers !== undefined) {
    lines.push(`  unicast_src_ip ${family === 4 ? h.ipv4 : h.ipv6}`, `  unicast_peer {`, ...o.unicastPeers.map((p) => `    ${p}`), '  }');
    if (o.checkUnicastSrc === true) lines.push('  check_unicast_src');
  }
  if (o.authPass !== undefined) lines.push('  authentication {', '    auth_type PASS', `    auth_pass ${o.authPass}`, '  }');
  lines.push('  virtual_ipaddress {', ...vips.map((v) => `    ${v} dev ${h.dev}`), '  }', '}');
  return lines.join('\n');
}

export function keepalivedConfig(h: LabHost, instances: InstanceOptions[]): string {
  return [
    'global_defs {',
    `  router_id ${h.name}`,
    '  script_user root',
    '  enable_script_security',
    '}',
    ...instances.map((o) => instanceBlock(h, o)),
    '',
  ].join('\n');
}

// -n foreground, -l log to the console, -D detailed, -G no syslog, -P VRRP
// only, -R no respawn; pid files in the host's directory (not /run).
export function startKeepalived(lab: Lab, h: LabHost, instances: InstanceOptions[]): LabProcess {
  const conf = lab.write(h, 'keepalived.conf', keepalivedConfig(h, instances));
  return lab.spawn(
    h,
    ['keepalived', '-n', '-l', '-D', '-G', '-P', '-R', '-f', conf, '-p', join(h.dir, 'keepalived.pid'), '-r', join(h.dir, 'vrrp.pid')],
    'keepalived.log',
  );
}
