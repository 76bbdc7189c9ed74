import { expect } from 'chai';
import { nodeSection } from '../../lib/config/node-section.js';
import { validateWithSections } from '../../lib/config/load.js';
import type { TandemConfig } from '../../lib/config/types.js';
import { expectOnly, expectOnlyAs, validOf } from './helpers.js';
import { MAX_NAME_LEN } from '../../lib/replication/link/messages.js';

const valid = (raw: unknown, hostname?: string): TandemConfig => validOf(raw, hostname).config;

describe('config/node and the top level', () => {
  it('defaults node to the host name, /var/lib/tandem and /run/tandem/control.sock', () => {
    expect(valid({}, 'host-1').node).to.deep.equal({ name: 'host-1', stateDir: '/var/lib/tandem', controlSocket: '/run/tandem/control.sock' });
    expect(valid({ node: {} }, 'host-2').node.name).to.equal('host-2');
  });
  it('without vrrp there are zero instances (a replication-only node)', () => {
    expect(valid({ node: { name: 'n' } }).vrrp).to.deep.equal({ instances: [], scripts: {}, syncGroups: [] });
    expect(valid({ vrrp: {} }).vrrp.instances).to.deep.equal([]);
  });
  it('node.name follows the name rule', () => {
    expectOnly({ node: { name: 'node a' } }, 'node.name', '1..63 characters');
    expectOnly({ node: { name: 'n'.repeat(64) } }, 'node.name', '1..63 characters');
    expectOnly({ node: { name: 3 } }, 'node.name', '1..63 characters');
    // At most 63: the name travels in the replication link's HELLO (link/messages.ts MAX_NAME_LEN).
    expect(MAX_NAME_LEN).to.equal(63);
    for (const name of ['n'.repeat(63), '_b', '.b', '-b']) expect(valid({ node: { name } }).node.name, name).to.equal(name);
  });
  it('an unusable host name as default says where the name came from', () => {
    const issue = expectOnlyAs('bad host name', {}, 'node.name', 'defaults to the host name');
    expect(issue.value).to.equal('bad host name');
    expect(valid({ node: { name: 'ok' } }, 'bad host name').node.name).to.equal('ok');
  });
  it('state_dir is an absolute path', () => {
    expectOnly({ node: { state_dir: 'var/lib/tandem' } }, 'node.state_dir', 'an absolute path');
    expect(valid({ node: { state_dir: '/srv/tandem' } }).node.stateDir).to.equal('/srv/tandem');
  });
  it('control_socket is absolute and shorter than 108 bytes (sun_path)', () => {
    expectOnly({ node: { control_socket: 'tandem.sock' } }, 'node.control_socket', 'an absolute path');
    const at107 = `/${'s'.repeat(106)}`;
    expect(valid({ node: { control_socket: at107 } }).node.controlSocket).to.equal(at107);
    expectOnly({ node: { control_socket: `/${'s'.repeat(107)}` } }, 'node.control_socket', 'shorter than 108 bytes');
    expectOnly({ node: { control_socket: `/${'é'.repeat(54)}` } }, 'node.control_socket', 'sun_path'); // 109 bytes, 55 characters
  });
  it('unknown node keys get a suggestion', () => {
    expectOnly({ node: { statedir: '/x' } }, 'node.statedir', 'did you mean "state_dir"?');
    expectOnly({ node: { controlSocket: '/x' } }, 'node.controlSocket', 'did you mean "control_socket"?');
  });
  it('the top level allows node, vrrp, replication, services and startup only', () => {
    const issue = expectOnly({ node: {}, service: {} }, 'service', 'did you mean "services"?', 'allowed keys here: node, vrrp, replication, services, startup');
    expect(issue.value).to.deep.equal({});
    expectOnly({ vrp: {} }, 'vrp', 'did you mean "vrrp"?');
    expectOnly({ node: 'node-a' }, 'node', 'must be a mapping');
  });
  it('the top level must be a mapping', () => {
    expectOnly(null, '(root)', 'the file is empty');
    expectOnly(['node'], '(root)', 'not a mapping');
    expectOnly('node: a', '(root)', 'not a mapping');
  });
  it('the registered sections define the top level', () => {
    // A validator built from the node section alone refuses `vrrp`: sections
    // are registered, not hard-wired, so later ones plug in the same way.
    const r = validateWithSections({ node: { name: 'n' }, vrrp: {} }, [nodeSection], { hostname: 'h' });
    expect(r.ok).to.equal(false);
    expect(r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`)).to.deep.equal(['vrrp: unknown key "vrrp"; allowed keys here: node']);
  });
});
