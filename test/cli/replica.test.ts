// `tandem replica`: the text layout on its own (pure), then the real
// executable against a control server answering canned replica.* results.
import { expect } from 'chai';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clock, formatReplicaStatus, formatVolumeSummary, humanSize, shortDuration } from '../../lib/cli/format-replica.js';
import { ControlServer } from '../../lib/node/control-server.js';
import { EventBus } from '../../lib/node/events.js';
import { createLogger } from '../../lib/node/log.js';
import type { DirectoryVolumeStatus } from '../../lib/replication/files/dir-status.js';
import type { PeerStatus, ReplicaStatus, VolumeStatus } from '../../lib/replication/volume/status-types.js';
import { TANDEM_BIN } from '../../scripts/lab/lab.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const NOW = new Date('2025-06-01T12:00:00.000Z');
const before = (s: number): string => new Date(NOW.getTime() - s * 1000).toISOString();

function peer(over: Partial<PeerStatus>): PeerStatus {
  return {
    name: 'node-b',
    address: '10.0.0.2:7789',
    connection: 'Connected',
    replication: 'Established',
    role: 'Secondary',
    disk: 'UpToDate',
    connected: true,
    uptime_s: 3725,
    tcp_congestion: 'cubic',
    bytes_sent: 1.5 * GiB,
    bytes_received: 3 * MiB,
    writes_sent: 1234,
    writes_received: 0,
    last_sent_at: before(2),
    last_received_at: before(1),
    out_of_sync_bytes: 0,
    pending: 3,
    unacked: 3,
    disconnects: 2,
    last_error: null,
    resync: null,
    resync_suspended: null,
    resync_held: null,
    stale_bits: false,
    verify: null,
    split_brain: false, discard_my_data: false,
    ...over,
  };
}

function volume(over: Partial<VolumeStatus>): VolumeStatus {
  return {
    name: 'db',
    type: 'block',
    role: 'Primary',
    disk: 'UpToDate',
    protocol: 'C',
    size_bytes: 10 * GiB,
    device: '/dev/vg0/db',
    nbd: { tcp: '127.0.0.1:10809', socket: '/run/tandem/nbd-db.sock', clients: 1 },
    generations: { current: 'A1B2', history: ['9F00'], bitmap: { 'node-b': '9F00' } },
    suspended: false,
    peers: [],
    ...over,
  };
}

const syncing = peer({
  replication: 'SyncSource',
  out_of_sync_bytes: 1.2 * GiB,
  resync: { direction: 'SyncSource', full: false, total_bytes: 2 * GiB, done_bytes: 0.8 * GiB, percent: 42.1, rate_bytes_per_s: 95.3 * MiB, eta_s: 13, max_rate_bytes_per_s: null },
});
const broken = peer({
  name: 'node-c',
  address: '10.0.0.3:7789',
  connection: 'StandAlone',
  replication: 'Off',
  role: 'Unknown',
  disk: 'DUnknown',
  connected: false,
  uptime_s: null,
  tcp_congestion: null,
  bytes_sent: 0,
  bytes_received: 512,
  writes_sent: 0,
  last_sent_at: null,
  last_received_at: before(3600 * 5 + 60 * 7),
  out_of_sync_bytes: 10 * GiB,
  pending: 0,
  unacked: 0,
  disconnects: 1,
  last_error: { reason: 'split-brain', detail: 'both sides wrote since generation 9F00', at: before(185) },
  split_brain: true,
  discard_my_data: false,
});
const primaryTwoPeers = volume({ peers: [syncing, broken] });
const secondary = volume({ name: 'web', role: 'Secondary', protocol: 'A', size_bytes: 512 * MiB, nbd: null, peers: [peer({ name: 'node-a', role: 'Primary' })] });

