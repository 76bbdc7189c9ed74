import { expect } from 'chai';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describeValue } from '../../lib/config/issues.js';
import { formatIssues, formatWarnings, loadConfigFile, parseConfigText, validateConfig } from '../../lib/config/load.js';
import { parsePath, renderPath } from '../../lib/config/path.js';
import type { ConfigIssue } from '../../lib/config/types.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../../test/fixtures/config/${name}`, import.meta.url));
const H = { hostname: 'testhost' };

function issuesOf(text: string): ConfigIssue[] {
  const r = parseConfigText(text, H);
  return r.ok ? [] : r.issues;
}

describe('config/yaml: text, files and messages', () => {
  it('reports a YAML syntax error with line and column', () => {
    const issues = issuesOf('node:\n  name: a\nvrrp:\n  instances: [ { name: VI_1 }\n');
    expect(issues.length).to.be.greaterThan(0);
    expect(issues[0]?.path).to.equal('(yaml)');
    expect(issues[0]?.message).to.match(/^line \d+, column \d+: /);
    expect(issues[0]?.line).to.be.a('number');
    const bad = issuesOf('node:\n  name: a\n   state_dir: /x\n');
    expect(bad[0]?.message).to.match(/^line 2, column 9: /);
    expect(formatIssues(bad, 'f.yaml').split('\n')[0]).to.match(/^f\.yaml: \(yaml\): line 2, column 9: /);
  });
  it('refuses duplicate keys, several documents and unknown tags', () => {
    expect(issuesOf('node: {}\nnode: {}\n')[0]?.message).to.include('line 2, column 1: Map keys must be unique');
    expect(issuesOf('node: {}\n---\nvrrp: {}\n')[0]?.message).to.include('a configuration is one YAML document');
    expect(issuesOf('node: !custom {}\n')[0]?.message).to.include('line 1, column 7');
  });
  it('YAML\'s extra types (!!omap, !!set, !!timestamp, !!binary) are refused where they are, not read as empty', () => {
    const cases: Array<[string, string, string]> = [
      ['!!omap [ {node: {name: "bad name!!"}} ]\n', '(root)', 'is an ordered mapping (!!omap)'],
      ['node: !!omap [ {name: "bad name!!"} ]\n', 'node', 'is an ordered mapping (!!omap)'],
      ['node: !!set {name, state_dir}\n', 'node', 'is a set (!!set)'],
      ['node: !!timestamp 2001-12-14\n', 'node', 'is a timestamp (!!timestamp)'],
      ['vrrp: {instances: [ !!binary aGVsbG8= ]}\n', 'vrrp.instances[0]', 'is binary data (!!binary)'],
    ];
    for (const [text, path, what] of cases) {
      const [first, ...rest] = issuesOf(text);
      expect(rest, text).to.deep.equal([]);
      expect(first).to.deep.include({ path, message: `${what}, which this file does not use: write a plain mapping, list or (quoted) string` });
    }
  });
  it('an empty file is refused', () => {
    expect(issuesOf('')[0]).to.deep.include({ path: '(root)', message: 'the file is empty: expected a mapping with the keys node, vrrp, replication, services, startup' });
    expect(issuesOf('# only a comment\n')[0]?.message).to.include('the file is empty');
  });
  it('gives each validation issue the line of its key, and sorts by line', () => {
    const text = [
      'vrrp:', //                      1
      '  instances:', //               2
      '    - name: VI_1', //           3
      '      interface: eth0', //      4
      '      virtual_router_id: 51', // 5
      '      priority: 300', //        6
      '      virtual_ipaddress: [192.0.2.1/33]', // 7
      'node: { name: "a b" }', //      8
    ].join('\n');
    const issues = issuesOf(text);
    expect(issues.map((i) => [i.path, i.line])).to.deep.equal([
      ['vrrp.instances[0].priority', 6],
      ['vrrp.instances[0].virtual_ipaddress[0]', 7],
      ['node.name', 8],
    ]);
    expect(formatIssues(issues, '/etc/tandem.yaml').split('\n')[0]).to.equal(
      '/etc/tandem.yaml: vrrp.instances[0].priority: 300 is not allowed: must be an integer 1..255 (line 6)',
    );
  });
  it('a missing key points at the mapping that lacks it', () => {
    const issues = issuesOf('node: {name: a}\nvrrp:\n  instances:\n    - name: VI_1\n      virtual_router_id: 1\n      virtual_ipaddress: [192.0.2.1]\n');
    expect(issues.map((i) => [i.path, i.line])).to.deep.equal([['vrrp.instances[0].interface', 4]]);
    expect(formatIssues(issues, 's')).to.equal('s: vrrp.instances[0].interface: required key is missing: must be a Linux interface name: 1..15 bytes, no "/", ":", whitespace or NUL, not "." or ".." (line 4)');
  });
  it('reports an unknown key with a suggestion at its line', () => {
    const r = parseConfigText('vrrp:\n  instances:\n    - name: VI_1\n      interface: eth0\n      virtual_router_ip: 51\n      virtual_ipaddress: [192.0.2.1]\n', H);
    const issues = r.ok ? [] : r.issues;
    const unknown = issues.find((i) => i.path === 'vrrp.instances[0].virtual_router_ip');
    expect(unknown?.line).to.equal(5);
    expect(unknown?.message).to.include('did you mean "virtual_router_id"?');
    // The typo also leaves the real key missing; both are reported.
    expect(issues.map((i) => i.path)).to.include('vrrp.instances[0].virtual_router_id');
  });
  it('supports anchors and merge keys for shared settings', () => {
    const text = [
      'vrrp:',
      '  instances:',
      '    - &base { name: VI_1, interface: eth0, virtual_router_id: 1, priority: 200, advert_int: 0.5, virtual_ipaddress: [192.0.2.1] }',
      '    - { <<: *base, name: VI_2, virtual_router_id: 2, virtual_ipaddress: [192.0.2.2] }',
    ].join('\n');
    const r = parseConfigText(text, H);
    if (!r.ok) expect.fail(formatIssues(r.issues, 't'));
    expect(r.config.vrrp.instances.map((i) => [i.name, i.priority, i.advertIntCs])).to.deep.equal([['VI_1', 200, 50], ['VI_2', 200, 50]]);
  });
  it('an alias bomb is refused, not expanded', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${new Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const issues = issuesOf(lines.join('\n'));
    expect(issues).to.have.length(1);
    expect(issues[0]?.path).to.equal('(yaml)');
  });
  it('a file with many mistakes reports all of them at once', async () => {
    const r = await loadConfigFile(fixture('many-mistakes.yaml'), H);
    const issues = r.ok ? [] : r.issues;
    const shown = formatIssues(issues, 'many-mistakes.yaml');
    const expected = [
      'node.name', 'node.state_dir', 'node.control_socket',
      'vrrp.instances[0].interface', 'vrrp.instances[0].virtual_router_ip', 'vrrp.instances[0].virtual_router_id',
      'vrrp.instances[0].priority', 'vrrp.instances[0].advert_int', 'vrrp.instances[0].nopreempt',
      'vrrp.instances[0].preempt_delay', 'vrrp.instances[0].state', 'vrrp.instances[0].unicast_peer[1]',
      'vrrp.instances[0].unicast_peer[2]', 'vrrp.instances[0].unicast_peer[3]', 'vrrp.instances[0].authentication.auth_type',
      'vrrp.instances[0].authentication.auth_pass', 'vrrp.instances[0].virtual_ipaddress[0]', 'vrrp.instances[0].virtual_ipaddress[2]',
      'vrrp.instances[0].track_interface[0].weight', 'vrrp.instances[0].track_script[0]', 'vrrp.instances[0].garp_master_delay',
      'vrrp.instances[0].garp_master_repeat', 'vrrp.instances[0].notify', 'vrrp.instances[1].name',
      'vrrp.instances[1].virtual_router_id', 'vrrp.instances[1].virtual_ipaddress[0]', 'vrrp.scripts.chk_svc.script',
      'vrrp.scripts.chk_svc.interval', 'vrrp.scripts.chk_svc.weight', 'vrrp.scripts.chk_svc.rise', 'vrrp.sync_groups.G1',
    ];
    expect(issues.map((i) => i.path).sort(), shown).to.deep.equal([...expected].sort());
    const lines = shown.split('\n');
    expect(lines).to.have.length(expected.length);
    for (const line of lines) expect(line).to.match(/^many-mistakes\.yaml: \S+: .+ \(line \d+\)$/);
    expect(shown).not.to.include('much-too-long'); // the bad password is never echoed
  });
  it('every message names the value as written and what is allowed', () => {
    const r = validateConfig({ vrrp: { instances: [{ name: 'VI_1', interface: 'eth0', virtual_router_id: '7', priority: [1], virtual_ipaddress: ['192.0.2.1'] }] } }, H);
    const lines = formatIssues(r.ok ? [] : r.issues, 'x').split('\n');
    expect(lines).to.deep.equal([
      'x: vrrp.instances[0].virtual_router_id: "7" is not allowed: must be an integer 1..255 (this is a quoted string: write the number without quotes)',
      'x: vrrp.instances[0].priority: [1] is not allowed: must be an integer 1..255',
    ]);
  });
  it('infinite and not-a-number values are shown in YAML\'s spelling, not as null', () => {
    expect([Infinity, -Infinity, NaN].map(describeValue)).to.deep.equal(['.inf', '-.inf', '.nan']);
    const r = parseConfigText('node: {name: a}\nvrrp:\n  instances:\n    - {name: VI_1, interface: eth0, virtual_router_id: 51, virtual_ipaddress: [192.0.2.100/24], priority: 1e400}\n', H);
    expect(formatIssues(r.ok ? [] : r.issues, 'f.yaml')).to.equal('f.yaml: vrrp.instances[0].priority: .inf is not allowed: must be an integer 1..255 (line 4)');
  });
  it('long values are shown truncated', () => {
    const shown = describeValue('x'.repeat(500));
    expect(shown.length).to.equal(60);
    expect(shown.endsWith('…')).to.equal(true);
    expect(describeValue(undefined)).to.equal('nothing');
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(describeValue(cyclic)).to.equal('(a recursive structure)');
  });
  it('formats warnings on their own lines', () => {
    const r = parseConfigText('vrrp:\n  instances:\n    - { name: V, interface: e, virtual_router_id: 1, state: MASTER, nopreempt: true, virtual_ipaddress: [192.0.2.1] }\n', H);
    if (!r.ok) expect.fail(formatIssues(r.issues, 't'));
    expect(formatWarnings(r.warnings ?? [], 'w.yaml')).to.match(/^w\.yaml: warning: vrrp\.instances\[0\]\.nopreempt: true: nopreempt is meant for state: BACKUP.* \(line 3\)$/);
  });
  it('an address owner\'s nopreempt is warned about and reset: the instance then preempts, as keepalived resets it', () => {
    const r = parseConfigText('vrrp:\n  instances:\n    - { name: V, interface: e, virtual_router_id: 1, priority: 255, nopreempt: true, virtual_ipaddress: [192.0.2.1] }\n', H);
    if (!r.ok) expect.fail(formatIssues(r.issues, 't'));
    expect(formatWarnings(r.warnings ?? [], 'w.yaml')).to.match(/nopreempt: true: an address owner \(priority 255\) always preempts \(RFC 5798 6.1\): nopreempt is ignored/);
    expect(r.config.vrrp.instances[0]?.nopreempt).to.equal(false);
  });
  it('key paths render unambiguously and parse back', () => {
    const paths = [['vrrp', 'scripts', 'chk.web', 'interval'], ['vrrp', 'instances', 0, 'virtual_ipaddress', 2], ['a', 'b c', 'q"["]'], []];
    for (const p of paths) expect(parsePath(renderPath(p))).to.deep.equal(p);
    expect(renderPath(['vrrp', 'scripts', 'chk.web'])).to.equal('vrrp.scripts["chk.web"]');
    expect(parsePath('(yaml)')).to.equal(null);
  });
});

