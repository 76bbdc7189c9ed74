// `tandem provision NAME` (bootvm.py's flags, issue 5): writes this node's
// tandem.yaml and systemd units (config/provision.ts makes them, validated),
// and the replication secret when there is none. Every file is written
// atomically; an existing one that differs is replaced only with --force.
// Prints every path with what was written; --dry-run writes nothing.
import { randomBytes } from 'node:crypto';
import { lstat, readFile, stat } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { formatWarnings } from '../config/load.js';
import { checkFlags, provision, type DeviceFacts, type ProvisionFlags, type Provisioned } from '../config/provision.js';
import { ROUTES_UNIT } from '../config/provision-units.js';
import { EX_CONFIG, EX_OSERR, EX_USAGE, TandemError } from '../errors.js';
import { blockDeviceSize } from '../replication/block/image.js';
import { readSecret } from '../replication/secret-file.js';
import { once } from './once.js';
import { refuseStrayArguments } from './stray-arguments.js';
import { writeAtomic as writeFileAtomic } from './write-atomic.js';

interface ProvisionOpts {
  ha_mode?: string;
  ha_node_list?: string;
  kad_vip?: string;
  kad_vif?: string;
  kad_vri?: string;
  kad_unicast_src_ip?: string;
  kad_unicast_peer?: string;
  peer_name?: string;
  db_volume_id?: string;
  db_size?: string;
  ipaddr?: string;
  gateway_ip?: string;
  route: string[];
  secret_file?: string;
  configDir?: string;
  unitDir?: string;
  force?: boolean;
  dryRun?: boolean;
}

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..'); // dist/lib/cli -> the package
const SECRET_BYTES = 32;
const DEFAULT_CONFIG_DIR = '/etc/tandem';
const DEFAULT_UNIT_DIR = '/etc/systemd/system';

// --unit-dir is not part of the checked flags (config/provision-flags.ts): its path is checked here alike.
function unitDir(value: string): string {
  if (/[\x00-\x1f\x7f]/.test(value)) throw new InvalidArgumentError(`${JSON.stringify(value)} holds a control character (a newline?); allowed: a directory path`);
  return value;
}

export function addProvisionCommand(program: Command): void {
  program.command('provision')
    .description('write this node\'s configuration and systemd units from bootvm.py-style flags (docs/provision.md)')
    .argument('<NAME>', 'this node\'s name (node.name); the other node\'s is its --peer_name')
    .option('--ha_mode <mode>', 'no_ha (VIP failover only), drbd (volume on an image file) or drbd_on_cinder (on an attached device)', once('--ha_mode'))
    .option('--ha_node_list <addresses>', 'both nodes\' addresses, e.g. \'192.0.2.11 192.0.2.12\' (the same list on both nodes)', once('--ha_node_list'))
    .option('--kad_vip <vip>', 'the VIP: ADDR[/PREFIX][:IFACE], or [ADDR/PREFIX]:IFACE for IPv6', once('--kad_vip'))
    .option('--kad_vif <iface>', 'the interface VRRP runs on', once('--kad_vif'))
    .option('--kad_vri <id>', 'virtual router id 1..255 (default: the VIP\'s last byte)', once('--kad_vri'))
    .option('--kad_unicast_src_ip <address>', 'VRRP source address, when adverts go over other addresses than --ha_node_list', once('--kad_unicast_src_ip'))
    .option('--kad_unicast_peer <addresses>', 'the peers\' VRRP addresses (with --kad_unicast_src_ip)', once('--kad_unicast_peer'))
    .option('--peer_name <name>', 'the other node\'s NAME (required with drbd and drbd_on_cinder)', once('--peer_name'))
    .option('--db_volume_id <path|id>', 'the volume\'s image file or device, or a cinder volume id (default for drbd: /var/lib/tandem/db.img)', once('--db_volume_id'))
    .option('--db_size <size>', 'size of a new image file, e.g. 10GiB (default 10GiB; an existing file or device keeps its own)', once('--db_size'))
    .option('--ipaddr <addresses>', 'this node\'s address: the --ha_node_list entry among these (default: among this host\'s)', once('--ipaddr'))
    .option('--gateway_ip <address>', 'startup witness: its ping answer lets a node that is up alone start', once('--gateway_ip'))
    .option('--route <prefix:gateway:iface>', 'a static route, in tandem-routes.service (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--secret_file <path>', 'the replication secret, the same on both nodes (default CONFIG_DIR/secret; created when missing)', once('--secret_file'))
    .option('--config-dir <dir>', `where tandem.yaml goes (default: ${DEFAULT_CONFIG_DIR})`, once('--config-dir'))
    .option('--unit-dir <dir>', `where the systemd units go (default: ${DEFAULT_UNIT_DIR})`, once('--unit-dir', unitDir))
    .option('--force', 'replace existing files that differ')
    .option('--dry-run', 'print what would be written, write nothing')
    .allowExcessArguments()
    .action(async (name: string, o: ProvisionOpts, cmd: Command) => {
      refuseStrayArguments(cmd.args.slice(1), 'one NAME, then flags');
      await run(name, o);
    });
}

