// The engine's sockets (lib/vrrp/engine/socket-set.ts) in memory: no link is
// read and no raw socket opened; the engine's socket factory is a stub whose
// fatal error the test raises. A failed socket keeps its instances FAULT
// (README "Known limits": not reopened until a restart); a link deleted and
// made again (a new index) gets new sockets (engine.ts relink()).
import { expect } from 'chai';
import { validateConfig } from '../../../lib/config/load.js';
import type { LinkInfo } from '../../../lib/net/links.js';
import type { Logger } from '../../../lib/node/log.js';
import { VrrpEngine } from '../../../lib/vrrp/engine/engine.js';
import type { VrrpSocket, VrrpSocketEvents, VrrpSocketOptions } from '../../../lib/vrrp/transport/vrrp-socket.js';

const quiet: Logger = { log() {}, info() {}, warn() {}, error() {}, debug() {} };

function link(withSource: boolean, index = 7): LinkInfo {
  return {
    name: 'eth0', index, mac: '02:00:00:00:00:01', up: true,
    addresses: withSource ? [{ family: 4, address: '192.0.2.11', prefix: 24, scope: 'global', secondary: false }] : [],
  };
}

// The private parts the test drives, as the link monitor's events would.
interface EngineInside {
  links: Map<string, LinkInfo>;
  createInstance(c: unknown): void;
  checkSource(inst: unknown, l: LinkInfo): void;
  bind(inst: unknown, l: LinkInfo): void;
  relink(dev: string, l: LinkInfo, here: unknown[]): void;
  instances: Map<string, { handle(ev: { type: 'startup' }): void }>;
}

interface Opened { options: VrrpSocketOptions; events: VrrpSocketEvents; closed: boolean }

describe('vrrp/engine: its sockets', () => {
  let engine: VrrpEngine | undefined;
  afterEach(async () => {
    await engine?.stop(); // its instance timers
    engine = undefined;
  });

  function start(): { e: EngineInside; opened: Opened[]; inst: unknown } {
    const r = validateConfig({
      node: { name: 'a' },
      vrrp: { instances: [{ name: 'VI_1', interface: 'eth0', virtual_router_id: 51, virtual_ipaddress: ['192.0.2.100/24'] }] },
    });
    if (!r.ok) throw new Error('config');
    const opened: Opened[] = [];
    engine = new VrrpEngine(r.config.vrrp, { onTransition() {}, onGroupTransition() {} }, quiet, () => 0, (options, events) => {
      const o: Opened = { options, events, closed: false };
      opened.push(o);
      return { send: async () => {}, drain: async () => {}, close() { o.closed = true; } } as unknown as VrrpSocket;
    });
    const e = engine as unknown as EngineInside;
    e.links.set('eth0', link(true));
    e.createInstance(r.config.vrrp.instances[0]);
    const inst = e.instances.get('VI_1');
    inst?.handle({ type: 'startup' });
    expect(engine.status()[0]?.state).to.equal('BACKUP');
    return { e, opened, inst };
  }

  it('a failed socket keeps its instance FAULT, also when its source address leaves and comes back', () => {
    const { e, opened, inst } = start();
    opened[0]?.events.onError(new Error('poll: EBADF'), true);
    expect(engine?.status()[0]?.state).to.equal('FAULT');
    // The source address goes (a DHCP renewal, ip addr flush) and comes back: the socket is still the failed one.
    e.checkSource(inst, link(false));
    e.bind(inst, link(true));
    const s = engine?.status()[0];
    expect(s?.state, `fault reasons ${JSON.stringify(s?.fault_reasons)}`).to.equal('FAULT');
    expect(s?.fault_reasons.join('; ')).to.match(/VRRP socket on eth0 failed: poll: EBADF/);
    expect(opened).to.have.length(1);
  });

  it('a link made again (new index) gets a new socket on the new index; the old one is closed, its failure gone', () => {
    const { e, opened, inst } = start();
    opened[0]?.events.onError(new Error('poll: ENODEV'), true);
    expect(engine?.status()[0]?.state).to.equal('FAULT');
    e.relink('eth0', link(true, 9), [inst]);
    expect(opened.map((o) => ({ ifindex: o.options.ifindex, closed: o.closed }))).to.deep.equal([{ ifindex: 7, closed: true }, { ifindex: 9, closed: false }]);
    expect(engine?.status()[0]?.fault_reasons).to.deep.equal([]);
    // A late error of the old socket says nothing about the new one.
    opened[0]?.events.onError(new Error('poll: EBADF'), true);
    expect(engine?.status()[0]?.fault_reasons).to.deep.equal([]);
    // The same index again: nothing to replace.
    e.relink('eth0', link(true, 9), [inst]);
    expect(opened).to.have.length(2);
  });
});
