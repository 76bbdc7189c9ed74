// `tandem reload` (and SIGHUP): re-read the configuration file, refuse it
// whole when it is invalid or changes what only a restart can apply, and
// otherwise apply it live: VIPs added or removed while the others stay up,
// managed services added, removed or changed (restarted on the MASTER),
// startup settings. Nothing is changed when anything is refused.
import { describeChanges, diffConfig, type ConfigChanges } from '../config/diff.js';
import { formatIssues, loadConfigFile } from '../config/load.js';
import type { TandemConfig } from '../config/types.js';
import { TandemError } from '../errors.js';
import type { VrrpEngine } from '../vrrp/engine/engine.js';
import type { Conductor } from './conductor.js';
import type { HaNode } from './ha-node.js';
import type { Logger } from './log.js';

export interface ReloadResult {
  path: string; // the file the daemon re-read: its own, whatever the command's --config
  changes: string;
  problems: string[]; // applied, but something failed on the way (a VIP not added, a service not started)
}

export interface ReloadParts {
  cfg: TandemConfig; // the running configuration; updated in place
  engine: VrrpEngine;
  conductor: Conductor;
  ha: HaNode | null;
  log: Logger;
  emit: (type: string, fields: Record<string, unknown>) => void;
}

export async function reload(path: string, p: ReloadParts): Promise<ReloadResult> {
  const loaded = await loadConfigFile(path);
  if (!loaded.ok) {
    throw new TandemError('RELOAD_REFUSED', `reload refused, nothing changed: ${path} is not valid:\n${formatIssues(loaded.issues, path)}`);
  }
  const changes = diffConfig(p.cfg, loaded.config);
  if (changes.restartOnly.length > 0) {
    throw new TandemError('RELOAD_REFUSED', `reload refused, nothing changed: ${changes.restartOnly.join(', ')} cannot change while the daemon runs; restart it (systemctl restart tandem: a MASTER hands over first) to apply them`);
  }
  // Services need the resource group a node builds at start: half-applied, they sat in the configuration unrun.
  const s = changes.services;
  if (p.ha === null && s.added.length + s.removed.length + s.changed.length > 0) {
    throw new TandemError('RELOAD_REFUSED', `reload refused, nothing changed: services ${[...s.added, ...s.removed, ...s.changed].join(', ')} need a resource group, and this node runs none (it is built at start, from one VRRP instance with services or volumes: see docs/ha.md); restart the daemon (systemctl restart tandem) to apply them`);
  }
  const problems = await apply(p, loaded.config, changes);
  const text = describeChanges(changes);
  p.log.info(`reloaded ${path}: ${text}${problems.length > 0 ? `; problems: ${problems.join('; ')}` : ''}`);
  p.emit('daemon.reloaded', { path, changes: text, problems });
  return { path, changes: text, problems };
}

async function apply(p: ReloadParts, next: TandemConfig, changes: ConfigChanges): Promise<string[]> {
  const problems: string[] = [];
  for (const v of changes.vips) {
    const c = p.cfg.vrrp.instances.find((i) => i.name === v.instance);
    const n = next.vrrp.instances.find((i) => i.name === v.instance);
    if (c === undefined || n === undefined) continue;
    problems.push(...(await p.conductor.applyVips(c, n.virtualIpaddress, v.added, v.removed)).map((x) => `VIP ${x} not moved`));
    p.engine.refreshVips(c.name);
  }
  const s = changes.services;
  let services = next.services;
  if (p.ha !== null && s.added.length + s.removed.length + s.changed.length > 0) {
    const r = await p.ha.reloadServices(next.services, [...s.removed, ...s.changed]);
    problems.push(...r.problems);
    services = r.services;
  }
  p.cfg.services.splice(0, p.cfg.services.length, ...services);
  Object.assign(p.cfg.startup, next.startup);
  for (const k of Object.keys(p.cfg.startup) as (keyof TandemConfig['startup'])[]) if (!(k in next.startup)) delete p.cfg.startup[k];
  return problems;
}