async function run(name: string, o: ProvisionOpts): Promise<void> {
  const c = checkFlags(flagsOf(name, o));
  if (Array.isArray(c)) throw refused(c);
  const device = c.device === undefined ? undefined : await deviceFacts(c.device);
  const r = provision(c, {
    localAddresses: Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address)),
    ...(device === undefined ? {} : { device }),
    daemonUnit: await readFile(join(ROOT, 'systemd', 'tandem.service'), 'utf8'),
    daemon: [process.execPath, join(ROOT, 'bin', 'tandem')],
  });
  if (!r.ok) throw refused(r.errors);
  const files = [{ path: r.out.configFile, text: r.out.config }, ...r.out.units.map((u) => ({ path: join(resolve(o.unitDir ?? DEFAULT_UNIT_DIR), u.name), text: u.text }))];
  const state = await Promise.all(files.map(async (f) => ({ ...f, same: await readFile(f.path, 'utf8').then((t) => t === f.text, () => null) })));
  const clash = state.filter((f) => f.same === false).map((f) => f.path);
  if (clash.length > 0 && o.force !== true) {
    throw new TandemError('PROVISION_EXISTS', `${clash.join(', ')} ${clash.length > 1 ? 'exist' : 'exists'} with other contents: nothing was written; --force replaces ${clash.length > 1 ? 'them' : 'it'}`, { exitCode: EX_USAGE });
  }
  const dry = o.dryRun === true;
  // Before anything is written: an existing secret the daemon could not use refuses the whole run.
  const kept = r.out.secretFile === null ? false : await usableSecret(r.out.secretFile);
  for (const f of state) {
    if (f.same !== true && !dry) await writeAtomic(f.path, f.text, 0o644);
    const what = f.same === true ? 'unchanged' : dry ? 'would be written (--dry-run)' : f.same === false ? 'replaced' : 'written';
    process.stdout.write(`==> ${f.path}: ${what} <==\n${f.text}\n`);
  }
  if (r.out.secretFile !== null) await secret(r.out, dry, kept);
  if (device?.kind === 'missing') {
    const when = c.mode === 'drbd' ? 'the daemon creates the image file at its first start' : 'the daemon starts once the volume is attached there, at exactly --db_size';
    process.stdout.write(`${c.device ?? ''} does not exist yet: ${when}\n`);
  }
  // provision runs no systemctl, so it disables nothing: an earlier run's routes unit would go on adding its routes.
  const routesUnit = join(resolve(o.unitDir ?? DEFAULT_UNIT_DIR), ROUTES_UNIT);
  if (!r.out.units.some((u) => u.name === ROUTES_UNIT) && (await readFile(routesUnit, 'utf8').then(() => true, () => false))) {
    process.stdout.write(`${routesUnit} is left from an earlier provision with --route: while enabled, it adds its routes at every boot; without routes now, remove it: systemctl disable --now ${ROUTES_UNIT} && rm ${routesUnit}\n`);
  }
  if (r.out.warnings.length > 0) process.stdout.write(`${formatWarnings(r.out.warnings, r.out.configFile)}\n`);
  process.stdout.write(`${dry ? 'Nothing was written. ' : ''}To start: systemctl daemon-reload && systemctl enable --now ${r.out.units.map((u) => u.name).join(' ')}\n`);
}

