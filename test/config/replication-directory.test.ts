import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DIRECTORY_KEYS } from '../../lib/config/replication-directory.js';
import { BLOCK_ONLY_KEYS } from '../../lib/config/replication-link.js';
import { isWithin } from '../../lib/config/replication-trees.js';
import { formatIssues, formatWarnings, loadConfigFile, validateConfig } from '../../lib/config/load.js';
import type { ConfigIssue, DirectoryVolumeConfig, TandemConfig } from '../../lib/config/types.js';
import { MAX_EXCLUDE_PATTERNS, MAX_PATTERN_LENGTH } from '../../lib/replication/files/exclude.js';
import { rng } from '../helpers/random.js';
import { blockVolume, expectOnly, issuesOf, mutate, replicationDoc, validOf } from './helpers.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

// The smallest valid directory volume; tests override one key at a time.
const dir = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'conf', type: 'directory', path: '/var/lib/app/state',
  listen: '198.51.100.11:7790', peers: [{ name: 'node-b', address: '198.51.100.12:7790' }], ...over,
});
// A block volume that clashes with dir() in nothing.
const block = blockVolume;
// A second directory volume that clashes with dir() in nothing.
const dir2 = (over: Record<string, unknown> = {}): Record<string, unknown> =>
  dir({ name: 'www', path: '/srv/www', listen: '198.51.100.11:7791', peers: [{ name: 'node-b', address: '198.51.100.12:7791' }], ...over });
const conf = (volumes: unknown[], node?: Record<string, unknown>): Record<string, unknown> => replicationDoc(volumes, {}, node);
const valid = (raw: unknown): TandemConfig => validOf(raw).config;
const warningsOf = (raw: unknown): ConfigIssue[] => validOf(raw).warnings;
function dirOf(raw: unknown, i = 0): DirectoryVolumeConfig {
  const v = valid(raw).replication.volumes[i];
  return v?.type === 'directory' ? v : expect.fail(`volume ${i} is not a directory volume`);
}
const v0 = 'replication.volumes[0]';
const v1 = 'replication.volumes[1]';

