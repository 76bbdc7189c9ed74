// escadm's node commands (issue 5): `tandem health` (health.sh: one line per
// component, PASSED / FAILED, exit 0 / 1), `tandem switchover` and
// `tandem maintenance on|off`. Each asks the daemon over the control socket.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { SwitchoverResult } from '../node/ha-handover.js';
import type { NodeStatus } from '../node/status.js';
import { EX_USAGE, TandemError } from '../errors.js';
import { isPausedSync, type ReplicationState } from '../replication/states.js';
import { healthReport, type HealthInput, type HealthRole } from './format-health.js';

type SocketOpts = { socket?: string; config?: string };
type Ask = (opts: SocketOpts, command: string, args?: Record<string, unknown>) => Promise<unknown>;

// What health.sh judges, from `status`: the group's role (WAITING while the boot gate holds), services, volumes.
export function healthInputOf(s: NodeStatus): HealthInput {
  const types = new Set(s.volumes.map((v) => v.type));
  const replication = types.size === 2 ? 'both' : types.has('block') ? 'block' : types.has('directory') ? 'directory' : 'none';
  // No resource group, but volumes: roles come from `tandem replica` (a replication-only node, or one with several
  // VRRP instances, none of which the volumes follow); each instance is then judged on its own.
  let role = (s.ha?.role ?? (s.volumes.length > 0 ? 'BY_COMMAND' : s.vrrp[0]?.state ?? 'INIT')) as HealthRole;
  if (s.ha?.boot.state === 'WAITING' && role !== 'MASTER') role = 'WAITING';
  // A daemon still opening its volumes (or leaving) has no role's work to judge yet.
  if (s.daemon === 'starting') role = 'STARTING';
  else if (s.daemon === 'stopping') role = 'STOPPING';
  return {
    role,
    // A MASTER still carrying out its steps is not serving yet.
    ...(s.ha ? { serving: s.ha.serving, handingOver: s.ha.handing_over } : {}),
    // No resource group: every instance counts, not only the first (a FAULT second instance passed before).
    ...(s.ha === null && s.vrrp.length > 0 ? { instances: s.vrrp.map((i) => ({ name: i.name, state: i.state, why: i.fault_reasons })) } : {}),
    replication,
    services: (s.ha?.services ?? []).map((x) => ({ name: x.name, state: x.state, pgid: x.pgid })),
    volumes: s.volumes.map((v) => {
      const linked = v.peers.filter((p) => p.connection === 'Connected');
      const connected = linked.length > 0;
      const waiting = linked.every((p) => isPausedSync(p.replication as ReplicationState)) ? linked[0] : undefined;
      return {
        name: v.name, role: v.role, disk: v.disk, connected,
        connection: connected ? null : (v.peers[0]?.connection ?? null),
        resync: v.peers.find((p) => p.replication === 'SyncTarget' && p.sync_percent !== null)?.sync_percent ?? null,
        suspended: waiting === undefined ? null : (waiting.resync_suspended ?? waiting.replication),
      };
    }),
  };
}

export function addNodeCommands(program: Command, socketOpts: (c: Command) => Command, ask: Ask): void {
  socketOpts(program.command('health'))
    .description('health.sh: one line per service and volume, then TANDEM HEALTH PASSED (exit 0) or FAILED (exit 1)')
    .option('--json', 'print JSON')
    .action(async (o: SocketOpts & { json?: boolean }) => {
      // health.sh on a node whose daemon is down: a failed report, not a usage error.
      const r = await ask(o, 'status').then(
        (s) => healthReport(healthInputOf(s as NodeStatus)),
        (e: Error) => ({ lines: [`tandem daemon: not answering (${e.message})`, 'TANDEM HEALTH FAILED'], passed: false }),
      );
      process.stdout.write(o.json === true ? `${JSON.stringify(r, null, 2)}\n` : `${r.lines.join('\n')}\n`);
      process.exitCode = r.passed ? 0 : 1;
    });

  socketOpts(program.command('switchover'))
    .description('on the MASTER: hand over to the peer, wait until it is MASTER and serving, and report the time')
    .option('--force', 'hand over even when the peer does not look ready (not connected, or not UpToDate)')
    .option('--json', 'print JSON')
    .action(async (o: SocketOpts & { force?: boolean; json?: boolean }) => {
      const r = (await ask(o, 'ha.switchover', { force: o.force === true })) as SwitchoverResult;
      process.stdout.write(o.json === true ? `${JSON.stringify(r, null, 2)}\n` : `switchover of ${r.group} done in ${(r.ms / 1000).toFixed(2)} s: ${r.new_master} is MASTER (${r.checked})\n`);
    });

  socketOpts(program.command('maintenance'))
    .description('on: step aside (a MASTER hands over) and stay BACKUP, also across restarts; off: take part in elections again')
    .argument('<on|off>', 'on or off')
    .option('--force', 'leave MASTER even when the peer does not look ready')
    .option('--json', 'print JSON')
    .action(async (state: string, o: SocketOpts & { force?: boolean; json?: boolean }) => {
      if (state !== 'on' && state !== 'off') throw new TandemError('BAD_ARGUMENT', `maintenance takes "on" or "off", not ${JSON.stringify(state)}`, { exitCode: EX_USAGE });
      const r = (await ask(o, 'ha.maintenance', { on: state === 'on', force: o.force === true })) as { group: string; maintenance: boolean; role: string };
      process.stdout.write(o.json === true ? `${JSON.stringify(r, null, 2)}\n` : `${r.group}: maintenance ${r.maintenance ? 'on' : 'off'}, ${r.role}\n`);
    });

  socketOpts(program.command('reload'))
    .description('re-read the configuration file: VIPs, services and the startup section change live (an unchanged VIP stays up); anything else is refused, naming what needs a daemon restart')
    .option('--json', 'print JSON')
    .action(async (o: SocketOpts & { json?: boolean }) => {
      const r = (await ask(o, 'reload')) as { path: string; changes: string; problems: string[] };
      process.stdout.write(o.json === true ? `${JSON.stringify(r, null, 2)}\n` : `reloaded ${r.path}: ${r.changes}\n${r.problems.map((x) => `problem: ${x}\n`).join('')}`);
      // --config only found the socket: an operator who edited another file must not think it applied.
      if (o.config !== undefined && resolve(o.config) !== resolve(r.path)) {
        process.stderr.write(`tandem: note: the daemon re-read its own file ${r.path}, not ${o.config} (--config only tells where its control socket is)\n`);
      }
      if (r.problems.length > 0) process.exitCode = 1;
    });

  socketOpts(program.command('restart'))
    .description("escadm restart: on the serving MASTER, restart the managed services (or one), keeping the VIPs and volumes")
    .argument('[service]', 'only this service')
    .option('--json', 'print JSON')
    .action(async (service: string | undefined, o: SocketOpts & { json?: boolean }) => {
      const r = (await ask(o, 'ha.restart', service === undefined ? {} : { service })) as { restarted: string[]; ms: number };
      process.stdout.write(o.json === true ? `${JSON.stringify(r, null, 2)}\n` : `restarted ${r.restarted.join(', ')} in ${(r.ms / 1000).toFixed(2)} s\n`);
    });
}
