import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { byteSize } from '../../lib/config/checks.js';
import { Issues } from '../../lib/config/issues.js';
import { formatIssues, formatWarnings, loadConfigFile, parseConfigText, validateConfig, validateWithSections } from '../../lib/config/load.js';
import { formatHostPort, hostPort } from '../../lib/config/names.js';
import { nodeSection } from '../../lib/config/node-section.js';
import { NBD_KEYS } from '../../lib/config/replication-nbd.js';
import { PEER_KEYS } from '../../lib/config/replication-peers.js';
import { REPLICATION_KEYS, replicationSection, TLS_KEYS } from '../../lib/config/replication-section.js';
import { VOLUME_KEYS } from '../../lib/config/replication-volume.js';
import type { BlockVolumeConfig, ConfigIssue, TandemConfig } from '../../lib/config/types.js';
import { blockVolume, expectOnly, issuesOf, replicationDoc, validOf } from './helpers.js';

const H = { hostname: 'testhost' };
const root = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

const vol = blockVolume;
const conf = replicationDoc;
const valid = (raw: unknown): TandemConfig => validOf(raw).config;
const warningsOf = (raw: unknown): ConfigIssue[] => validOf(raw).warnings;
const volumeOf = (raw: unknown): BlockVolumeConfig => { const v = valid(raw).replication.volumes[0]; return v?.type === 'block' ? v : expect.fail('no block volume'); };