function flagsOf(name: string, o: ProvisionOpts): ProvisionFlags {
  const f: ProvisionFlags = { name, route: o.route, configDir: resolve(o.configDir ?? DEFAULT_CONFIG_DIR) };
  const optional: Array<[keyof ProvisionFlags, string | undefined]> = [
    ['haMode', o.ha_mode], ['haNodeList', o.ha_node_list], ['kadVip', o.kad_vip], ['kadVif', o.kad_vif],
    ['kadVri', o.kad_vri], ['kadUnicastSrcIp', o.kad_unicast_src_ip], ['kadUnicastPeer', o.kad_unicast_peer], ['peerName', o.peer_name],
    ['dbVolumeId', o.db_volume_id], ['dbSize', o.db_size], ['ipaddr', o.ipaddr], ['gatewayIp', o.gateway_ip],
    ['secretFile', o.secret_file === undefined ? undefined : resolve(o.secret_file)],
  ];
  for (const [k, v] of optional) if (v !== undefined) Object.assign(f, { [k]: v });
  return f;
}

const refused = (errors: readonly string[]): TandemError =>
  new TandemError('PROVISION_REFUSED', `${errors.join('\n')}\nnothing was written`, { exitCode: EX_USAGE });

// What is at the volume's path now: the size of an existing device or file decides the volume's.
async function deviceFacts(path: string): Promise<DeviceFacts> {
  const st = await stat(path, { bigint: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new TandemError('PROVISION_DEVICE', `--db_volume_id: cannot stat ${path}: ${e.code ?? e.message}`, { exitCode: EX_USAGE, cause: e });
  });
  if (st === null) return { kind: 'missing' };
  if (st.isBlockDevice()) return { kind: 'block-device', bytes: await blockDeviceSize(st.rdev) };
  return st.isFile() ? { kind: 'file', bytes: Number(st.size) } : { kind: 'other' };
}

// An existing secret file, checked as the daemon reads it (true), or none (false). Throws when one is there and the
// daemon could not use it: an empty file or a directory reported "kept" failed at the first start.
async function usableSecret(path: string): Promise<boolean> {
  if (!(await lstat(path).then(() => true, () => false))) return false;
  await readSecret(path, (m) => process.stderr.write(`tandem: warning: ${m}\n`)).catch((e: Error) => {
    throw new TandemError('PROVISION_SECRET', `${e.message}; provision never replaces an existing secret (the peer must hold the same one): remove it to have a new one made, or put the peer's secret there; nothing was written`, { exitCode: EX_CONFIG, cause: e });
  });
  return true;
}

// The peer must read the same secret: an existing file is kept (never replaced, even with --force).
async function secret(out: Provisioned, dry: boolean, kept: boolean): Promise<void> {
  const path = out.secretFile ?? '';
  const peer = `${out.peer.name ?? 'the peer'} (${out.peer.address})`;
  const copy = `copy it to ${peer} before tandem starts there, same path and mode 0600:\n  scp -p ${path} root@${out.peer.address.includes(':') ? `[${out.peer.address}]` : out.peer.address}:${path}`;
  if (kept) {
    process.stdout.write(`==> ${path}: kept (the replication secret) <==\n${peer} needs the same file; if it does not have it yet, ${copy}\n`);
    return;
  }
  if (dry) {
    process.stdout.write(`==> ${path}: would be created (--dry-run): ${SECRET_BYTES} random bytes, base64, mode 0600 <==\nthen ${copy}\n`);
    return;
  }
  await writeAtomic(path, `${randomBytes(SECRET_BYTES).toString('base64')}\n`, 0o600, true);
  process.stdout.write(`==> ${path}: created: ${SECRET_BYTES} random bytes, base64, mode 0600 <==\nNow ${copy}\n`);
}

// Atomic, following a symbolic link (write-atomic.ts). `keep`: an existing file wins.
async function writeAtomic(path: string, text: string, mode: number, keep = false): Promise<void> {
  await writeFileAtomic(path, text, mode, keep).catch((e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new TandemError('PROVISION_WRITE_FAILED', `cannot write ${path}: ${code}`, { exitCode: EX_OSERR, cause: e });
  });
}
