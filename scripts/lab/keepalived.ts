// Real keepalived as a lab peer: a configuration written from the same
// options tandem's lab configs take, started in a host's namespace in the
// foreground with its log in the host's directory.
import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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

// Starts a process whose output goes straight to a file in the host's
// directory (a shell redirection, then exec: same pid). Lab.spawn pipes output
// through the test process, so a log line can land in the file after the
// effect it announces is already visible; tests that read logs to decide need
// the process to write them itself.
export function spawnWritingLog(lab: Lab, h: LabHost, cmd: string[], logName: string): LabProcess {
  const logFile = join(h.dir, logName);
  const p = lab.spawn(h, ['sh', '-c', 'log=$1; shift; exec "$@" >>"$log" 2>&1', 'sh', logFile, ...cmd], `${logName}.spawn`);
  return { ...p, logFile };
}

// -n foreground, -l log to the console, -D detailed, -G no syslog, -P VRRP
// only, -R no respawn; pid files in the host's directory (not /run), and
// TMPDIR there too: keepalived writes its SIGUSR2 stats to $TMPDIR, and /tmp
// is shared by every namespace. Options keepalived 2.2.7 has no keyword for
// (v3ChecksumAsV2) are not written.
export function startKeepalived(lab: Lab, h: LabHost, instances: InstanceOptions[]): LabProcess {
  const conf = lab.write(h, 'keepalived.conf', keepalivedConfig(h, instances));
  return spawnWritingLog(
    lab,
    h,
    ['env', `TMPDIR=${h.dir}`, 'keepalived', '-n', '-l', '-D', '-G', '-P', '-R', '-f', conf, '-p', join(h.dir, 'keepalived.pid'), '-r', join(h.dir, 'vrrp.pid')],
    'keepalived.log',
  );
}

// Pid of keepalived's VRRP child (killing it with SIGKILL is a crash: no
// priority-0 advert, the VIPs stay), or of the parent.
export function keepalivedPid(h: LabHost, which: 'parent' | 'vrrp' = 'parent'): number {
  const pid = Number(readFileSync(join(h.dir, which === 'parent' ? 'keepalived.pid' : 'vrrp.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no keepalived ${which} pid for ${h.name}`);
  return pid;
}

export function keepalivedLog(p: LabProcess): string {
  try {
    return readFileSync(p.logFile, 'utf8');
  } catch {
    return '';
  }
}

// The state keepalived last logged for an instance ("(VI_1) Entering BACKUP
// STATE (init)" and the like), or null before the first one.
export function keepalivedState(p: LabProcess, name = 'VI_1'): string | null {
  let last: string | null = null;
  const re = /\(([^)]+)\) Entering (\w+) STATE/g;
  for (const m of keepalivedLog(p).matchAll(re)) if (m[1] === name) last = m[2] ?? null;
  return last;
}

// keepalived's SIGUSR2 counters, flattened to "Section/Counter" keys, e.g.
// "Advertisements/Received", "Packet Errors/TTL", "Authentication Errors/Failure",
// "Became master".
export type KeepalivedStats = Record<string, number>;

export function parseKeepalivedStats(text: string, name = 'VI_1'): KeepalivedStats | null {
  const out: KeepalivedStats = {};
  let inInstance = false;
  let section = '';
  for (const line of text.split('\n')) {
    const inst = /^VRRP Instance: (.+)$/.exec(line);
    if (inst) {
      inInstance = inst[1] === name;
      continue;
    }
    if (!inInstance) continue;
    const head = /^ {2}(\S[^:]*):$/.exec(line);
    if (head) {
      section = head[1] as string;
      continue;
    }
    const top = /^ {2}(\S[^:]*): (\d+)$/.exec(line);
    if (top) {
      out[top[1] as string] = Number(top[2]);
      section = '';
      continue;
    }
    const sub = /^ {4}(\S[^:]*): (\d+)$/.exec(line);
    if (sub) out[`${section}/${sub[1] as string}`] = Number(sub[2]);
  }
  // The file is complete once the last counter is there.
  return out['Priority Zero/Sent'] === undefined ? null : out;
}

// Asks a running keepalived for its counters (SIGUSR2 to the parent, which has
// the VRRP child write $TMPDIR/keepalived.stats) and waits for the file.
export async function keepalivedStats(h: LabHost, name = 'VI_1', timeoutMs = 5000): Promise<KeepalivedStats> {
  const file = join(h.dir, 'keepalived.stats');
  rmSync(file, { force: true });
  process.kill(keepalivedPid(h), 'SIGUSR2');
  const end = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const stats = parseKeepalivedStats(text, name);
    if (stats !== null) return stats;
    if (Date.now() > end) throw new Error(`keepalived on ${h.name} wrote no stats for ${name} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
