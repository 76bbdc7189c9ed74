// A flag that may be given once. commander keeps the last of a repeated
// option silently, so `--kad_vip A ... --kad_vip B` would configure B with
// no word; a flag given twice is a typo or a paste gone wrong: refused.
// (An option with a default would see the default as `previous`: such
// options take no commander default, and the action applies it.)
import { InvalidArgumentError } from 'commander';
import { EX_USAGE, TandemError } from '../errors.js';

export function once<T = string>(flag: string, parse?: (value: string) => T): (value: string, previous: T | undefined) => T {
  return (value, previous) => {
    if (previous !== undefined) throw new InvalidArgumentError(`${flag} is given more than once; give it once`);
    return parse === undefined ? (value as T) : parse(value);
  };
}

// Arguments left over after a command's own (`takes` says what it takes):
// most often a list flag's addresses given unquoted, as ESC's bootvm.py
// takes them (`--ha_node_list=A B`); commander would say only "too many
// arguments".
export function refuseStrayArguments(stray: readonly string[], takes: string): void {
  if (stray.length === 0) return;
  const listed = stray.map((a) => JSON.stringify(a)).join(' ');
  const address = stray.some((a) => /^[0-9a-f.:]+(\/\d+)?$/i.test(a) && /[.:]/.test(a));
  const why = address ? "a list of addresses (--ha_node_list, --kad_unicast_peer, --ipaddr) is one argument; quote it: --ha_node_list '192.0.2.11 192.0.2.12'" : `it takes ${takes}`;
  throw new TandemError('BAD_ARGUMENT', `unexpected argument${stray.length > 1 ? 's' : ''} ${listed}: ${why}`, { exitCode: EX_USAGE });
}