describe('cli/format-replica', () => {
  it('sizes in binary units with one decimal, whole bytes below 1 KiB', () => {
    expect(humanSize(0)).to.equal('0B');
    expect(humanSize(1023)).to.equal('1023B');
    expect(humanSize(1024)).to.equal('1.0KiB');
    expect(humanSize(10 * GiB)).to.equal('10.0GiB');
    expect(humanSize(1024 * 1024 - 1)).to.equal('1.0MiB'); // not "1024.0KiB"
    expect(humanSize(3 * 1024 ** 4)).to.equal('3.0TiB');
  });

  it('durations: compact for ages and uptimes, a clock for the ETA', () => {
    expect(shortDuration(0)).to.equal('0s');
    expect(shortDuration(185)).to.equal('3m05s');
    expect(shortDuration(3725)).to.equal('1h02m');
    expect(shortDuration(90000)).to.equal('1d01h');
    expect(shortDuration(-5)).to.equal('0s'); // clock skew
    expect(clock(13)).to.equal('0:13');
    expect(clock(725)).to.equal('12:05');
    expect(clock(3723)).to.equal('1:02:03');
  });

  it('a Primary with a syncing peer and a split-brained StandAlone peer', () => {
    const lines = formatReplicaStatus({ node: 'node-a', volumes: [primaryTwoPeers] }, NOW).split('\n');
    expect(lines).to.deep.equal([
      'db role:Primary disk:UpToDate protocol:C size:10.0GiB',
      '  device:/dev/vg0/db',
      '  nbd tcp:127.0.0.1:10809 socket:/run/tandem/nbd-db.sock clients:1',
      '  node-b connection:Connected replication:SyncSource role:Secondary peer-disk:UpToDate address:10.0.0.2:7789',
      '    sent:1.5GiB received:3.0MiB writes-sent:1234 writes-received:0 out-of-sync:1.2GiB pending:3 unacked:3 disconnects:2 uptime:1h02m tcp:cubic last-sent:2s-ago last-received:1s-ago',
      "    sync'ed: 42.1% (1.2GiB left) 95.3MiB/s eta 0:13",
      '  node-c connection:StandAlone replication:Off role:Unknown peer-disk:DUnknown address:10.0.0.3:7789',
      '    sent:0B received:512B writes-sent:0 writes-received:0 out-of-sync:10.0GiB pending:0 unacked:0 disconnects:1 last-sent:never last-received:5h07m-ago',
      '    split-brain: both nodes changed the data while apart; on the node whose changes to drop run "tandem replica secondary db" then "tandem replica discard-my-data db"',
      `    last-error: split-brain: both sides wrote since generation 9F00 (3m05s ago, ${before(185)})`,
    ]);
  });

  // Before, an old error's advice ("check that both nodes' secret_file hold the same secret") read as if it still held.
  it('a last error from before the current connection says so; one since (or with no link up) does not', () => {
    const err = { reason: 'auth-failed', detail: 'HMAC mismatch; check that both nodes\' replication.secret_file hold the same secret', at: before(4000) };
    const line = (p: PeerStatus): string | undefined => formatReplicaStatus({ node: 'node-a', volumes: [volume({ peers: [p] })] }, NOW).split('\n').find((l) => l.includes('last-error'));
    expect(line(peer({ uptime_s: 3725, last_error: err }))).to.equal(`    last-error (before this connection): auth-failed: ${err.detail} (1h06m ago, ${before(4000)})`);
    expect(line(peer({ uptime_s: 5000, last_error: err }))).to.equal(`    last-error: auth-failed: ${err.detail} (1h06m ago, ${before(4000)})`);
    expect(line(peer({ connection: 'Connecting', connected: false, uptime_s: null, last_error: err }))).to.match(/^ {4}last-error: auth-failed: /);
  });

  it('an unknown rate shows "eta ?"; a full sync, a rate cap and a verify say so; a suspended volume too', () => {
    const v = volume({
      suspended: true,
      peers: [
        peer({ resync: { direction: 'SyncTarget', full: true, total_bytes: 4 * GiB, done_bytes: 0, percent: 0, rate_bytes_per_s: 0, eta_s: null, max_rate_bytes_per_s: null } }),
        peer({ name: 'node-d', resync: { direction: 'SyncTarget', full: false, total_bytes: GiB, done_bytes: 0.5 * GiB, percent: 50, rate_bytes_per_s: 100 * MiB, eta_s: 6, max_rate_bytes_per_s: 100 * MiB } }),
        peer({ name: 'node-c', replication: 'VerifyS', verify: { direction: 'VerifyS', total_bytes: 10 * GiB, done_bytes: 2.5 * GiB, percent: 25, mismatched_bytes: 8192 } }),
      ],
    });
    const text = formatReplicaStatus({ node: 'node-a', volumes: [v] }, NOW);
    expect(text.split('\n')[0]).to.equal('db role:Primary disk:UpToDate protocol:C size:10.0GiB suspended:disk-error');
    expect(text).to.include("    sync'ed: 0.0% (4.0GiB left) 0B/s eta ? full-sync\n");
    expect(text).to.include("    sync'ed: 50.0% (512.0MiB left) 100.0MiB/s (max 100.0MiB/s) eta 0:06\n");
    expect(text).to.include('    verified: 25.0% (7.5GiB left) mismatched:8.0KiB');
  });

  it('an armed discard-my-data says what the next connect with that peer does', () => {
    const v = volume({ role: 'Secondary', nbd: null, peers: [peer({ name: 'node-c', connection: 'StandAlone', connected: false, discard_my_data: true })] });
    expect(formatReplicaStatus({ node: 'node-b', volumes: [v] }, NOW)).to.include(
      '    discard-my-data: at the next connect with this peer, a split brain resolves against this node (its changes are dropped)',
    );
    expect(formatReplicaStatus({ node: 'node-b', volumes: [volume({ peers: [peer({})] })] }, NOW)).to.not.include('discard-my-data:');
  });

  it('a paused resync says which other source it waits for', () => {
    const v = volume({ peers: [peer({ name: 'node-c', replication: 'PausedSyncS', resync_suspended: 'node-c is SyncTarget of node-b' })] });
    const lines = formatReplicaStatus({ node: 'node-a', volumes: [v] }, NOW).split('\n');
    expect(lines.find((l) => l.startsWith('  node-c'))).to.include('replication:PausedSyncS');
    expect(lines).to.include('    resync-suspended: node-c is SyncTarget of node-b (one source at a time)');
    expect(formatReplicaStatus({ node: 'node-a', volumes: [volume({ peers: [peer({})] })] }, NOW)).to.not.include('resync-suspended');
    // A resync into a Primary waits for its demote, not for another source: its reason says so, no suffix.
    const into = "node-b's data is to replace node-a's, which is Primary and in use: the resync waits until node-a is Secondary";
    const intoLines = formatReplicaStatus({ node: 'node-a', volumes: [volume({ peers: [peer({ replication: 'PausedSyncT', resync_suspended: into })] })] }, NOW).split('\n');
    expect(intoLines).to.include(`    resync-suspended: ${into}`);
  });

  it('a link held Established with blocks out of sync says whose writes both sides take', () => {
    const v = volume({ role: 'Secondary', peers: [peer({ name: 'node-c', out_of_sync_bytes: 512 * 1024, resync_held: 'node-a' })] });
    const lines = formatReplicaStatus({ node: 'node-b', volumes: [v] }, NOW).split('\n');
    expect(lines).to.include("    resync-held: both sides take node-a's writes; the out-of-sync blocks move once that ends");
    expect(formatReplicaStatus({ node: 'node-a', volumes: [volume({ peers: [peer({})] })] }, NOW)).to.not.include('resync-held');
  });

  it('bits from this node\'s own crash as Secondary say the peer\'s copy is the one taken', () => {
    const v = volume({ role: 'Secondary', peers: [peer({ name: 'node-a', out_of_sync_bytes: 8 * MiB, stale_bits: true })] });
    const lines = formatReplicaStatus({ node: 'node-b', volumes: [v] }, NOW).split('\n');
    expect(lines).to.include("    stale-bits: the out-of-sync blocks are marks of this node's crash as Secondary: they resync from node-a, not to it (unless its are stale too)");
    expect(formatReplicaStatus({ node: 'node-b', volumes: [volume({ peers: [peer({})] })] }, NOW)).to.not.include('stale-bits');
  });

  it('a Secondary has no nbd line; volumes are separated by a blank line', () => {
    const text = formatReplicaStatus({ node: 'node-b', volumes: [secondary, volume({ name: 'logs', peers: [] })] }, NOW);
    const [first, second] = text.split('\n\n');
    expect(first?.split('\n')).to.deep.equal([
      'web role:Secondary disk:UpToDate protocol:A size:512.0MiB',
      '  device:/dev/vg0/db',
      '  node-a connection:Connected replication:Established role:Primary peer-disk:UpToDate address:10.0.0.2:7789',
      '    sent:1.5GiB received:3.0MiB writes-sent:1234 writes-received:0 out-of-sync:0B pending:3 unacked:3 disconnects:2 uptime:1h02m tcp:cubic last-sent:2s-ago last-received:1s-ago',
    ]);
    expect(second?.split('\n')[0]).to.equal('logs role:Primary disk:UpToDate protocol:C size:10.0GiB');
  });

  it('a directory volume: path, watcher, divergence, lacking changes and problems, file counters and lag per peer', () => {
    const dir: DirectoryVolumeStatus = {
      name: 'conf', type: 'directory', role: 'Secondary', disk: 'UpToDate', protocol: 'C', path: '/var/lib/app/state',
      generations: { current: '1111111111111111', history: [], bitmap: {} },
      watcher: { events: 12, errors: 0 },
      divergence: { count: 2, recent: ['a', 'b/c'] },
      problems: { count: 1, recent: [{ path: 'big', code: 'ENOSPC', message: 'no space left', at: before(5) }] },
      lacking: { count: 1, first: '"big": ENOSPC from node-a' },
      peers: [{
        name: 'node-a', address: '198.51.100.11:7790', connection: 'Connected', replication: 'Established', role: 'Primary', disk: 'UpToDate',
        connected: true, uptime_s: 65, tcp_congestion: 'cubic', bytes_sent: 100, bytes_received: 3 * MiB, files_sent: 0, files_received: 4321,
        last_sent_at: before(1), last_received_at: before(2), pending_files: 3, pending_bytes: 2048, oldest_pending_s: 1.5,
        disconnects: 1, last_error: null, split_brain: false, discard_my_data: false, resync_suspended: null, resync_held: null,
      }, {
        name: 'node-c', address: '198.51.100.13:7790', connection: 'Connected', replication: 'PausedSyncS', role: 'Secondary', disk: 'Inconsistent',
        connected: true, uptime_s: 3, tcp_congestion: 'bbr', bytes_sent: 10, bytes_received: 20, files_sent: 0, files_received: 0,
        last_sent_at: before(1), last_received_at: before(1), pending_files: 0, pending_bytes: 0, oldest_pending_s: null,
        disconnects: 0, last_error: null, split_brain: false, discard_my_data: false, resync_suspended: 'node-b takes node-a\'s writes (Primary)', resync_held: null,
      }],
    };
    expect(formatReplicaStatus({ node: 'node-b', volumes: [dir] }, NOW).split('\n')).to.deep.equal([
      'conf role:Secondary disk:UpToDate protocol:C type:directory',
      '  path:/var/lib/app/state watcher-events:12 watcher-errors:0',
      '  divergence: 2 local change(s) on this Secondary, e.g. "a", "b/c" (the Primary\'s copy replaces them at the next compare)',
      '  lacking: 1 change(s) from the Primary not applied here, first "big": ENOSPC from node-a (tried again; promotion refused without --force until they land)',
      '  problems: 1, last: "big" ENOSPC: no space left',
      '  node-a connection:Connected replication:Established role:Primary peer-disk:UpToDate address:198.51.100.11:7790',
      '    sent:100B received:3.0MiB files-sent:0 files-received:4321 pending:3 pending-bytes:2.0KiB lag:1s disconnects:1 uptime:1m05s tcp:cubic last-sent:1s-ago last-received:2s-ago',
      '  node-c connection:Connected replication:PausedSyncS role:Secondary peer-disk:Inconsistent address:198.51.100.13:7790',
      '    sent:10B received:20B files-sent:0 files-received:0 pending:0 pending-bytes:0B lag:0s disconnects:0 uptime:3s tcp:bbr last-sent:1s-ago last-received:1s-ago',
      "    resync-suspended: node-b takes node-a's writes (Primary) (one source at a time)",
    ]);
    expect(formatVolumeSummary(dir)).to.equal('conf: Secondary, disk UpToDate; peer node-a Connected Established 3 pending; peer node-c Connected PausedSyncS');
  });

  it('no volumes says so', () => {
    expect(formatReplicaStatus({ node: 'node-a', volumes: [] }, NOW)).to.equal('node node-a: no replicated volumes');
  });

  it('the one-line summary of a command result', () => {
    expect(formatVolumeSummary(volume({}))).to.equal('db: Primary, disk UpToDate');
    expect(formatVolumeSummary(primaryTwoPeers)).to.equal('db: Primary, disk UpToDate; peer node-b Connected SyncSource 42.1%; peer node-c StandAlone split-brain');
    expect(formatVolumeSummary(volume({ role: 'Secondary', disk: 'Outdated', suspended: true }))).to.equal('db: Secondary, disk Outdated, suspended');
  });
});

