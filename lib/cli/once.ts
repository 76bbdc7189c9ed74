// A flag that may be given once. commander keeps the last of a repeated
// option silently, so `--kad_vip A ... --kad_vip B` would configure B with
// no word; a flag given twice is a typo or a paste gone wrong: refused.
// (An option with a default would see the default as `previous`: such
// options take no commander default, and the action applies it.)
import { InvalidArgumentError } from 'commander';

export function once<T = string>(flag: string, parse?: (value: string) => T): (value: string, previous: T | undefined) => T {
  return (value, previous) => {
    if (previous !== undefined) throw new InvalidArgumentError(`${flag} is given more than once; give it once`);
    return parse === undefined ? (value as T) : parse(value);
  };
}
