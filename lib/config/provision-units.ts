// The systemd units `tandem provision` writes for a node: the daemon's own
// unit (systemd/tandem.service as shipped, so its settings follow the
// package) run on this node's configuration, and a oneshot unit holding the
// --route routes, up before the daemon.
import type { Route } from './provision-routes.js';

export const DAEMON_UNIT = 'tandem.service';
export const ROUTES_UNIT = 'tandem-routes.service';

export interface Unit {
  name: string;
  text: string;
}

// One ExecStart= word: % and $ are systemd specifiers / expansions, a space needs quotes.
export function unitWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

// `daemon` is the program and arguments that run `tandem` on this machine (node and bin/tandem).
export function daemonUnit(template: string, daemon: readonly string[], configFile: string, node: string, withRoutes: boolean): Unit {
  const lines = template.replace(/\n+$/, '').split('\n');
  const exec = lines.findIndex((l) => l.startsWith('ExecStart='));
  const unit = lines.indexOf('[Unit]');
  if (exec < 0 || unit < 0) throw new Error('systemd/tandem.service has no [Unit] section or no ExecStart= line');
  lines[exec] = `ExecStart=${[...daemon, 'daemon', '--config', configFile].map(unitWord).join(' ')}`;
  const reload = lines.findIndex((l) => l.startsWith('ExecReload='));
  if (reload >= 0) lines[reload] = `ExecReload=${[...daemon, 'reload', '--config', configFile].map(unitWord).join(' ')}`;
  let end = lines.findIndex((l, i) => i > unit && l.startsWith('['));
  if (end < 0) end = lines.length;
  while (end > unit + 1 && lines[end - 1]?.trim() === '') end--;
  // Wants, not Requires: a route that fails must not keep the node out of the election.
  if (withRoutes) lines.splice(end, 0, `Wants=${ROUTES_UNIT}`, `After=${ROUTES_UNIT}`);
  const head = `# Written by \`tandem provision ${node}\` from tandem's systemd/${DAEMON_UNIT}.`;
  return { name: DAEMON_UNIT, text: `${head}\n${lines.join('\n')}\n` };
}

export function routesUnit(routes: readonly Route[], node: string): Unit {
  const args = (r: Route): string => [r.prefix, ...(r.via === null ? [] : ['via', r.via]), ...(r.dev === null ? [] : ['dev', r.dev])].map(unitWord).join(' ');
  const text = [
    `# Written by \`tandem provision ${node}\`: its --route flags. \`ip route replace\` is idempotent;`,
    '# stopping the unit removes the routes again.',
    '[Unit]',
    'Description=tandem static routes (tandem provision --route)',
    'Wants=network-online.target',
    'After=network-online.target',
    `Before=${DAEMON_UNIT}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    ...routes.map((r) => `ExecStart=ip route replace ${args(r)}`),
    ...routes.map((r) => `ExecStop=-ip route del ${args(r)}`),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return { name: ROUTES_UNIT, text: `${text.join('\n')}\n` };
}
