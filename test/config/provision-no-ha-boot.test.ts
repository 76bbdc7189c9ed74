// `tandem provision --ha_mode no_ha` and the boot gate. A no_ha node has a
// VRRP instance and nothing else, so it has no resource group and no boot
// gate (docs/ha.md "A group without volumes has no data to split and skips
// the gate"; docs/configuration.md "The boot gate (standalone_after,
// witness) runs only when the group has replicated volumes"). The file
// provision writes must not tell the admin such a node waits for its peer,
// and --gateway_ip must not be taken as a witness that "lets it start": it
// would do nothing. (The other flags no_ha cannot use are refused:
// "--peer_name ...: only with --ha_mode drbd or drbd_on_cinder".)
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { checkFlags, provision, type ProvisionFlags, type ProvisionHost } from '../../lib/config/provision.js';

const HOST: ProvisionHost = { localAddresses: ['127.0.0.1'], daemonUnit: readFileSync('systemd/tandem.service', 'utf8'), daemon: ['/usr/bin/node', '/opt/tandem/bin/tandem'] };
const NO_HA: ProvisionFlags = {
  name: 'web-1', haMode: 'no_ha', haNodeList: '192.0.2.11 192.0.2.12', kadVip: '192.0.2.100/24', kadVif: 'eth0', ipaddr: '192.0.2.11', configDir: '/etc/tandem',
};

function config(flags: ProvisionFlags): string | string[] {
  const c = checkFlags(flags);
  if (Array.isArray(c)) return c;
  const r = provision(c, HOST);
  return r.ok ? r.out.config : r.errors;
}

describe('config/provision: no_ha and the boot gate it does not have', () => {
  it('no_ha without --gateway_ip: the file does not say the node waits for its peer', () => {
    const text = config(NO_HA);
    expect(text).to.be.a('string');
    expect(text as string).to.not.match(/waits until it hears its peer/);
  });

  it('no_ha with --gateway_ip: refused naming the flag, or at least not written as a witness that lets the node start', () => {
    const out = config({ ...NO_HA, gatewayIp: '192.0.2.1' });
    if (Array.isArray(out)) {
      expect(out.join('\n')).to.include('--gateway_ip');
      return;
    }
    expect(out).to.not.match(/starts once this answers ping/);
  });
});
