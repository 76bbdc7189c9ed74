// Arguments left over after a command's own (`takes` says what it takes):
// most often a list flag's addresses given unquoted, as ESC's bootvm.py
// takes them (`--ha_node_list=A B`); commander would say only "too many
// arguments".
import { EX_USAGE, TandemError } from '../errors.js';

export function refuseStrayArguments(stray: readonly string[], takes: string): void {
  if (stray.length === 0) return;
  const listed = stray.map((a) => JSON.stringify(a)).join(' ');
  const address = stray.some((a) => /^[0-9a-f.:]+(\/\d+)?$/i.test(a) && /[.:]/.test(a));
  const why = address ? "a list of addresses (--ha_node_list, --kad_unicast_peer, --ipaddr) is one argument; quote it: --ha_node_list '192.0.2.11 192.0.2.12'" : `it takes ${takes}`;
  throw new TandemError('BAD_ARGUMENT', `unexpected argument${stray.length > 1 ? 's' : ''} ${listed}: ${why}`, { exitCode: EX_USAGE });
}