describe('config/replication: directory volumes', () => {
  describe('defaults', () => {
    it('fills every default of a minimal directory volume', () => {
      expect(dirOf(conf([dir()]))).to.deep.equal({
        name: 'conf', type: 'directory', path: '/var/lib/app/state', exclude: [],
        metadata: '/var/lib/tandem/conf.meta', protocol: 'C',
        listen: { host: '198.51.100.11', port: 7790 },
        peers: [{ name: 'node-b', address: { host: '198.51.100.12', port: 7790 } }],
        afterSb: { after_sb_0pri: 'disconnect', after_sb_1pri: 'disconnect', after_sb_2pri: 'disconnect' },
        settleMs: 50, timeoutMs: 6000, pingIntervalMs: 1000, pingTimeoutMs: 5000, fencing: 'dont-care',
      });
      expect(warningsOf(conf([dir()]))).to.deep.equal([]);
      expect(dirOf(conf([dir({ fencing: 'resource-only', fence_peer: '/f' })]))).to.include({ fencing: 'resource-only', fencePeer: '/f' });
    });
    it('the default metadata file is in node.state_dir, as for block volumes', () => {
      expect(dirOf(conf([dir()], { name: 'node-a', state_dir: '/srv/tandem/' })).metadata).to.equal('/srv/tandem/conf.meta');
      expect(dirOf({ replication: { secret_file: '/s', volumes: [dir()] } }).metadata).to.equal('/var/lib/tandem/conf.meta');
      expect(dirOf(conf([dir({ metadata: '/meta/conf' })], { name: 'node-a', state_dir: '/srv' })).metadata).to.equal('/meta/conf');
    });
  });

  it('reads a directory volume with every key', () => {
    expect(dirOf(conf([dir({
      path: '/srv/app/', exclude: ['*.tmp', 'cache/**', '/build/', '.git/'], metadata: '/var/lib/tandem/conf.meta', protocol: 'C',
      listen: '[2001:db8::11]:7790', peers: [{ name: 'node-b', address: '[2001:db8::12]:7790' }, { name: 'node-c', address: '[2001:db8::13]:7790' }],
      after_sb_0pri: 'discard-node-node-b', after_sb_1pri: 'discard-secondary', after_sb_2pri: 'violently-as0p',
      settle: 0.25, timeout: 2, ping_interval: 0.5, ping_timeout: 1.5,
    })]))).to.deep.equal({
      name: 'conf', type: 'directory', path: '/srv/app/', exclude: ['*.tmp', 'cache/**', '/build/', '.git/'],
      metadata: '/var/lib/tandem/conf.meta', protocol: 'C',
      listen: { host: '2001:db8::11', port: 7790 },
      peers: [{ name: 'node-b', address: { host: '2001:db8::12', port: 7790 } }, { name: 'node-c', address: { host: '2001:db8::13', port: 7790 } }],
      afterSb: { after_sb_0pri: 'discard-node-node-b', after_sb_1pri: 'discard-secondary', after_sb_2pri: 'violently-as0p' },
      settleMs: 250, timeoutMs: 2000, pingIntervalMs: 500, pingTimeoutMs: 1500, fencing: 'dont-care',
    });
  });

  it('a valid mixed configuration: one block and one directory volume', () => {
    const r = valid(conf([block(), dir()])).replication;
    expect(r.volumes.map((v) => [v.type, v.name, v.metadata])).to.deep.equal([
      ['block', 'db', '/var/lib/tandem/db.meta'], ['directory', 'conf', '/var/lib/tandem/conf.meta'],
    ]);
    expect(r.volumes[1]).not.to.have.property('device');
    expect(r.volumes[1]).not.to.have.property('nbd');
    expect(r.volumes[0]).not.to.have.property('path');
  });

  describe('type', () => {
    it('without type: directory, a volume is a block volume, and path says so', () => {
      const v = dir();
      delete v['type'];
      expect(issuesOf(conf([v])).map((i) => `${i.path}: ${i.message}`)).to.deep.equal([
        `${v0}.path: unknown key "path"; path belongs to directory volumes (type: directory); a block volume replicates its device; allowed keys here: name, type, device, size, metadata, protocol, listen, peers, nbd, after_sb_0pri, after_sb_1pri, after_sb_2pri, block_size, al_extents, timeout, ping_interval, ping_timeout, csums_resync, resync_max_rate, fencing, fence_peer`,
        `${v0}.device: required key is missing: must be an absolute path (starting with "/", no NUL byte, newline or other control character)`,
        `${v0}.size: required key is missing: must be a whole number of bytes, or a string such as "10GiB" (units B, KiB, MiB, GiB, TiB; K, M, G, T mean KiB..TiB), a positive multiple of 4096, at most ${2 ** 52}`,
      ]);
    });
    it('a misspelt type is one issue: the keys written choose the reader', () => {
      expectOnly(conf([dir({ type: 'Directory' })]), `${v0}.type`, 'must be one of "block" or "directory"', 'did you mean "directory"?');
      expectOnly(conf([dir({ type: 'dir' })]), `${v0}.type`, 'must be one of "block" or "directory"');
      expectOnly(conf([block({ type: 'blok' })]), `${v0}.type`, 'did you mean "block"?');
      expectOnly(conf([dir({ type: 7 })]), `${v0}.type`, 'must be one of "block" or "directory"');
    });
  });

  describe('refusals', () => {
    it('path is an absolute path, required, and not "/"', () => {
      expectOnly(conf([dir({ path: 'state' })]), `${v0}.path`, 'must be an absolute path (starting with "/", no NUL byte, newline or other control character), not "/"');
      expectOnly(conf([dir({ path: 42 })]), `${v0}.path`, 'must be an absolute path');
      for (const top of ['/', '//', '/./', '/tmp/..']) {
        const issue = expectOnly(conf([dir({ path: top })]), `${v0}.path`, 'is the root of the file system', 'not "/": the directory whose tree is replicated');
        expect(issue.value).to.equal(top);
      }
      const v = dir();
      delete v['path'];
      expectOnly(conf([v]), `${v0}.path`, 'required key is missing', 'not "/"');
    });
    for (const key of BLOCK_ONLY_KEYS) {
      it(`${key} belongs to block volumes`, () => {
        const issue = expectOnly(conf([dir({ [key]: 1 })]), `${v0}.${key}`, `unknown key "${key}"; ${key} belongs to block volumes (type: block); a directory volume replicates the tree at path`);
        expect(issue.message).to.include(`allowed keys here: ${DIRECTORY_KEYS.join(', ')}`);
      });
    }
    it('unknown keys get a suggestion or a DRBD hint', () => {
      expectOnly(conf([dir({ exlude: [] })]), `${v0}.exlude`, 'did you mean "exclude"?');
      expectOnly(conf([dir({ settle_time: 1 })]), `${v0}.settle_time`, 'did you mean "settle"?');
      expectOnly(conf([dir({ 'ping-timeout': 5 })]), `${v0}["ping-timeout"]`, 'did you mean "ping_timeout"?');
      expectOnly(conf([dir({ shared_secret: 'x' })]), `${v0}.shared_secret`, 'set once for all volumes');
      expectOnly(conf([dir({ 'meta-disk': '/m' })]), `${v0}["meta-disk"]`, 'written metadata here');
    });
    it('protocol is A or C; B is for block volumes', () => {
      const b = 'protocol B is for block volumes; a directory volume takes A (asynchronous) or C (a change counts once every peer applied and fsynced it)';
      expect(expectOnly(conf([dir({ protocol: 'B' })]), `${v0}.protocol`).message).to.equal(b);
      expectOnly(conf([dir({ protocol: 'b' })]), `${v0}.protocol`, b);
      expectOnly(conf([dir({ protocol: 'D' })]), `${v0}.protocol`, 'must be one of "A" or "C"');
      expectOnly(conf([dir({ protocol: 'c' })]), `${v0}.protocol`, 'did you mean "C"?');
      expect(dirOf(conf([dir({ protocol: 'A' })])).protocol).to.equal('A');
    });
    it('protocol A is accepted with a warning, as for block volumes', () => {
      const w = warningsOf(conf([dir({ protocol: 'A' })]));
      expect(w.map((i) => i.path)).to.deep.equal([`${v0}.protocol`]);
      expect(w[0]?.message).to.include('can be lost if the primary dies').and.include('protocol C waits until every peer applied and fsynced it');
      expect(warningsOf(conf([dir({ protocol: 'C' })]))).to.deep.equal([]);
    });
    it('settle: seconds 0..10, default 0.05', () => {
      expect(dirOf(conf([dir({ settle: 0 })])).settleMs).to.equal(0);
      expect(dirOf(conf([dir({ settle: 10 })])).settleMs).to.equal(10000);
      expect(dirOf(conf([dir({ settle: 0.001 })])).settleMs).to.equal(1);
      for (const bad of [-0.1, 10.001, 0.0005, true]) {
        expectOnly(conf([dir({ settle: bad })]), `${v0}.settle`, 'a number of seconds >= 0 and <= 10, in steps of 0.001');
      }
      expectOnly(conf([dir({ settle: '0.05' })]), `${v0}.settle`, 'write the number without quotes');
    });
    it('timeout, ping_interval and ping_timeout: the same checks as block volumes', () => {
      expectOnly(conf([dir({ timeout: 0.05 })]), `${v0}.timeout`, '>= 0.1 and <= 600');
      expectOnly(conf([dir({ ping_timeout: 1 })]), `${v0}.ping_timeout`, 'must be longer than ping_interval (1 s)');
      expectOnly(conf([dir({ ping_interval: 5 })]), `${v0}.ping_interval`, 'ping_timeout (5 s) must be longer than ping_interval (5 s)');
      expectOnly(conf([dir({ ping_interval: 200, ping_timeout: 0.5 })]), `${v0}.ping_interval`, '>= 0.1 and <= 120');
    });
    it('listen, peers and metadata: the same checks as block volumes', () => {
      expectOnly(conf([dir({ listen: '0.0.0.0:7790' })]), `${v0}.listen`, 'wildcard address');
      expectOnly(conf([dir({ peers: [] })]), `${v0}.peers`, 'a list of 1..31 peers');
      expectOnly(conf([dir({ peers: [{ name: 'node-a', address: '198.51.100.12:7790' }] })]), `${v0}.peers[0].name`, "node-a is this node's own name");
      expectOnly(conf([dir({ peers: [{ name: 'node-b', address: '198.51.100.11:7790' }] })]), `${v0}.peers[0].address`, "this volume's own listen address");
      expectOnly(conf([dir({ metadata: 'conf.meta' })]), `${v0}.metadata`, 'an absolute path');
      expectOnly(conf([dir({ name: 'my conf' })]), `${v0}.name`, '1..63 characters');
    });
    it('after_sb_* policies: the same checks as block volumes, discard-node-NAME included', () => {
      expectOnly(conf([dir({ after_sb_0pri: 'consensus' })]), `${v0}.after_sb_0pri`, 'only valid for after_sb_1pri');
      expectOnly(conf([dir({ after_sb_2pri: 'call-pri-lost-after-sb' })]), `${v0}.after_sb_2pri`, 'tandem does not support');
      expectOnly(conf([dir({ after_sb_0pri: 'discard-node-node-c' })]), `${v0}.after_sb_0pri`, 'names no node of this volume', '"node-a" or "node-b"');
      expect(dirOf(conf([dir({ after_sb_0pri: 'discard-node-node-a' })])).afterSb.after_sb_0pri).to.equal('discard-node-node-a');
    });
  });

  describe('exclude', () => {
    const at = `${v0}.exclude`;
    it('is a list of patterns, kept as written', () => {
      expect(dirOf(conf([dir({ exclude: [] })])).exclude).to.deep.equal([]);
      expect(dirOf(conf([dir({ exclude: ['b/**', '*.swp', 'a/'] })])).exclude).to.deep.equal(['b/**', '*.swp', 'a/']);
    });
    it('a single string or a mapping is refused', () => {
      expectOnly(conf([dir({ exclude: '*.tmp' })]), at, 'must be a list of at most 1024 patterns such as ["*.tmp", "cache/**"], or [] for none');
      expectOnly(conf([dir({ exclude: { a: 1 } })]), at, 'must be a list');
    });
    it(`at most ${MAX_EXCLUDE_PATTERNS} patterns`, () => {
      const many = Array.from({ length: MAX_EXCLUDE_PATTERNS + 1 }, (_, i) => `f${i}`);
      expectOnly(conf([dir({ exclude: many })]), at, `at most ${MAX_EXCLUDE_PATTERNS} patterns`, `(got ${MAX_EXCLUDE_PATTERNS + 1})`);
      expect(dirOf(conf([dir({ exclude: many.slice(1) })])).exclude).to.have.length(MAX_EXCLUDE_PATTERNS);
    });
    it('each bad pattern is an issue naming its index, never a throw', () => {
      const bad: [unknown, string][] = [
        ['', 'must be a non-empty string'],
        ['/', 'matches nothing'],
        ['x'.repeat(MAX_PATTERN_LENGTH + 1), `at most ${MAX_PATTERN_LENGTH} characters`],
        [5, 'must be a string'],
        ['logs\0/*.log', 'holds a NUL byte, which no path can'],
        [['a'], 'quote it in YAML'],
        [null, 'must be a string'],
      ];
      for (const [pattern, fragment] of bad) {
        const issue = expectOnly(conf([dir({ exclude: ['*.tmp', 'cache/**', pattern] })]), `${at}[2]`, fragment, 'an rsync-like pattern');
        expect(issue.value).to.deep.equal(pattern);
      }
      expect(dirOf(conf([dir({ exclude: ['x'.repeat(MAX_PATTERN_LENGTH)] })])).exclude).to.have.length(1);
    });
    it('every bad pattern is reported at once', () => {
      expect(issuesOf(conf([dir({ exclude: ['', 'ok', '/'] })])).map((i) => i.path)).to.deep.equal([`${at}[0]`, `${at}[2]`]);
    });
  });

  describe('across volumes', () => {
    it('names are unique across types', () => {
      expectOnly(conf([block(), dir({ name: 'db' })]), `${v1}.name`, 'volume names must be unique', 'replication.volumes[0] is also named db');
    });
    it('listen clashes with another volume\'s listen or nbd.listen', () => {
      expectOnly(conf([block(), dir({ listen: '198.51.100.11:7789' })]), `${v1}.listen`, 'clashes with the listen address of volume db', 'own address and port');
      expectOnly(conf([block({ nbd: { listen: '198.51.100.11:7790' } }), dir()]), `${v1}.listen`, 'clashes with the nbd.listen of volume db');
      expectOnly(conf([block({ nbd: { listen: '0.0.0.0:7790' } }), dir()]), `${v1}.listen`, 'clashes with the nbd.listen of volume db 0.0.0.0:7790');
      expectOnly(conf([dir(), dir2({ listen: '198.51.100.11:7790' })]), `${v1}.listen`, 'clashes with the listen address of volume conf');
    });
    it("a peer address that is one of this node's listeners, or another volume's peer", () => {
      expectOnly(conf([block(), dir({ peers: [{ name: 'node-b', address: '198.51.100.11:7789' }] })]), `${v1}.peers[0].address`, 'is the listen address of volume db on this node');
      expectOnly(conf([block(), dir({ peers: [{ name: 'node-b', address: '198.51.100.12:7789' }] })]), `${v1}.peers[0].address`, 'is also the address of peer node-b of volume db');
    });
    it('metadata files clash with any volume\'s device or metadata file', () => {
      expectOnly(conf([block(), dir({ metadata: '/var/lib/tandem/db.img' })]), `${v1}.metadata`, 'is also the device of volume db (replication.volumes[0].device)');
      expectOnly(conf([block({ metadata: '/m/x' }), dir({ metadata: '/m//x' })]), `${v1}.metadata`, 'is also the metadata file of volume db');
      expectOnly(conf([block({ device: '/var/lib/tandem/conf.meta' }), dir()]), `${v1}.metadata`, 'defaults to /var/lib/tandem/conf.meta (node.state_dir/NAME.meta), which is also the device of volume db');
      // A block volume's activity log is claimed; a directory volume writes none.
      expectOnly(conf([block({ metadata: '/m/x' }), dir({ metadata: '/m/x.al' })]), `${v1}.metadata`, 'is also the activity log of volume db');
      expect(valid(conf([dir({ metadata: '/m/x' }), block({ metadata: '/m/x.al.y', device: '/m/x.al' })])).replication.volumes).to.have.length(2);
    });
    it("a path that holds a block volume's activity log", () => {
      expectOnly(conf([block({ metadata: '/var/lib/app/db.meta' }), dir({ path: '/var/lib/app/db.meta.al' })]), `${v1}.path`, 'is the activity log of volume db (replication.volumes[0].metadata + .al)');
    });
    it('two directory volumes whose paths are equal or nested', () => {
      const rule = 'the trees of two directory volumes may not overlap; give each a directory of its own, neither inside the other';
      expectOnly(conf([dir(), dir2({ path: '/var/lib/app/state/' })]), `${v1}.path`, '/var/lib/app/state/ is also /var/lib/app/state, the path of volume conf (replication.volumes[0].path)', rule);
      expectOnly(conf([dir(), dir2({ path: '/var/lib/app/state/www' })]), `${v1}.path`, 'is inside /var/lib/app/state, the path of volume conf', rule);
      expectOnly(conf([dir(), dir2({ path: '/var//lib' })]), `${v1}.path`, '/var//lib contains /var/lib/app/state, the path of volume conf', rule);
      // A shared prefix is not nesting.
      expect(valid(conf([dir(), dir2({ path: '/var/lib/app/state2' })])).replication.volumes).to.have.length(2);
    });
    it("a path that holds another volume's device", () => {
      expectOnly(conf([block({ device: '/srv/db.img' }), dir({ path: '/srv' })]), `${v1}.path`, '/srv contains /srv/db.img, the device of volume db (replication.volumes[0].device)', 'may not lie in a replicated tree');
      expectOnly(conf([block({ device: '/srv/db' }), dir({ path: '/srv/db/' })]), `${v1}.path`, '/srv/db/ is the device of volume db');
    });
    it('a path that holds a metadata file, its own included, written or defaulted', () => {
      expectOnly(conf([dir({ metadata: '/var/lib/app/state/conf.meta' })]), `${v0}.path`, 'contains /var/lib/app/state/conf.meta, the metadata file of volume conf (replication.volumes[0].metadata)');
      expectOnly(conf([block({ metadata: '/var/lib/app/state/db.meta' }), dir()]), `${v1}.path`, 'the metadata file of volume db (replication.volumes[0].metadata)');
      expectOnly(conf([block(), dir({ path: '/var/lib/tandem/db.meta' })]), `${v1}.path`, '/var/lib/tandem/db.meta is the metadata file of volume db (node.state_dir/NAME.meta)');
    });
    it('a path that holds node.state_dir or node.control_socket', () => {
      expectOnly(conf([dir({ path: '/var/lib' })]), `${v0}.path`, '/var/lib contains /var/lib/tandem, node.state_dir', 'choose another path');
      expectOnly(conf([dir({ path: '/var/lib/tandem' })]), `${v0}.path`, '/var/lib/tandem is node.state_dir');
      expectOnly(conf([dir({ path: '/srv' })], { name: 'node-a', state_dir: '/srv/tandem' }), `${v0}.path`, 'contains /srv/tandem, node.state_dir');
      expectOnly(conf([dir({ path: '/run' })]), `${v0}.path`, '/run contains /run/tandem/control.sock, node.control_socket');
      // A tree inside the state directory holds none of the node's files.
      expect(dirOf(conf([dir({ path: '/var/lib/tandem/trees/conf' })])).path).to.equal('/var/lib/tandem/trees/conf');
    });
    it('isWithin compares normalized paths, component by component', () => {
      expect(isWithin('/a/b', '/a')).to.equal(true);
      expect(isWithin('/a//b/', '/a/')).to.equal(true);
      expect(isWithin('/a', '/a/.')).to.equal(true);
      expect(isWithin('/ab', '/a')).to.equal(false);
      expect(isWithin('/a', '/a/b')).to.equal(false);
      expect(isWithin('/x', '/')).to.equal(true);
    });
  });

  it('random mutations of a mixed configuration never throw', () => {
    const base = conf([block(), dir({ exclude: ['*.tmp', 'cache/**'], protocol: 'C', settle: 0.1 }), dir2()]);
    expect(validateConfig(base, { hostname: 'h' }).ok).to.equal(true);
    const next = rng(4);
    for (let i = 0; i < 1000; i++) {
      let raw: unknown = base;
      for (let r = 0; r < 1 + Math.floor(next() * 3); r++) raw = mutate(raw, next);
      const result = validateConfig(raw, { hostname: 'h' });
      if (!result.ok) for (const issue of result.issues) expect(issue.message.length, JSON.stringify(raw)).to.be.greaterThan(5);
    }
  });

  describe('documentation', () => {
    it('docs/configuration.md has a table of every directory volume key', async () => {
      const doc = await readFile(root('docs/configuration.md'), 'utf8');
      const part = doc.split(/^### /m).find((s) => s.startsWith('Directory volumes'));
      if (part === undefined) return expect.fail('no "### Directory volumes" part');
      const rows = part.split('\n').filter((l) => l.startsWith('| `'));
      for (const key of DIRECTORY_KEYS) expect(rows.some((r) => r.split('|')[1]?.includes(`\`${key}\``)), key).to.equal(true);
    });
    it('docs/examples/replicated-pair.yaml has a block and a directory volume', async () => {
      const r = await loadConfigFile(root('docs/examples/replicated-pair.yaml'), { hostname: 'testhost' });
      if (!r.ok) return expect.fail(formatIssues(r.issues, 'replicated-pair.yaml'));
      expect(formatWarnings(r.warnings ?? [], 'replicated-pair.yaml')).to.equal('');
      expect(r.config.replication.volumes.map((v) => v.type)).to.deep.equal(['block', 'directory']);
    });
  });
});
