// `startup`: boot safety (issue 5, ESC's "Switching-to-Master"). A node that
// has not heard its peer since it started waits and serves nothing, unless
// standalone_after seconds pass (with its volumes UpToDate) or the witness,
// a third machine such as the gateway, answers ping. Absent: wait for the
// peer forever. crossCheck refuses a witness that is this pair's own address.
import { formatIp, parseIp } from '../net/ip-address.js';
import { Fields, mapping, seconds, type Check } from './checks.js';
import { unusableEndpoint } from './names.js';
import { ownAddresses, type OwnedKind } from './own-addresses.js';
import type { Section } from './section.js';
import { checkKeys } from './suggest.js';
import type { StartupConfig } from './types.js';

export const STARTUP_KEYS = ['standalone_after', 'witness', 'fault_hold'] as const;
const STARTUP_HINTS: Readonly<Record<string, string>> = {
  gateway: 'a machine whose ping answer lets the node start alone is written witness: ADDRESS',
  ping: 'a machine whose ping answer lets the node start alone is written witness: ADDRESS',
};

export const MAX_STANDALONE_AFTER_S = 86400;
const standaloneAfter = seconds(0, MAX_STANDALONE_AFTER_S, 1000, true);
export const DEFAULT_FAULT_HOLD_MS = 30_000;
const faultHold = seconds(0, 3600, 1000);

export const startupSection: Section<'startup'> = {
  key: 'startup',
  validate(raw, at, { issues }) {
    if (raw === undefined) return {};
    const obj = mapping(raw, at, issues, `keys: ${STARTUP_KEYS.join(', ')}`);
    if (obj === undefined) return undefined;
    checkKeys(obj, STARTUP_KEYS, at, issues, STARTUP_HINTS);
    const f = new Fields(obj, at, issues);
    const out: StartupConfig = {};
    const after = f.optional('standalone_after', standaloneAfter);
    const witness = f.optional('witness', witnessAddress);
    const hold = f.optional('fault_hold', faultHold);
    if (after !== undefined) out.standaloneAfterMs = after;
    if (hold !== undefined) out.faultHoldMs = hold;
    if (witness !== undefined) out.witness = witness;
    return out;
  },
  crossCheck(config, { issues }) {
    const witness = config.startup?.witness;
    if (witness === undefined) return;
    const owner = ownAddresses(config).find((a) => a.address === witness);
    if (owner !== undefined) issues.error(['startup', 'witness'], witness, `${witness} is ${owner.what}: ${WITNESS_USELESS[owner.kind]}; the witness must be a third machine, such as the gateway`);
  },
};

// Why an address of the pair itself tells nothing about the peer.
const WITNESS_USELESS: Record<OwnedKind, string> = {
  vip: 'whichever node holds it answers',
  self: 'this node always answers itself',
  peer: 'a peer that answers is alive, and the witness is asked when the peer is silent',
};

const WITNESS_ALLOWED = 'an IPv4 or IPv6 address, without port or prefix, of a third machine that answers ping (such as the gateway)';

export const witnessAddress: Check<string> = {
  allowed: WITNESS_ALLOWED,
  read(value, at, issues) {
    const out = typeof value === 'string' ? readWitness(value) : { why: 'not a string' };
    if (typeof out === 'string') return out;
    issues.error(at, value, `${out.why}: must be ${WITNESS_ALLOWED}`);
    return undefined;
  },
};

// The canonical address, or why the text is not a usable witness.
function readWitness(text: string): string | { why: string } {
  const ip = parseIp(text);
  if (ip === null) {
    if (text.includes('/')) return { why: 'a prefix is not part of the witness (write the address alone)' };
    if (text.includes('%')) return { why: 'a %zone suffix is not supported (use a global or unique local address)' };
    if (/^\[.*\]:\d+$|^[^:]*:\d+$/.test(text)) return { why: 'a port is not part of the witness: it is pinged (ICMP echo)' };
    return { why: `${JSON.stringify(text)} is not an IP address (host names are not resolved)` };
  }
  const bad = unusableEndpoint(ip, text, false);
  if (bad !== undefined) return { why: bad };
  const loopback = ip.family === 4 ? ip.bytes[0] === 127 : formatIp(ip.bytes) === '::1';
  return loopback ? { why: `${text} is a loopback address, which always answers` } : formatIp(ip.bytes);
}
