// Adding and removing virtual addresses with ip(8). Both are idempotent:
// adding a present address or deleting an absent one is success, so a retry
// after a crash or a partial failure converges.
import type { VirtualAddress } from '../config/types.js';
import { runIp, type IpRunOptions } from './ip-command.js';
import { TandemError } from '../errors.js';

export function vipText(v: VirtualAddress): string {
  return `${v.address}/${v.prefix}`;
}

export function addArgs(v: VirtualAddress): string[] {
  const args = [v.family === 6 ? '-6' : '-4', 'addr', 'add', vipText(v), 'dev', v.dev];
  if (v.label !== undefined && v.family === 4) args.push('label', v.label);
  // RFC 5798 8.2: a VIP must be usable at once; DAD would hold it tentative.
  if (v.family === 6) args.push('nodad');
  return args;
}

export async function addVip(v: VirtualAddress, options: IpRunOptions = {}): Promise<void> {
  try {
    await runIp(addArgs(v), options);
  } catch (err) {
    if (err instanceof TandemError && /File exists/.test(err.message)) return;
    throw err;
  }
}

// ip(8)'s words for "that address (or its device) is not there": older
// iproute2 prints EADDRNOTAVAIL's text, newer "Error: ipv4: Address not
// found." / "Error: ipv6: address not found.", and a missing device either
// ENODEV's text or 'Cannot find device "eth9"'.
export function isAbsentAddressError(message: string): boolean {
  return /Cannot assign requested address|address not found|No such device|Cannot find device/i.test(message);
}

export async function deleteVip(v: VirtualAddress, options: IpRunOptions = {}): Promise<void> {
  try {
    await runIp([v.family === 6 ? '-6' : '-4', 'addr', 'del', vipText(v), 'dev', v.dev], options);
  } catch (err) {
    if (err instanceof TandemError && isAbsentAddressError(err.message)) return;
    throw err;
  }
}
