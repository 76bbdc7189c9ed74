// `tandem replica ...`: the drbdadm-style commands for replicated volumes.
// Each one is a single control-socket request (status-types.ts ReplicaCommand);
// the volume name is checked here first, so a typo never reaches the daemon.
import { InvalidArgumentError, type Command } from 'commander';
import { isNodeName, nodeName } from '../config/names.js';
import type { AnyVolumeStatus, ReplicaCommand, ReplicaStatus } from '../replication/volume/status-types.js';
import { formatReplicaStatus, formatVolumeSummary } from './format-replica.js';

export interface SocketOptions {
  socket?: string;
  config?: string;
}

// Sends one request and returns its result; throws (naming the request) when
// the daemon refuses it or cannot be reached.
export type Ask = (opts: SocketOptions, command: string, args?: Record<string, unknown>) => Promise<unknown>;

// The configuration's rule for node and volume names (config/names.ts).
const nameArgument = (what: string) => (value: string): string => {
  if (!isNodeName(value)) throw new InvalidArgumentError(`a ${what} name must be ${nodeName.allowed}`);
  return value;
};
export const parseVolumeName = nameArgument('volume');
const parseNodeName = nameArgument('node');

type VolumeCommand = Exclude<ReplicaCommand['command'], 'replica.status'>;

// Sub-command, request, and what it does (for --help), in drbdadm's words.
const ACTIONS: readonly [string, VolumeCommand, string][] = [
  ['connect', 'replica.connect', 'connect the volume to its peers'],
  ['disconnect', 'replica.disconnect', 'disconnect the volume from its peers (StandAlone)'],
  ['verify', 'replica.verify', 'start an online verify against the connected peers'],
  ['invalidate', 'replica.invalidate', 'mark the local data out of sync: a full resync from a peer follows'],
  ['discard-my-data', 'replica.discard-my-data', 'resolve a split brain: drop this node\'s changes and sync from the peer'],
  ['flush', 'replica.flush', 'wait until every change made before it is replicated (protocol C: on the peers\' disks)'],
];

type JsonOpt = SocketOptions & { json?: boolean };

function printVolume(v: AnyVolumeStatus, o: JsonOpt): void {
  process.stdout.write(o.json === true ? `${JSON.stringify(v, null, 2)}\n` : `${formatVolumeSummary(v)}\n`);
}

export function addReplicaCommands(program: Command, socketOpts: (c: Command) => Command, ask: Ask): Command {
  const replica = program.command('replica').description('replicated volumes: status, roles, connections, verify and split-brain recovery');

  socketOpts(replica.command('status'))
    .description('show every volume (or NAME): role, disk, peers, counters, resync and verify progress')
    .argument('[name]', 'only this volume', parseVolumeName)
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, o: JsonOpt) => {
      const s = (await ask(o, 'replica.status', name === undefined ? {} : { volume: name })) as ReplicaStatus;
      process.stdout.write(o.json === true ? `${JSON.stringify(s, null, 2)}\n` : `${formatReplicaStatus(s, new Date())}\n`);
    });

  // The two role changes, each with a --force that overrides a refusal.
  const roles: Array<[string, 'replica.primary' | 'replica.secondary', string, string]> = [
    ['primary', 'replica.primary', 'promote the volume to Primary and serve it over NBD',
      'promote a disk that is not UpToDate (the first Primary of a new volume, or an Outdated copy whose newer peer is lost), or despite a failed fence-peer handler'],
    ['secondary', 'replica.secondary', 'demote the volume to Secondary (stops serving it); refused while NBD clients are connected',
      'demote even with NBD clients connected: they are cut'],
  ];
  for (const [sub, command, description, force] of roles) {
    socketOpts(replica.command(sub))
      .description(description)
      .argument('<name>', 'volume', parseVolumeName)
      .option('--force', force)
      .option('--json', 'print the volume status as JSON')
      .action(async (name: string, o: JsonOpt & { force?: boolean }) => {
        const args = o.force === true ? { volume: name, force: true } : { volume: name };
        printVolume((await ask(o, command, args)) as AnyVolumeStatus, o);
      });
  }

  socketOpts(replica.command('outdate'))
    .description('mark this Secondary\'s data Outdated (what a fence-peer handler runs): it cannot be promoted until it resyncs, or with --force')
    .argument('<name>', 'volume', parseVolumeName)
    .option('--by <node>', 'the Primary asking (a handler passes $TANDEM_NODE): allowed even while this node still thinks it is connected to it', parseNodeName)
    .option('--json', 'print the volume status as JSON')
    .action(async (name: string, o: JsonOpt & { by?: string }) => {
      const args = o.by === undefined ? { volume: name } : { volume: name, by: o.by };
      printVolume((await ask(o, 'replica.outdate', args)) as AnyVolumeStatus, o);
    });

  for (const [sub, command, description] of ACTIONS) {
    socketOpts(replica.command(sub))
      .description(description)
      .argument('<name>', 'volume', parseVolumeName)
      .option('--json', 'print the volume status as JSON')
      .action(async (name: string, o: JsonOpt) => {
        printVolume((await ask(o, command, { volume: name })) as AnyVolumeStatus, o);
      });
  }
  return replica;
}