describe('config/replication', () => {
  describe('defaults', () => {
    it('an absent section means no replication; empty volumes need no secret', () => {
      const none = { secretFile: '', congestionControl: 'cubic', volumes: [] };
      expect(valid({ node: { name: 'n' } }).replication).to.deep.equal(none);
      expect(valid({ replication: {} }).replication).to.deep.equal(none);
      expect(valid({ replication: { volumes: [] } }).replication).to.deep.equal(none);
      expect(valid({ replication: { secret_file: '/s', volumes: [] } }).replication).to.deep.equal({ ...none, secretFile: '/s' });
    });
    it('congestion_control: cubic by default, "system" for the host\'s default (null), or an algorithm\'s name', () => {
      expect(valid(conf([vol()])).replication?.congestionControl).to.equal('cubic');
      expect(valid(conf([vol()], { congestion_control: 'system' })).replication?.congestionControl).to.equal(null);
      expect(valid(conf([vol()], { congestion_control: 'bbr' })).replication?.congestionControl).to.equal('bbr');
      expect(valid(conf([vol()], { congestion_control: 'dctcp' })).replication?.congestionControl).to.equal('dctcp');
    });
    it('fills every default of a minimal volume', () => {
      expect(volumeOf(conf([vol()]))).to.deep.equal({
        name: 'db', type: 'block', device: '/var/lib/tandem/db.img', size: 10 * 2 ** 30,
        metadata: '/var/lib/tandem/db.meta', protocol: 'C',
        listen: { host: '198.51.100.11', port: 7789 },
        peers: [{ name: 'node-b', address: { host: '198.51.100.12', port: 7789 } }],
        nbd: { socket: '/run/tandem/db.nbd' },
        afterSb: { after_sb_0pri: 'disconnect', after_sb_1pri: 'disconnect', after_sb_2pri: 'disconnect' },
        blockSize: 4096, alExtents: 1237, timeoutMs: 6000, pingIntervalMs: 1000, pingTimeoutMs: 5000, csumsResync: false, resyncMaxRate: null, fencing: 'dont-care',
      });
    });
    it('the default metadata file is in node.state_dir', () => {
      expect(volumeOf(conf([vol()], {}, { name: 'node-a', state_dir: '/srv/tandem/' })).metadata).to.equal('/srv/tandem/db.meta');
      expect(volumeOf({ replication: { secret_file: '/s', volumes: [vol()] } }).metadata).to.equal('/var/lib/tandem/db.meta');
      expect(volumeOf(conf([vol({ metadata: '/meta/db' })], {}, { name: 'node-a', state_dir: '/srv' })).metadata).to.equal('/meta/db');
    });
    it('NBD: a Unix socket by default, TCP only when configured', () => {
      expect(volumeOf(conf([vol({ nbd: { listen: '127.0.0.1:10809' } })])).nbd).to.deep.equal({ tcp: { host: '127.0.0.1', port: 10809 } });
      expect(volumeOf(conf([vol({ nbd: { socket: '/run/db.sock' } })])).nbd).to.deep.equal({ socket: '/run/db.sock' });
      expect(volumeOf(conf([vol({ nbd: { listen: '[::1]:10809', socket: '/run/db.sock' } })])).nbd).to.deep.equal({ tcp: { host: '::1', port: 10809 }, socket: '/run/db.sock' });
    });
    it('works without the node section (the name defaults to the host name)', () => {
      const r = validateConfig({ replication: { secret_file: '/s', volumes: [vol({ peers: [{ name: 'testhost', address: '192.0.2.2:1' }] })] } }, H);
      expect(r.ok ? [] : r.issues.map((i) => i.path)).to.deep.equal(['replication.volumes[0].peers[0].name']);
    });
  });

  it('reads a full volume with every key', () => {
    const raw = conf([vol({
      type: 'block', size: 2 ** 40, metadata: '/var/lib/tandem/db.meta', protocol: 'C',
      listen: '[2001:DB8:0::11]:7789',
      peers: [{ name: 'node-b', address: '[2001:db8::12]:7789' }, { name: 'node-c', address: '[2001:db8::13]:7790' }],
      nbd: { listen: '127.0.0.1:10809', socket: '/run/tandem/db.nbd' },
      after_sb_0pri: 'discard-node-node-a', after_sb_1pri: 'consensus', after_sb_2pri: 'violently-as0p',
      block_size: 65536, al_extents: 7, timeout: 0.5, ping_interval: 0.25, ping_timeout: 2.5, csums_resync: true, resync_max_rate: '100MiB/s',
      fencing: 'resource-only', fence_peer: '/usr/local/sbin/fence-peer --via ssh',
    })], { tls: { cert: '/etc/tandem/node.crt', key: '/etc/tandem/node.key', ca: '/etc/tandem/ca.crt' } });
    const r = valid(raw).replication;
    expect(r.secretFile).to.equal('/etc/tandem/secret');
    expect(r.tls).to.deep.equal({ cert: '/etc/tandem/node.crt', key: '/etc/tandem/node.key', ca: '/etc/tandem/ca.crt' });
    expect(r.volumes[0]).to.deep.equal({
      name: 'db', type: 'block', device: '/var/lib/tandem/db.img', size: 2 ** 40, metadata: '/var/lib/tandem/db.meta', protocol: 'C',
      listen: { host: '2001:db8::11', port: 7789 },
      peers: [{ name: 'node-b', address: { host: '2001:db8::12', port: 7789 } }, { name: 'node-c', address: { host: '2001:db8::13', port: 7790 } }],
      nbd: { tcp: { host: '127.0.0.1', port: 10809 }, socket: '/run/tandem/db.nbd' },
      afterSb: { after_sb_0pri: 'discard-node-node-a', after_sb_1pri: 'consensus', after_sb_2pri: 'violently-as0p' },
      blockSize: 65536, alExtents: 7, timeoutMs: 500, pingIntervalMs: 250, pingTimeoutMs: 2500, csumsResync: true, resyncMaxRate: 100 * 2 ** 20,
      fencing: 'resource-only', fencePeer: '/usr/local/sbin/fence-peer --via ssh',
    });
  });

  describe('size', () => {
    const table: [unknown, number][] = [
      [4096, 4096], ['4096', 4096], ['4096B', 4096], ['4K', 4096], ['4KiB', 4096], ['1M', 2 ** 20], ['1MiB', 2 ** 20],
      ['10G', 10 * 2 ** 30], ['10GiB', 10 * 2 ** 30], ['10 GiB', 10 * 2 ** 30], ['1.5GiB', 1.5 * 2 ** 30],
      ['2T', 2 * 2 ** 40], ['2TiB', 2 * 2 ** 40], [2 ** 52, 2 ** 52], ['4096TiB', 2 ** 52],
    ];
    for (const [written, bytes] of table) {
      it(`${JSON.stringify(written)} is ${bytes} bytes`, () => expect(volumeOf(conf([vol({ size: written })])).size).to.equal(bytes));
    }
    const bad: [unknown, string][] = [
      [0, 'is not positive'], [-4096, 'is not positive'], [4095, 'is not a multiple of 4096'], ['1001KiB', 'is not a multiple of 4096'],
      [2 ** 52 + 4096, `is more than ${2 ** 52}`], ['4097TiB', 'is more than'], ['10GB', 'GB is ambiguous: write GiB'], ['10kb', 'write KiB'],
      ['10 gigs', 'unknown unit "gigs"'], ['1.1KiB', 'not a whole number of bytes'], [4096.5, 'whole number'], [true, 'a whole number of bytes'],
      ['', 'a whole number of bytes'], ['GiB', 'a whole number of bytes'],
    ];
    for (const [written, fragment] of bad) {
      it(`${JSON.stringify(written)} is refused: ${fragment}`, () => {
        const issue = expectOnly(conf([vol({ size: written })]), 'replication.volumes[0].size', fragment, 'units B, KiB, MiB, GiB, TiB');
        expect(issue.value).to.equal(written);
      });
    }
    it('must be a multiple of a block_size larger than 4096', () => {
      expectOnly(conf([vol({ size: 8192, block_size: 65536 })]), 'replication.volumes[0].size', 'not a multiple of block_size (65536)');
      expect(volumeOf(conf([vol({ size: '1MiB', block_size: 65536 })])).size).to.equal(2 ** 20);
    });
    it('is required', () => {
      const v = vol();
      delete v['size'];
      expectOnly(conf([v]), 'replication.volumes[0].size', 'required key is missing', '"10GiB"');
    });
    it('byteSize is a reusable check', () => {
      const issues = new Issues();
      expect(byteSize(512, 2 ** 20).read('1KiB', ['x'], issues)).to.equal(1024);
      expect(byteSize(512, 2 ** 20).read('2MiB', ['x'], issues)).to.equal(undefined);
      expect(issues.errors[0]?.message).to.include('is more than 1048576');
    });
  });

  describe('resync_max_rate', () => {
    const table: [unknown, number][] = [
      [65536, 65536], ['64KiB', 65536], ['64KiB/s', 65536], ['100M', 100 * 2 ** 20], ['100MiB/s', 100 * 2 ** 20], ['1.5 GiB / s', 1.5 * 2 ** 30], ['1TiB/s', 2 ** 40],
    ];
    for (const [written, bytes] of table) {
      it(`${JSON.stringify(written)} is ${bytes} bytes per second`, () => expect(volumeOf(conf([vol({ resync_max_rate: written })])).resyncMaxRate).to.equal(bytes));
    }
    const bad: [unknown, string][] = [
      [65535, 'less than 64KiB/s'], ['63KiB/s', 'less than 64KiB/s'], ['2TiB/s', 'more than 1TiB/s'], ['100MB/s', 'MB is ambiguous: write MiB'],
      ['100MiB/h', 'bytes per second'], ['fast', 'bytes per second'], [true, 'bytes per second'], [0, 'less than 64KiB/s'],
    ];
    for (const [written, fragment] of bad) {
      it(`${JSON.stringify(written)} is refused: ${fragment}`, () => {
        const issue = expectOnly(conf([vol({ resync_max_rate: written })]), 'replication.volumes[0].resync_max_rate', fragment, '"100MiB/s"');
        expect(issue.value).to.equal(written);
      });
    }
    it('DRBD\'s c-max-rate and resync-rate point to it', () => {
      expectOnly(conf([vol({ 'c-max-rate': '100M' })]), 'replication.volumes[0]["c-max-rate"]', 'resync_max_rate');
      expectOnly(conf([vol({ 'resync-rate': '100M' })]), 'replication.volumes[0]["resync-rate"]', 'resync_max_rate');
    });
  });

  describe('addresses', () => {
    const at = 'replication.volumes[0].listen';
    it('IPv6 listen and peer addresses are bracketed and come back canonical', () => {
      const v = volumeOf(conf([vol({ listen: '[2001:DB8::0:11]:7789', peers: [{ name: 'node-b', address: '[2001:db8::12]:7789' }] })]));
      expect(v.listen).to.deep.equal({ host: '2001:db8::11', port: 7789 });
      expect(formatHostPort(v.listen)).to.equal('[2001:db8::11]:7789');
      expect(formatHostPort(v.peers[0]?.address ?? expect.fail())).to.equal('[2001:db8::12]:7789');
    });
    const bad: [unknown, string][] = [
      ['0.0.0.0:7789', '0.0.0.0 is a wildcard address'],
      ['[::]:7789', ':: is a wildcard address'],
      ['198.51.100.11', 'the port is missing'],
      ['198.51.100.11:0', 'port 0 is out of range'],
      ['198.51.100.11:65536', 'port 65536 is out of range'],
      ['198.51.100.11:123456', 'not of that form'],
      ['node-a:7789', '"node-a" is not an IP address (host names are not resolved)'],
      ['2001:db8::11:7789', 'an IPv6 address goes in brackets'],
      ['[198.51.100.11]:7789', 'brackets are for IPv6 addresses only'],
      ['[fe80::1]:7789', 'link-local'],
      ['[fe80::1%eth0]:7789', '%zone'],
      ['224.0.0.1:7789', 'multicast'],
      ['[::ffff:198.51.100.11]:7789', 'IPv4-mapped'],
      [['2001:db8::11'], 'put the value in quotes'],
      [7789, 'give the address too'],
    ];
    for (const [written, fragment] of bad) {
      it(`listen ${JSON.stringify(written)} is refused: ${fragment}`, () => {
        expectOnly(conf([vol({ listen: written })]), at, fragment, 'port 1..65535, not a wildcard address');
      });
    }
    it('a peer address may not be a wildcard either; nbd.listen may, with a warning', () => {
      expectOnly(conf([vol({ peers: [{ name: 'node-b', address: '0.0.0.0:7789' }] })]), 'replication.volumes[0].peers[0].address', 'wildcard');
      const w = warningsOf(conf([vol({ nbd: { listen: '0.0.0.0:10809' } })]));
      expect(w.map((i) => i.path)).to.deep.equal(['replication.volumes[0].nbd.listen']);
      expect(w[0]?.message).to.include('NBD has no authentication');
    });
    it('hostPort is a reusable check', () => {
      const issues = new Issues();
      expect(hostPort(true).read('[::]:1', ['x'], issues)).to.deep.equal({ host: '::', port: 1 });
      expect(hostPort(false).read('[::]:1', ['x'], issues)).to.equal(undefined);
      expect(issues.errors).to.have.length(1);
    });
  });

  describe('errors', () => {
    const v0 = 'replication.volumes[0]';
    it('secret_file is required once there is a volume, and absolute', () => {
      expectOnly({ node: { name: 'node-a' }, replication: { volumes: [vol()] } }, 'replication.secret_file', 'required key is missing when there are volumes', 'absolute path');
      expectOnly(conf([vol()], { secret_file: 'secret' }), 'replication.secret_file', 'an absolute path');
    });
    it('congestion_control is "system" or an algorithm\'s name; the sysctl\'s name points to it', () => {
      const allowed = '"system" (the host\'s net.ipv4.tcp_congestion_control) or the name of a TCP congestion control algorithm: 1..15 characters from a-z 0-9 _';
      for (const bad of ['BBR', 'tcp-cubic', 'a_name_too_long_x', '', 7, ['cubic']]) {
        expectOnly(conf([vol()], { congestion_control: bad }), 'replication.congestion_control', allowed);
      }
      expectOnly(conf([vol()], { tcp_congestion_control: 'bbr' }), 'replication.tcp_congestion_control', 'congestion_control: cubic (the default), bbr, ... or system');
    });
    it('tls needs cert, key and ca, each an absolute path', () => {
      expectOnly(conf([vol()], { tls: { cert: '/c', key: '/k' } }), 'replication.tls.ca', 'required key is missing', 'absolute path');
      expectOnly(conf([vol()], { tls: { cert: '/c', key: 'k', ca: '/a' } }), 'replication.tls.key', 'an absolute path');
      expectOnly(conf([vol()], { tls: '/etc/tls' }), 'replication.tls', 'must be a mapping', 'cert, key and ca');
      expectOnly(conf([vol()], { tls: { cert: '/c', key: '/k', ca: '/a', cacert: '/x' } }), 'replication.tls.cacert', 'unknown key', 'allowed keys here: cert, key, ca');
    });
    it('unknown keys get a suggestion or a DRBD hint', () => {
      expectOnly(conf([vol()], { volume: [] }), 'replication.volume', 'did you mean "volumes"?');
      expectOnly(conf([vol({ ping_int: 1 })]), `${v0}.ping_int`, 'did you mean "ping_interval"?', 'allowed keys here: name, type, device');
      expectOnly(conf([vol({ 'after-sb-0pri': 'disconnect' })]), `${v0}["after-sb-0pri"]`, 'did you mean "after_sb_0pri"?');
      expectOnly(conf([vol({ disk: '/dev/sdb' })]), `${v0}.disk`, 'written device here');
      expectOnly(conf([vol({ secret_file: '/s' })]), `${v0}.secret_file`, 'set once for all volumes');
      expectOnly(conf([vol({ peers: [{ name: 'node-b', address: '192.0.2.2:1', adress: '192.0.2.2:1' }] })]), `${v0}.peers[0].adress`, 'did you mean "address"?');
      expectOnly(conf([vol({ nbd: { socket: '/s', port: 10809 } })]), `${v0}.nbd.port`, 'allowed keys here: listen, socket');
    });
    it('the section, volumes and each volume have their shapes', () => {
      expectOnly({ replication: [] }, 'replication', 'must be a mapping', 'secret_file, tls, congestion_control, volumes');
      expectOnly({ replication: { volumes: { db: {} } } }, 'replication.volumes', 'must be a list of volumes');
      expectOnly(conf(['db']), `${v0}`, 'must be a mapping');
    });
    it('name follows the name rule and is unique', () => {
      expectOnly(conf([vol({ name: 'my db' })]), `${v0}.name`, '1..63 characters');
      const two = conf([vol(), vol({ device: '/d2', listen: '198.51.100.11:7790', peers: [{ name: 'node-b', address: '198.51.100.12:7790' }] })]);
      expectOnly(two, 'replication.volumes[1].name', 'volume names must be unique', 'replication.volumes[0] is also named db');
    });
    it('type is block or directory (test/config/replication-directory.test.ts)', () => {
      expectOnly(conf([vol({ type: 'file' })]), `${v0}.type`, 'must be one of "block" or "directory"');
      expectOnly(conf([vol({ type: 'Block' })]), `${v0}.type`, 'did you mean "block"?');
      expectOnly(conf([vol({ exclude: ['*.tmp'] })]), `${v0}.exclude`, 'exclude belongs to directory volumes (type: directory)', 'a block volume replicates its device');
    });
    it('device and metadata are absolute paths', () => {
      expectOnly(conf([vol({ device: 'db.img' })]), `${v0}.device`, 'an absolute path');
      expectOnly(conf([vol({ metadata: 'db.meta' })]), `${v0}.metadata`, 'an absolute path');
      const v = vol();
      delete v['device'];
      expectOnly(conf([v]), `${v0}.device`, 'required key is missing');
    });
    it('protocol is A, B or C', () => {
      expectOnly(conf([vol({ protocol: 'D' })]), `${v0}.protocol`, 'must be one of "A", "B" or "C"');
      expectOnly(conf([vol({ protocol: 'c' })]), `${v0}.protocol`, 'did you mean "C"?');
    });
    it('peers: 1..31 entries with unique names and addresses', () => {
      expectOnly(conf([vol({ peers: [] })]), `${v0}.peers`, 'a list of 1..31 peers', '(got 0)');
      const many = Array.from({ length: 32 }, (_, i) => ({ name: `n${i}`, address: `192.0.2.${i + 1}:7789` }));
      expectOnly(conf([vol({ peers: many })]), `${v0}.peers`, 'a list of 1..31 peers', '(got 32)');
      expect(volumeOf(conf([vol({ peers: many.slice(0, 31) })])).peers).to.have.length(31);
      const v = vol();
      delete v['peers'];
      expectOnly(conf([v]), `${v0}.peers`, 'required key is missing');
      const dupName = [{ name: 'node-b', address: '192.0.2.2:1' }, { name: 'node-b', address: '192.0.2.3:1' }];
      expectOnly(conf([vol({ peers: dupName })]), `${v0}.peers[1].name`, 'node-b is already listed at replication.volumes[0].peers[0]');
      const dupAddress = [{ name: 'node-b', address: '192.0.2.2:1' }, { name: 'node-c', address: '192.0.2.2:1' }];
      expectOnly(conf([vol({ peers: dupAddress })]), `${v0}.peers[1].address`, 'each peer has its own address');
      expectOnly(conf([vol({ peers: [{ name: 'node-b' }] })]), `${v0}.peers[0].address`, 'required key is missing');
    });
    it('a peer named like this node is refused', () => {
      expectOnly(conf([vol({ peers: [{ name: 'node-a', address: '198.51.100.12:7789' }] })]), `${v0}.peers[0].name`, "node-a is this node's own name (node.name)");
    });
    it('a peer address equal to the listen address is refused', () => {
      expectOnly(conf([vol({ peers: [{ name: 'node-b', address: '198.51.100.11:7789' }] })]), `${v0}.peers[0].address`, "this volume's own listen address");
    });
    it('nbd: listen and/or socket', () => {
      expectOnly(conf([vol({ nbd: {} })]), `${v0}.nbd`, 'must set listen', 'socket (a Unix socket path) or both');
      expectOnly(conf([vol({ nbd: { socket: 'db.nbd' } })]), `${v0}.nbd.socket`, 'an absolute path', '108 bytes');
      expectOnly(conf([vol({ nbd: { listen: 'localhost:10809' } })]), `${v0}.nbd.listen`, 'not an IP address');
      expectOnly(conf([vol({ nbd: '127.0.0.1:10809' })]), `${v0}.nbd`, 'must be a mapping');
    });
    it('after_sb_* policies are checked per number of primaries', () => {
      expectOnly(conf([vol({ after_sb_0pri: 'consensus' })]), `${v0}.after_sb_0pri`, 'only valid for after_sb_1pri');
      expectOnly(conf([vol({ after_sb_1pri: 'discard-younger-primary' })]), `${v0}.after_sb_1pri`, 'must be one of "disconnect", "consensus"');
      expectOnly(conf([vol({ after_sb_2pri: 'call-pri-lost-after-sb' })]), `${v0}.after_sb_2pri`, 'tandem does not support');
      expectOnly(conf([vol({ after_sb_2pri: 1 })]), `${v0}.after_sb_2pri`, 'got a number');
      expectOnly(conf([vol({ after_sb_0pri: 'discard-node-node-c' })]), `${v0}.after_sb_0pri`, 'names no node of this volume', '"node-a" or "node-b"');
      expect(volumeOf(conf([vol({ after_sb_0pri: 'discard-node-node-b' })])).afterSb.after_sb_0pri).to.equal('discard-node-node-b');
    });
    it('numbers: block_size, al_extents, timeouts, csums_resync', () => {
      expectOnly(conf([vol({ block_size: 1000 })]), `${v0}.block_size`, 'a power of two 512..1048576');
      expectOnly(conf([vol({ block_size: 2 ** 21 })]), `${v0}.block_size`, 'a power of two 512..1048576');
      expectOnly(conf([vol({ al_extents: 6 })]), `${v0}.al_extents`, 'an integer 7..65534');
      expectOnly(conf([vol({ timeout: 0.05 })]), `${v0}.timeout`, '>= 0.1 and <= 600');
      expectOnly(conf([vol({ timeout: '6' })]), `${v0}.timeout`, 'write the number without quotes');
      expectOnly(conf([vol({ ping_timeout: 1 })]), `${v0}.ping_timeout`, 'must be longer than ping_interval (1 s)');
      expectOnly(conf([vol({ ping_interval: 5 })]), `${v0}.ping_interval`, 'ping_timeout (5 s) must be longer than ping_interval (5 s)');
      expectOnly(conf([vol({ ping_interval: 200, ping_timeout: 0.5 })]), `${v0}.ping_interval`, '>= 0.1 and <= 120');
      expectOnly(conf([vol({ csums_resync: 'yes' })]), `${v0}.csums_resync`, 'true or false', 'YAML 1.2');
    });
    it('fencing: a known policy, and resource-only with its handler', () => {
      expectOnly(conf([vol({ fencing: 'resource-only' })]), `${v0}.fencing`, 'add fence_peer: COMMAND', 'exit 4');
      expectOnly(conf([vol({ fencing: 'resource-and-stonith', fence_peer: '/f' })]), `${v0}.fencing`, 'not supported', 'exits 7');
      expectOnly(conf([vol({ fencing: 'resource' })]), `${v0}.fencing`, '"dont-care" or "resource-only"');
      expectOnly(conf([vol({ fencing: 'resource-only', fence_peer: '' })]), `${v0}.fence_peer`);
      expectOnly(conf([vol({ 'fence-peer': '/f' })]), `${v0}["fence-peer"]`, 'fence_peer: COMMAND');
      expect(volumeOf(conf([vol({ fencing: 'dont-care' })]))).to.include({ fencing: 'dont-care' });
    });
  });

  describe('across volumes', () => {
    // A second volume that clashes with the first in nothing.
    const second = (over: Record<string, unknown> = {}): Record<string, unknown> =>
      vol({ name: 'web', device: '/var/lib/tandem/web.img', listen: '198.51.100.11:7790', peers: [{ name: 'node-b', address: '198.51.100.12:7790' }], ...over });
    const v1 = 'replication.volumes[1]';
    it('two distinct volumes are fine', () => {
      expect(valid(conf([vol(), second()])).replication.volumes.map((v) => v.metadata)).to.deep.equal(['/var/lib/tandem/db.meta', '/var/lib/tandem/web.meta']);
    });
    it('two volumes with the same listen address', () => {
      expectOnly(conf([vol(), second({ listen: '198.51.100.11:7789' })]), `${v1}.listen`, 'clashes with the listen address of volume db', 'own address and port');
    });
    it('two volumes with the same nbd TCP address, or an nbd one on a listen one', () => {
      const nbd = { listen: '127.0.0.1:10809' };
      expectOnly(conf([vol({ nbd }), second({ nbd })]), `${v1}.nbd.listen`, 'clashes with the nbd.listen of volume db');
      expectOnly(conf([vol(), second({ nbd: { listen: '198.51.100.11:7789' } })]), `${v1}.nbd.listen`, 'clashes with the listen address of volume db');
      // A wildcard takes the port on every address of its family.
      const issues = issuesOf(conf([vol({ nbd: { listen: '0.0.0.0:7790' } }), second()]));
      expect(issues.map((i) => `${i.path}: ${i.message}`)).to.deep.equal([`${v1}.listen: clashes with the nbd.listen of volume db 0.0.0.0:7790 (replication.volumes[0].nbd.listen): every listener needs its own address and port`]);
    });
    it('two volumes with the same nbd socket', () => {
      expectOnly(conf([vol({ nbd: { socket: '/run/x.nbd' } }), second({ nbd: { socket: '/run//x.nbd' } })]), `${v1}.nbd.socket`, 'is also the nbd socket of volume db', 'its own nbd socket');
      // The default socket of web is /run/tandem/web.nbd.
      expectOnly(conf([vol({ nbd: { socket: '/run/tandem/web.nbd' } }), second()]), `${v1}.nbd`, "default nbd socket clashes: set nbd.socket");
    });
    it("an nbd socket at another volume's device or metadata file, or the other way round", () => {
      expectOnly(conf([vol(), second({ nbd: { socket: '/var/lib/tandem/db.img' } })]), `${v1}.nbd.socket`, '/var/lib/tandem/db.img is also the device of volume db (replication.volumes[0].device): every volume needs its own nbd socket');
      expectOnly(conf([vol({ nbd: { socket: '/m/x' } }), second({ metadata: '/m/x' })]), `${v1}.metadata`, '/m/x is also the nbd socket of volume db (replication.volumes[0].nbd.socket): every volume needs its own device and its own metadata file');
    });
    it('an nbd socket on node.control_socket', () => {
      expectOnly(conf([vol({ nbd: { socket: '/run/tandem/control.sock' } })]), 'replication.volumes[0].nbd.socket', 'is node.control_socket');
    });
    it('two volumes with the same device or metadata file', () => {
      expectOnly(conf([vol(), second({ device: '/var/lib/tandem/db.img' })]), `${v1}.device`, 'is also the device of volume db (replication.volumes[0].device)');
      expectOnly(conf([vol({ metadata: '/m/x' }), second({ metadata: '/m/./x' })]), `${v1}.metadata`, 'is also the metadata file of volume db');
      expectOnly(conf([vol({ metadata: '/m/x' }), second({ device: '/m/x' })]), `${v1}.device`, 'is also the metadata file of volume db');
      expectOnly(conf([vol({ metadata: '/var/lib/tandem/db.img' })]), 'replication.volumes[0].metadata', 'is also the device of volume db');
    });
    it("a device or metadata file that is a block volume's activity log (<metadata>.al)", () => {
      expectOnly(conf([vol({ metadata: '/m/x' }), second({ device: '/m/x.al' })]), `${v1}.device`, '/m/x.al is also the activity log of volume db (metadata + .al) (replication.volumes[0].metadata)');
      expectOnly(conf([vol({ metadata: '/m/x' }), second({ metadata: '/m/./x.al' })]), `${v1}.metadata`, 'is also the activity log of volume db');
      // Claimed in the other order, the .al file is reported on the metadata key that makes it.
      expectOnly(conf([vol({ device: '/m/x.al' }), second({ metadata: '/m/x' })]), `${v1}.metadata`, '/m/x.al is also the device of volume db', 'a block volume also writes /m/x.al, its activity log: choose a metadata path whose .al file is free');
      expectOnly(conf([vol({ metadata: '/var/lib/tandem/db.img.x' }), second({ metadata: '/var/lib/tandem/db.img.x.al' })]), `${v1}.metadata`, 'is also the activity log of volume db');
    });
    it('a default metadata path that is another volume\'s file', () => {
      const issue = expectOnly(conf([vol(), second({ device: '/srv/db.meta' })], {}, { name: 'node-a', state_dir: '/srv' }), 'replication.volumes[0].metadata',
        'defaults to /srv/db.meta (node.state_dir/NAME.meta), which is also the device of volume web (replication.volumes[1].device)');
      expect(issue.value).to.equal(undefined);
      expectOnly(conf([vol(), second({ device: '/srv/db.meta.al' })], {}, { name: 'node-a', state_dir: '/srv' }), 'replication.volumes[0].metadata',
        'defaults to /srv/db.meta (node.state_dir/NAME.meta) with its activity log /srv/db.meta.al, which is also the device of volume web (replication.volumes[1].device)');
      expectOnly(conf([vol(), second({ metadata: '/srv/db.meta.al' })], {}, { name: 'node-a', state_dir: '/srv' }), 'replication.volumes[0].metadata', 'with its activity log /srv/db.meta.al, which is also the metadata file of volume web');
    });
    it("a peer address that is one of this node's listeners, or serves two volumes", () => {
      expectOnly(conf([vol(), second({ peers: [{ name: 'node-b', address: '198.51.100.11:7789' }] })]), `${v1}.peers[0].address`, 'is the listen address of volume db on this node');
      expectOnly(conf([vol(), second({ peers: [{ name: 'node-b', address: '198.51.100.12:7789' }] })]), `${v1}.peers[0].address`, 'is also the address of peer node-b of volume db');
    });
    it('crossCheck still runs for a volume with other errors', () => {
      const issues = issuesOf(conf([vol({ block_size: 3, peers: [{ name: 'node-a', address: '192.0.2.2:1' }] })]));
      expect(issues.map((i) => i.path)).to.deep.equal(['replication.volumes[0].block_size', 'replication.volumes[0].peers[0].name']);
    });
  });

  describe('warnings', () => {
    it('protocol A and B can lose acknowledged writes', () => {
      for (const protocol of ['A', 'B']) {
        const w = warningsOf(conf([vol({ protocol })]));
        expect(w.map((i) => i.path)).to.deep.equal(['replication.volumes[0].protocol']);
        expect(w[0]?.message).to.include('acknowledged writes can be lost if the primary dies');
      }
      expect(warningsOf(conf([vol({ protocol: 'C' })]))).to.deep.equal([]);
    });
    it('a fence_peer handler without fencing: resource-only is never run', () => {
      const w = warningsOf(conf([vol({ fence_peer: '/usr/local/sbin/fence-peer' })]));
      expect(w.map((i) => i.path)).to.deep.equal(['replication.volumes[0].fence_peer']);
      expect(w[0]?.message).to.include('runs only with fencing: resource-only');
    });
  });

  describe('as a registered section', () => {
    it('is a top-level key, and only the registered sections are', () => {
      const r = validateWithSections({ node: { name: 'n' }, replication: {} }, [nodeSection], H);
      expect(r.ok ? [] : r.issues.map((i) => i.path)).to.deep.equal(['replication']);
      // validate.ts also wants a vrrp result before it returns a config; what matters here is no issue.
      const alone = validateWithSections({ node: { name: 'n' }, replication: { secret_file: '/s', volumes: [vol()] } }, [nodeSection, replicationSection], H);
      expect(alone.ok ? [] : alone.issues).to.deep.equal([]);
    });
    it('errors in YAML text carry their line', () => {
      const text = [
        'node: { name: node-a }', //                1
        'replication:', //                          2
        '  secret_file: /etc/tandem/secret', //     3
        '  volumes:', //                            4
        '    - name: db', //                        5
        '      device: /var/lib/tandem/db.img', //  6
        '      size: 10GB', //                      7
        '      listen: "[2001:db8::11]:7789"', //   8
        '      peers: [{ name: node-b, address: "[2001:db8::12]:7789" }]', // 9
      ].join('\n');
      const r = parseConfigText(text, H);
      const issues = r.ok ? [] : r.issues;
      expect(issues.map((i) => [i.path, i.line])).to.deep.equal([['replication.volumes[0].size', 7]]);
      expect(formatIssues(issues, 'f.yaml')).to.match(/^f\.yaml: replication\.volumes\[0\]\.size: "10GB" is not allowed: must be a whole number of bytes.*GB is ambiguous.*\(line 7\)$/);
    });
  });

  describe('documentation', () => {
    it('docs/configuration.md documents every replication key', async () => {
      const doc = await readFile(root('docs/configuration.md'), 'utf8');
      const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
      for (const key of ['replication', ...REPLICATION_KEYS, ...TLS_KEYS, ...VOLUME_KEYS, ...PEER_KEYS, ...NBD_KEYS]) {
        expect(rows.some((r) => r.split('|')[1]?.includes(`\`${key}\``)), key).to.equal(true);
      }
    });
    it('docs/examples/replicated-pair.yaml is a node with a replicated block volume (then a directory one) and no VRRP', async () => {
      const r = await loadConfigFile(root('docs/examples/replicated-pair.yaml'), H);
      if (!r.ok) return expect.fail(formatIssues(r.issues, 'replicated-pair.yaml'));
      expect(formatWarnings(r.warnings ?? [], 'replicated-pair.yaml')).to.equal('');
      expect(r.config.vrrp.instances).to.deep.equal([]);
      const [db] = r.config.replication.volumes;
      expect(db?.peers.map((p) => p.name)).to.deep.equal(['node-b']);
      expect(db?.metadata).to.equal('/var/lib/tandem/db.meta');
      expect(db?.protocol).to.equal('C');
    });
  });
});