const tandem = (args: string[]) => execa(process.execPath, [TANDEM_BIN, ...args], { reject: false, timeout: 20_000 });

describe('cli replica (the executable against a control server)', () => {
  let dir: string;
  let sock: string;
  let server: ControlServer;
  let requests: Record<string, unknown>[];
  const status: ReplicaStatus = { node: 'node-a', volumes: [primaryTwoPeers, secondary] };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-replica-'));
    sock = join(dir, 'control.sock');
    requests = [];
    server = new ControlServer(sock, new EventBus(), createLogger('test', () => {}));
    const record = (r: Record<string, unknown>): void => {
      requests.push(r);
    };
    server.handle('replica.status', (r) => {
      record(r);
      if (r.volume === undefined) return status;
      const v = status.volumes.find((x) => x.name === r.volume);
      if (v === undefined) throw new Error(`no volume "${String(r.volume)}"; configured: db, web`);
      return { node: status.node, volumes: [v] };
    });
    server.handle('replica.primary', (r) => {
      record(r);
      if (r.volume === 'web') throw new Error('the disk is Diskless: there is no local data to serve');
      return volume({});
    });
    for (const c of ['secondary', 'connect', 'disconnect', 'verify', 'invalidate', 'outdate', 'discard-my-data', 'flush']) {
      server.handle(`replica.${c}`, (r) => {
        record(r);
        return volume({ role: c === 'secondary' ? 'Secondary' : 'Primary', nbd: null });
      });
    }
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('status prints the text blocks of every volume', async () => {
    const r = await tandem(['replica', 'status', '-s', sock]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(requests).to.deep.equal([{ command: 'replica.status' }]);
    const lines = r.stdout.split('\n');
    expect(lines[0]).to.equal('db role:Primary disk:UpToDate protocol:C size:10.0GiB');
    expect(lines).to.include("    sync'ed: 42.1% (1.2GiB left) 95.3MiB/s eta 0:13");
    expect(lines).to.include('web role:Secondary disk:UpToDate protocol:A size:512.0MiB');
    expect(r.stdout).to.match(/\n\nweb role:/);
  });

  it('status NAME --json asks for that volume and prints its JSON', async () => {
    const r = await tandem(['replica', 'status', 'web', '--json', '--socket', sock]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(requests).to.deep.equal([{ command: 'replica.status', volume: 'web' }]);
    expect(JSON.parse(r.stdout)).to.deep.equal({ node: 'node-a', volumes: [secondary] });
  });

  it('primary --force sends force:true and prints the summary; without it, no force field', async () => {
    const r = await tandem(['replica', 'primary', 'db', '--force', '-s', sock]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('db: Primary, disk UpToDate');
    const r2 = await tandem(['replica', 'primary', 'db', '-s', sock, '--json']);
    expect(r2.exitCode, r2.stderr).to.equal(0);
    expect(JSON.parse(r2.stdout)).to.deep.equal(volume({}));
    expect(requests).to.deep.equal([
      { command: 'replica.primary', volume: 'db', force: true },
      { command: 'replica.primary', volume: 'db' },
    ]);
  });

  it('every other command sends its request with the volume', async () => {
    for (const c of ['secondary', 'connect', 'disconnect', 'verify', 'invalidate', 'outdate', 'discard-my-data', 'flush']) {
      const r = await tandem(['replica', c, 'db', '-s', sock]);
      expect(r.exitCode, `${c}: ${r.stderr}`).to.equal(0);
      expect(r.stdout).to.equal(c === 'secondary' ? 'db: Secondary, disk UpToDate' : 'db: Primary, disk UpToDate');
    }
    expect(requests.map((q) => q.command)).to.deep.equal([
      'replica.secondary', 'replica.connect', 'replica.disconnect', 'replica.verify', 'replica.invalidate', 'replica.outdate', 'replica.discard-my-data', 'replica.flush',
    ]);
    expect(requests.every((q) => q.volume === 'db' && Object.keys(q).length === 2)).to.equal(true);
  });

  it('secondary --force sends force (cut NBD clients)', async () => {
    const r = await tandem(['replica', 'secondary', 'db', '--force', '-s', sock]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(requests).to.deep.equal([{ command: 'replica.secondary', volume: 'db', force: true }]);
  });

  it('outdate --by NODE sends the asking Primary; a bad node name is a usage error', async () => {
    const r = await tandem(['replica', 'outdate', 'db', '--by', 'node-b', '-s', sock]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(requests).to.deep.equal([{ command: 'replica.outdate', volume: 'db', by: 'node-b' }]);
    const bad = await tandem(['replica', 'outdate', 'db', '--by', 'no/de', '-s', sock]);
    expect(bad.exitCode).to.equal(64);
    expect(bad.stderr).to.include('a node name must be 1..63 characters');
    expect(requests).to.have.length(1);
  });

  it('a refused command prints the request and the reason, exit 1', async () => {
    const r = await tandem(['replica', 'primary', 'web', '--force', '-s', sock]);
    expect(r.exitCode).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal(
      'tandem: the daemon refused "replica.primary web": the disk is Diskless: there is no local data to serve',
    );
    const r2 = await tandem(['replica', 'status', 'nope', '-s', sock]);
    expect(r2.exitCode).to.equal(1);
    expect(r2.stderr).to.include('the daemon refused "replica.status nope": no volume "nope"');
  });

  it('a bad volume name is a usage error (exit 64) naming the rule, and the daemon is not asked', async () => {
    for (const args of [['primary', 'bad/name'], ['status', 'x'.repeat(65)], ['connect', 'a b'], ['verify', '']]) {
      const r = await tandem(['replica', ...args, '-s', sock]);
      expect(r.exitCode, args.join(' ')).to.equal(64);
      expect(r.stderr).to.include('a volume name must be 1..63 characters from A-Z a-z 0-9 _ . -');
    }
    expect(requests).to.deep.equal([]);
  });

  it('a missing NAME or an unknown sub-command is a usage error, exit 64', async () => {
    const r = await tandem(['replica', 'primary', '-s', sock]);
    expect(r.exitCode).to.equal(64);
    expect(r.stderr).to.include("missing required argument 'name'");
    const r2 = await tandem(['replica', 'promote', 'db']);
    expect(r2.exitCode).to.equal(64);
    expect(r2.stderr).to.include("unknown command 'promote'");
  });

  it('without a daemon: "cannot reach the daemon", exit 69', async () => {
    const r = await tandem(['replica', 'status', '-s', join(dir, 'none.sock')]);
    expect(r.exitCode).to.equal(69);
    expect(r.stderr).to.include('cannot reach the daemon at').and.include('no tandem daemon is running');
  });

  it('--help lists the replica commands', async () => {
    const r = await tandem(['replica', '--help']);
    expect(r.exitCode).to.equal(0);
    for (const c of ['status', 'primary', 'secondary', 'connect', 'disconnect', 'verify', 'invalidate', 'outdate', 'discard-my-data']) expect(r.stdout).to.include(c);
  });
});
