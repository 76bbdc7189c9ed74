// tandem's command line. Each command talks to the daemon through the
// control socket, never to its internals; `daemon` runs the daemon itself.
import { Command, CommanderError } from 'commander';
import { EX_CONFIG, EX_UNAVAILABLE, EX_USAGE, TandemError } from '../errors.js';
import { runDaemon, testConfig } from '../node/daemon.js';
import type { NodeStatus } from '../node/status.js';
import { request, streamEvents } from './client.js';
import { formatStatus } from './format-status.js';
import { addHaCommands } from './ha.js';
import { addNodeCommands } from './node-commands.js';
import { addProvisionCommand } from './provision.js';
import { addReplicaCommands } from './replica.js';
import { DEFAULT_CONFIG, resolveSocket } from './socket-path.js';

interface SocketOpts {
  socket?: string;
  config?: string;
}

// Commands that wait for replication, not just for the daemon: a backlog can take minutes.
const LONG_COMMANDS = new Set(['replica.flush', 'replica.secondary', 'ha.switchover', 'ha.maintenance', 'ha.restart', 'reload']);

// One request; a refusal names it by its command and string arguments ("replica.primary db").
async function ask(opts: SocketOpts, command: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const reply = await request(await resolveSocket(opts), { command, ...args }, LONG_COMMANDS.has(command) ? 600_000 : undefined);
  if (!reply.ok) {
    const what = [command, ...Object.values(args).filter((v) => typeof v === 'string')].join(' ');
    throw new TandemError('DAEMON_ERROR', `the daemon refused "${what}": ${reply.error ?? 'no reason given'}`);
  }
  return reply.result;
}

export function buildProgram(): Command {
  const program = new Command('tandem')
    .description('High-availability controller: VRRP election, virtual IPs, replication and managed services')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(tandem COMMAND --help shows its usage)');

  program
    .command('daemon')
    .description('run the node daemon in the foreground (logs to stderr)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--debug', 'log debug messages')
    .option('-t, --config-test', 'check the configuration file, the replication secret and the images\' sizes, and exit (0 valid, 78 not), as keepalived -t; nothing starts')
    .action(async (o: { config: string; debug?: boolean; configTest?: boolean }) => {
      if (o.configTest === true) {
        process.exitCode = await testConfig(o.config);
        return;
      }
      const code = await runDaemon(o.config, { debug: o.debug === true });
      process.exitCode = code;
      // Everything was stopped; a handle still open would keep a stopped daemon alive.
      setTimeout(() => {
        process.stderr.write('tandem: handles still open 3 s after stopping; exiting anyway\n');
        process.exit(code);
      }, 3000).unref();
    });

  const socketOpts = (c: Command): Command =>
    c
      .option('-s, --socket <path>', 'control socket of the daemon')
      .option('-c, --config <file>', 'read the control socket path from this configuration file');

  socketOpts(program.command('status'))
    .description("show this node's VRRP instances, resource group, services, volumes and recent transitions")
    .option('--json', 'print JSON')
    .option('--v', 'verbose: every transition with its steps and their durations')
    .action(async (o: SocketOpts & { json?: boolean; v?: boolean }) => {
      const s = (await ask(o, 'status')) as NodeStatus;
      process.stdout.write(o.json === true ? `${JSON.stringify(s, null, 2)}\n` : `${formatStatus(s, o.v === true)}\n`);
    });

  socketOpts(program.command('events'))
    .description('stream the daemon\'s events as JSON lines until interrupted')
    .option('--history', 'start with the recent events the daemon kept')
    .action(async (o: SocketOpts & { history?: boolean }) => {
      await streamEvents(await resolveSocket(o), o.history === true, (line) => process.stdout.write(`${line}\n`));
    });

  addReplicaCommands(program, socketOpts, ask);
  addHaCommands(program);
  addProvisionCommand(program);
  addNodeCommands(program, socketOpts, ask);

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that went away (`tandem events | head`) ends the output quietly, not with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') process.stderr.write(`tandem: writing the output: ${e.message}\n`);
    process.exit(e.code === 'EPIPE' ? (process.exitCode ?? 0) : 1);
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EX_USAGE;
      return;
    }
    const e = err as Error & { exitCode?: number; code?: string };
    process.stderr.write(`tandem: ${e.message}\n`);
    process.exitCode = e.exitCode ?? (e.code === 'CONTROL_UNREACHABLE' || e.code === 'CONTROL_TIMEOUT' ? EX_UNAVAILABLE : e.code === 'CONFIG_INVALID' ? EX_CONFIG : 1);
  }
}
