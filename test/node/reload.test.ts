// `tandem reload` on a node without a resource group (keepalived-style: one
// instance, no services, no volumes): services cannot be added live.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../lib/config/load.js';
import type { TandemConfig } from '../../lib/config/types.js';
import { reload, type ReloadParts } from '../../lib/node/reload.js';

const quiet = { log: () => {}, info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

describe('node/reload', () => {
  // The first reload said "services added" with a problem, but copied them into the running configuration: the
  // second said "no changes", exit 0, while nothing ran them until a restart.
  it('services added to a node without a resource group are refused as restart-only, each time, and nothing changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tds-reload-'));
    try {
      const path = join(dir, 'tandem.yaml');
      writeFileSync(path, `node: { name: node-c, state_dir: ${dir}/state, control_socket: ${dir}/control.sock }
vrrp:
  instances:
    - name: VI_9
      interface: lo
      virtual_router_id: 60
      priority: 100
      virtual_ipaddress: [192.0.2.150/24]
`);
      const loaded = await loadConfigFile(path);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
      const cfg: TandemConfig = loaded.config;
      appendFileSync(path, 'services:\n  - name: first\n    command: ["/bin/sleep", "60"]\n');
      const parts = { cfg, engine: { refreshVips: () => {} }, conductor: {}, ha: null, log: quiet, emit: () => {} } as unknown as ReloadParts;
      const outcome = async (): Promise<string> => reload(path, parts).then((r) => `applied: ${r.changes}; problems ${r.problems.length}`, (e: Error) => `refused: ${e.message}`);
      const refused = /^refused: reload refused, nothing changed: services first need a resource group, and this node runs none .*restart the daemon/;
      expect(await outcome()).to.match(refused);
      expect(await outcome()).to.match(refused);
      expect(cfg.services.length, 'services copied into the running configuration although nothing runs them').to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