describe('config/load: files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  it('a missing file is one issue naming the path and the errno', async () => {
    const path = join(dir, 'nope.yaml');
    const r = await loadConfigFile(path, H);
    expect(r.ok).to.equal(false);
    const issues = r.ok ? [] : r.issues;
    expect(issues).to.have.length(1);
    expect(issues[0]?.path).to.equal('(file)');
    expect(issues[0]?.message).to.include(path).and.to.include('ENOENT');
    expect(formatIssues(issues, path)).to.equal(`${path}: (file): cannot read ${JSON.stringify(path)}: ENOENT (no such file or directory)`);
  });
  it('a directory, a device or a FIFO is refused as not a regular file (a FIFO without waiting for a writer)', async () => {
    const r = await loadConfigFile(dir, H);
    expect(r.ok ? '' : r.issues[0]?.message).to.equal(`cannot read ${JSON.stringify(dir)}: it is a directory, not a regular file (a configuration file, or a symlink to one)`);
    const d = await loadConfigFile('/dev/zero', H);
    expect(d.ok ? '' : d.issues[0]?.message).to.include('it is a character device, not a regular file');
    const fifo = join(dir, 'fifo');
    await execa('mkfifo', [fifo]);
    const f = await loadConfigFile(fifo, H);
    expect(f.ok ? '' : f.issues[0]?.message).to.include('it is a FIFO, not a regular file');
    // A symlink to a regular file is read through.
    await writeFile(join(dir, 'real.yaml'), 'node: {name: a}\n');
    await symlink(join(dir, 'real.yaml'), join(dir, 'link.yaml'));
    expect((await loadConfigFile(join(dir, 'link.yaml'), H)).ok).to.equal(true);
  });
  it('a file over 1 MiB is refused without parsing it', async () => {
    const path = join(dir, 'big.yaml');
    await writeFile(path, `# ${'x'.repeat(1024 * 1024)}\n`);
    const r = await loadConfigFile(path, H);
    expect(r.ok ? '' : r.issues[0]?.message).to.include('larger than 1048576 bytes');
  });
  it('reads a file with a byte order mark', async () => {
    const path = join(dir, 'bom.yaml');
    await writeFile(path, '\ufeffnode: { name: bom }\n');
    const r = await loadConfigFile(path, H);
    expect(r.ok ? r.config.node.name : formatIssues(r.issues, path)).to.equal('bom');
  });
});
