// A node without a resource group (no VRRP, several instances, or a
// keepalived-style VIP mover) answers switchover, maintenance and restart
// with why, not with "unknown command".
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../../lib/cli/client.js';
import { parseConfigText } from '../../lib/config/load.js';
import type { TandemConfig } from '../../lib/config/types.js';
import { ControlServer } from '../../lib/node/control-server.js';
import { EventBus } from '../../lib/node/events.js';
import { haInstanceOf, HaNode, noGroupReason } from '../../lib/node/ha-node.js';
import { createLogger } from '../../lib/node/log.js';

const instance = (name: string, vrid: number): string =>
  `    - { name: ${name}, interface: eth0, virtual_router_id: ${vrid}, virtual_ipaddress: [192.0.2.${vrid}/24] }`;
function config(instances: string[]): TandemConfig {
  const text = ['node: { name: node-a }', ...(instances.length > 0 ? ['vrrp:', '  instances:', ...instances] : [])].join('\n');
  const v = parseConfigText(text);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.config;
}

describe('node without a resource group', () => {
  it('says why it has none: no instance, several, or only VIPs to move', () => {
    const none = config([]);
    const two = config([instance('VI_1', 51), instance('VI_2', 52)]);
    const vips = config([instance('VI_1', 51)]);
    for (const c of [none, two, vips]) expect(haInstanceOf(c)).to.equal(null);
    expect(noGroupReason(none)).to.equal('it runs no VRRP instance');
    expect(noGroupReason(two)).to.include('it has 2 VRRP instances, and a group has exactly one');
    expect(noGroupReason(vips)).to.include('only moves VIPs, as keepalived does').and.include('stop the daemon here');
  });

  it('answers switchover, maintenance and restart over the control socket with that reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-nogroup-'));
    const sock = join(dir, 'c.sock');
    const server = new ControlServer(sock, new EventBus(), createLogger('test', () => {}));
    HaNode.registerAbsent(server, config([instance('VI_1', 51)]));
    await server.start();
    try {
      for (const command of ['ha.switchover', 'ha.maintenance', 'ha.restart']) {
        const r = await request(sock, { command, on: true });
        expect(r.ok, command).to.equal(false);
        expect(r.error).to.include(`${command.slice(3)} acts on the node's resource group`).and.include('this node has none: it has no services and no replicated volumes');
      }
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
