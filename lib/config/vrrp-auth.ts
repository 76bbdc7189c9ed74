// `authentication { auth_type PASS auth_pass x }`: VRRPv2 simple text
// authentication (RFC 3768 5.3.6 / 5.3.10 describe the 8-byte field).
import { Fields, mapping, oneOf, type Check } from './checks.js';
import type { Issues } from './issues.js';
import type { KeyPath } from './path.js';
import { checkKeys } from './suggest.js';
import type { Authentication, VrrpVersion } from './types.js';

export const AUTH_KEYS = ['auth_type', 'auth_pass'] as const;
export const AUTH_PASS_MAX = 8; // bytes in the v2 Authentication Data field

const authType: Check<'PASS'> = {
  allowed: '"PASS"',
  read(value, at, issues) {
    if (value === 'PASS') return 'PASS';
    if (typeof value === 'string' && value.toUpperCase() === 'AH') {
      issues.error(at, value, 'AH (IPsec authentication header) is not supported by tandem: use "PASS", or VRRPv3 without authentication');
      return undefined;
    }
    return oneOf(['PASS'] as const).read(value, at, issues);
  },
};

// The password never appears in messages: an error log must not leak it.
const authPass: Check<string> = {
  allowed: `a string of 1..${AUTH_PASS_MAX} bytes`,
  read(value, at, issues) {
    if (typeof value !== 'string') {
      const hint = typeof value === 'number' ? ' (YAML read a number: quote the password)' : '';
      issues.error(at, hidden(value), `must be a string of 1..${AUTH_PASS_MAX} bytes${hint}`);
      return undefined;
    }
    const bytes = Buffer.byteLength(value);
    if (bytes >= 1 && bytes <= AUTH_PASS_MAX) return value;
    const why = bytes === 0
      ? 'an empty password'
      : `the VRRPv2 authentication field holds ${AUTH_PASS_MAX} bytes and keepalived silently truncates a longer password, so what the peers compare would not be what this file says`;
    issues.error(at, hidden(value), `must be 1..${AUTH_PASS_MAX} bytes: ${why}`);
    return undefined;
  },
};

function hidden(value: unknown): string {
  const size = typeof value === 'string' ? Buffer.byteLength(value) : String(value).length;
  return `<hidden, ${size} bytes>`;
}

export function readAuthentication(
  raw: unknown,
  at: KeyPath,
  version: VrrpVersion,
  issues: Issues,
): Authentication | undefined {
  const obj = mapping(raw, at, issues, `keys: ${AUTH_KEYS.join(', ')}`);
  if (obj === undefined) return undefined;
  checkKeys(obj, AUTH_KEYS, at, issues);
  const f = new Fields(obj, at, issues);
  const type = f.required('auth_type', authType);
  const pass = f.required('auth_pass', authPass);
  if (version !== 2) {
    // RFC 5798 removed authentication from VRRPv3 (section 9 says why).
    // keepalived ignores it with a warning, and so do we: the issue's own
    // example carries it on a v3 instance. The password is not shown.
    issues.warn(at, { auth_type: obj['auth_type'] }, 'ignored: authentication exists only in VRRPv2 (version: 2, IPv4); VRRPv3 adverts carry none');
    return undefined;
  }
  return type === undefined || pass === undefined ? undefined : { authType: type, authPass: pass };
}
