// `tandem ha set`: escadm's `ha set` (issue 5). Edits the configuration file
// in place (comments kept, config/ha-set.ts), validates the result with the
// daemon's own validator and writes it atomically only if it is valid;
// prints what changed. The running daemon picks it up at its next restart.
import { stat } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { applyHaSet } from '../config/ha-set.js';
import { formatIssues, MAX_CONFIG_BYTES, parseConfigText, readConfigText } from '../config/load.js';
import { EX_CONFIG, EX_OSERR, TandemError } from '../errors.js';
import { runIpJson } from '../net/ip-command.js';
import { once } from './once.js';
import { refuseStrayArguments } from './stray-arguments.js';
import { DEFAULT_CONFIG } from './socket-path.js';
import { writeAtomic } from './write-atomic.js';

interface HaSetOpts {
  config: string;
  ha_node_list: string;
  kad_vip: string;
  kad_vif: string;
  kad_vri?: number;
  instance?: string;
  dryRun?: boolean;
}

function vri(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 255) throw new InvalidArgumentError('a virtual router id: an integer 1..255');
  return n;
}

// Every address on this host, to tell which of --ha_node_list is this node, and every interface (ip -j addr).
export interface LocalHost {
  addresses: string[];
  interfaces: string[];
}

async function localHost(): Promise<LocalHost> {
  const rows = await runIpJson<Array<{ ifname?: string; addr_info?: Array<{ local: string }> }>>(['addr', 'show']);
  return {
    addresses: rows.flatMap((r) => (r.addr_info ?? []).map((a) => a.local)),
    interfaces: rows.flatMap((r) => (r.ifname === undefined ? [] : [r.ifname])),
  };
}

// What a running daemon needs to take the change: reload applies VIP lists live, the rest needs a restart.
export function howToApply(changes: readonly string[]): string {
  const keys = changes.map((c) => /^vrrp\.instances\[\d+\](?:\.(\w+))?:/.exec(c)?.[1] ?? 'instance');
  const others = [...new Set(keys.filter((k) => k !== 'virtual_ipaddress'))];
  if (others.length === 0) return 'run `tandem reload` to apply it (VIPs change live)';
  return `restart the daemon to apply it (systemctl restart tandem): ${others.join(', ')} changed, which reload does not apply`;
}

export function addHaCommands(program: Command, local: () => Promise<LocalHost> = localHost): Command {
  const ha = program.command('ha').description('HA settings of this node (escadm-style)');
  ha.command('set')
    .description('set the VRRP pair in the configuration file: node addresses, VIP, interface, router id')
    .requiredOption('--ha_node_list <addresses>', 'both nodes\' addresses, e.g. \'192.0.2.11 192.0.2.12\' (one must be this host\'s)', once('--ha_node_list'))
    .requiredOption('--kad_vip <vip>', 'the VIP: ADDR[/PREFIX][:IFACE], or [ADDR/PREFIX]:IFACE for IPv6', once('--kad_vip'))
    .requiredOption('--kad_vif <iface>', 'the interface VRRP runs on', once('--kad_vif'))
    .option('--kad_vri <id>', 'virtual router id (default: the VIP\'s last byte)', once('--kad_vri', vri))
    .option('--instance <name>', 'the vrrp instance to edit (default: the first; VI_1 is created when there is none)', once('--instance'))
    .option('-c, --config <file>', `configuration file (default: ${DEFAULT_CONFIG})`, once('--config'))
    .option('--dry-run', 'print what would change, write nothing')
    .allowExcessArguments()
    .action(async (opts: Omit<HaSetOpts, 'config'> & { config?: string }, cmd: Command) => {
      refuseStrayArguments(cmd.args, 'flags only');
      const o: HaSetOpts = { ...opts, config: opts.config ?? DEFAULT_CONFIG };
      // As the daemon reads it: a device or FIFO named by mistake is never replaced by a regular file.
      const read = await readConfigText(o.config);
      if (!read.ok) throw new TandemError('CONFIG_INVALID', `${read.issue.message}; nothing written`, { exitCode: EX_CONFIG });
      const source = read.text;
      const host = await local();
      const r = applyHaSet(source, {
        haNodeList: o.ha_node_list, kadVip: o.kad_vip, kadVif: o.kad_vif,
        ...(o.kad_vri !== undefined ? { kadVri: o.kad_vri } : {}), ...(o.instance !== undefined ? { instance: o.instance } : {}),
      }, host.addresses, host.interfaces);
      if (!r.ok) throw new TandemError('HA_SET_REFUSED', r.error, { exitCode: r.file === true ? EX_CONFIG : 64 });
      // The daemon's own validator decides: an edit that would not start is not written.
      if (Buffer.byteLength(r.text) > MAX_CONFIG_BYTES) {
        throw new TandemError('CONFIG_INVALID', `the edited configuration would be larger than ${MAX_CONFIG_BYTES} bytes, which the daemon refuses; ${o.config} is unchanged`, { exitCode: EX_CONFIG });
      }
      const v = parseConfigText(r.text);
      if (!v.ok) throw new TandemError('CONFIG_INVALID', `the edited configuration would be refused, ${o.config} is unchanged:\n${formatIssues(v.issues, o.config)}`, { exitCode: EX_CONFIG });
      if (r.changes.length === 0) {
        process.stdout.write(`${o.config}: nothing to change\n`);
        return;
      }
      const changes = r.changes.map((c) => `${c}\n`).join('');
      if (o.dryRun === true) {
        process.stdout.write(`${changes}${o.config} not written (--dry-run); once written, ${howToApply(r.changes)}\n`);
        return;
      }
      // The changes are printed once they are in the file: a failed write shows none of them as made.
      const mode = (await stat(o.config)).mode & 0o777;
      await writeAtomic(o.config, r.text, mode).catch((e: NodeJS.ErrnoException) => {
        throw new TandemError('HA_SET_WRITE_FAILED', `cannot write ${o.config}: ${e.code ?? e.message}; it is unchanged`, { exitCode: EX_OSERR, cause: e });
      });
      process.stdout.write(`${changes}${o.config} written; ${howToApply(r.changes)}\n`);
    });
  return ha;
}
