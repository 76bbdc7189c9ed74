import { expect } from 'chai';
import { STARTUP_KEYS } from '../../lib/config/startup-section.js';
import type { StartupConfig } from '../../lib/config/types.js';
import { blockVolume, expectOnly, replicationDoc, validOf } from './helpers.js';

const startupOf = (raw: unknown): StartupConfig => validOf(raw).config.startup;
const only = (startup: Record<string, unknown>, path: string, ...fragments: string[]): void => {
  expectOnly({ startup }, `startup.${path}`, ...fragments);
};
// node-a of a pair: a VIP, a unicast peer and a replicated volume.
const pair = (startup: unknown): Record<string, unknown> => ({
  ...replicationDoc([blockVolume()]),
  vrrp: { instances: [{
    name: 'VI_1', interface: 'eth0', virtual_router_id: 51, virtual_ipaddress: ['192.0.2.100/24'],
    unicast_src_ip: '192.0.2.11', unicast_peer: ['192.0.2.12'],
  }] },
  startup,
});

describe('config/startup', () => {
  it('absent or empty: wait for the peer forever', () => {
    expect(startupOf({})).to.deep.equal({});
    expect(startupOf({ startup: {} })).to.deep.equal({});
  });

  it('reads standalone_after (ms) and a canonical witness', () => {
    expect(startupOf({ startup: { standalone_after: 300, witness: '192.0.2.1' } })).to.deep.equal({ standaloneAfterMs: 300_000, witness: '192.0.2.1' });
    expect(startupOf({ startup: { witness: '2001:DB8:0:0::1' } })).to.deep.equal({ witness: '2001:db8::1' });
    expect(startupOf({ startup: { standalone_after: 0.5 } })).to.deep.equal({ standaloneAfterMs: 500 });
    expect(startupOf(pair({ standalone_after: 300, witness: '192.0.2.1' }))).to.deep.equal({ standaloneAfterMs: 300_000, witness: '192.0.2.1' });
  });

  describe('standalone_after', () => {
    for (const value of [0, -1, 86401, '300', true]) {
      it(`${JSON.stringify(value)} is refused`, () => only({ standalone_after: value }, 'standalone_after', 'a number of seconds > 0 and <= 86400'));
    }
    it('a quoted number gets a hint', () => only({ standalone_after: '300' }, 'standalone_after', 'write the number without quotes'));
  });

  describe('fault_hold', () => {
    it('is read in ms; 0 means the node may be BACKUP again at once', () => {
      expect(startupOf({ startup: { fault_hold: 30 } })).to.deep.equal({ faultHoldMs: 30_000 });
      expect(startupOf({ startup: { fault_hold: 0 } })).to.deep.equal({ faultHoldMs: 0 });
    });
    for (const value of [-1, 3601, 'x', 0.0001]) {
      it(`${JSON.stringify(value)} is refused`, () => only({ fault_hold: value }, 'fault_hold', 'a number of seconds >= 0 and <= 3600'));
    }
  });

  describe('witness', () => {
    for (const [value, fragment] of [
      ['192.0.2.1:53', 'a port is not part of the witness'],
      ['[2001:db8::1]:53', 'a port is not part of the witness'],
      ['192.0.2.1/24', 'a prefix is not part of the witness'],
      ['fe80::1%eth0', '%zone suffix is not supported'],
      ['gateway.example', 'is not an IP address (host names are not resolved)'],
      ['0.0.0.0', 'wildcard'],
      ['::', 'wildcard'],
      ['224.0.0.18', 'multicast'],
      ['255.255.255.255', 'broadcast'],
      ['fe80::1', 'link-local'],
      ['127.0.0.1', 'loopback address, which always answers'],
      ['::1', 'loopback address, which always answers'],
      [17, 'not a string'],
    ] as const) {
      it(`${JSON.stringify(value)} is refused: ${fragment}`, () => only({ witness: value }, 'witness', fragment, 'an IPv4 or IPv6 address, without port or prefix'));
    }
    it("is a third machine: not this pair's own address", () => {
      const third = 'the witness must be a third machine, such as the gateway';
      expectOnly(pair({ witness: '192.0.2.100' }), 'startup.witness', 'a virtual address of VI_1 (vrrp.instances[0].virtual_ipaddress[0])', 'whichever node holds it answers', third);
      expectOnly(pair({ witness: '192.0.2.12' }), 'startup.witness', 'a peer of VI_1 (vrrp.instances[0].unicast_peer[0])', 'a peer that answers is alive', third);
      expectOnly(pair({ witness: '192.0.2.11' }), 'startup.witness', "this node's address in VI_1", 'always answers itself');
      expectOnly(pair({ witness: '198.51.100.11' }), 'startup.witness', "this node's replication address for db (replication.volumes[0].listen)");
      expectOnly(pair({ witness: '198.51.100.12' }), 'startup.witness', 'the address of peer node-b (replication.volumes[0].peers[0].address)');
    });
  });

  it('the section is a mapping of known keys', () => {
    expectOnly({ startup: 300 }, 'startup', 'must be a mapping (keys: standalone_after, witness, fault_hold)');
    only({ standalone: 300 }, 'standalone', 'did you mean "standalone_after"?', `allowed keys here: ${STARTUP_KEYS.join(', ')}`);
    only({ gateway: '192.0.2.1' }, 'gateway', 'written witness: ADDRESS');
  });
});
