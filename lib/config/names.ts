// Names, paths and commands: the string-shaped values of the configuration.
import { formatIp, isLinkLocalV6, parseIp, type ParsedIp } from '../net/ip-address.js';
import { check, text, type Check } from './checks.js';
import type { HostPort } from './types.js';

// Instance, script, group and node names: safe in logs, file names and
// keepalived-style notify arguments.
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const isObjectName = (s: string): boolean => NAME.test(s);
export const objectName: Check<string> = text('1..64 characters from A-Z a-z 0-9 _ . -', isObjectName);

// Node and volume names: the same characters, at most 63, because both travel
// in the replication link's HELLO (link/messages.ts MAX_NAME_LEN) and key the
// per-peer parts of a volume's metadata.
const NODE_NAME = /^[A-Za-z0-9_.-]{1,63}$/;
export const isNodeName = (s: string): boolean => NODE_NAME.test(s);
export const nodeName: Check<string> = text('1..63 characters from A-Z a-z 0-9 _ . -', isNodeName);

// Linux dev_valid_name(): shorter than IFNAMSIZ (16), not "." or "..", and no
// "/", ":" or whitespace (":" is only valid in address labels).
export function isInterfaceName(s: string): boolean {
  const bytes = Buffer.byteLength(s);
  return bytes >= 1 && bytes <= 15 && s !== '.' && s !== '..' && !/[/:\s\0]/.test(s);
}
export const interfaceName: Check<string> = text(
  'a Linux interface name: 1..15 bytes, no "/", ":", whitespace or NUL, not "." or ".."',
  isInterfaceName,
);

// No control character either: a newline in a path would break the systemd units and logs it is written to.
export const absolutePath: Check<string> = text(
  'an absolute path (starting with "/", no NUL byte, newline or other control character)',
  (s) => s.startsWith('/') && !/[\x00-\x1f\x7f]/.test(s),
);

// sun_path in struct sockaddr_un is 108 bytes including the terminating NUL.
export const SUN_PATH_MAX = 108;
export const socketPath: Check<string> = check(
  `an absolute path (starting with "/") shorter than ${SUN_PATH_MAX} bytes, the Unix socket address limit (sun_path)`,
  (v) => (typeof v === 'string' && v.startsWith('/') && !v.includes('\0') && Buffer.byteLength(v) < SUN_PATH_MAX ? v : undefined),
);

// A notify hook, as keepalived takes it: a program path, optionally followed
// by arguments, run through the shell; one line, so a stray newline is caught.
export const command: Check<string> = text(
  'a non-empty command on one line (an absolute path, optionally with arguments)',
  (s) => s.trim() !== '' && !/[\0\r\n]/.test(s),
);

// A tracking script, run with /bin/sh -c, so a YAML block scalar spanning
// several lines is fine; only an empty script or a NUL byte is refused.
export const scriptLine: Check<string> = text(
  'a non-empty shell command (run with /bin/sh -c)',
  (s) => s.trim() !== '' && !s.includes('\0'),
);

// A program and its arguments, run without a shell (services, oneshot
// actions, exec health checks): argv[0] is an absolute path, and every item a
// string, so a number-like argument is quoted rather than coerced.
export const argv: Check<string[]> = {
  allowed: 'a list of strings: the program (an absolute path) then its arguments, such as ["/usr/bin/app", "--port", "8080"]',
  read(value, at, issues) {
    if (!Array.isArray(value) || value.length === 0) {
      const why = typeof value === 'string' ? 'a command is a list, not one string (it is run without a shell)'
        : Array.isArray(value) ? 'the list is empty' : 'not a list';
      issues.error(at, value, `${why}: must be ${argv.allowed}`);
      return undefined;
    }
    let ok = true;
    value.forEach((item: unknown, i) => {
      const why = typeof item !== 'string' ? `must be a string${typeof item === 'number' ? ' (quote a number: "8080")' : ''}`
        : item.includes('\0') ? 'must not contain a NUL byte'
          : i === 0 && !item.startsWith('/') ? 'the program must be an absolute path (starting with "/"; no PATH lookup)' : undefined;
      if (why === undefined) return;
      issues.error([...at, i], item, `${why}: the list must be ${argv.allowed}`);
      ok = false;
    });
    return ok ? (value as string[]) : undefined;
  },
};

// "host:port" for a TCP endpoint, IPv6 as "[addr]:port"; the host is an IP
// address (names are not resolved) and comes back in canonical form. With
// `wildcard` false, 0.0.0.0 and :: are refused: the endpoint must be one
// address of the host.
export function hostPort(wildcard: boolean): Check<HostPort> {
  const allowed = `"ADDRESS:PORT" with an IPv4 address, or "[ADDRESS]:PORT" with an IPv6 one (quoted in YAML), port 1..65535${wildcard ? '' : ', not a wildcard address'}`;
  const fail = (why: string): string => `${why}: must be ${allowed}`;
  return {
    allowed,
    read(value, at, issues) {
      const out = typeof value === 'string' ? readHostPort(value, wildcard) : notAString(value);
      if (typeof out !== 'string') return out;
      issues.error(at, value, fail(out));
      return undefined;
    },
  };
}

function notAString(value: unknown): string {
  if (Array.isArray(value)) return 'YAML reads an unquoted "[" as the start of a list (put the value in quotes)';
  if (typeof value === 'number') return 'a port alone is not enough (give the address too)';
  return 'not a string';
}

// A HostPort, or why the text is not one.
function readHostPort(text: string, wildcard: boolean): HostPort | string {
  const m = /^(?:\[([^\]]*)\]|([^[\]:]*)):(\d{1,5})$/.exec(text);
  if (m === null) {
    if (/^[^[\]]*:[^[\]]*:/.test(text)) return 'an IPv6 address goes in brackets, "[2001:db8::1]:7789"';
    if (!text.includes(':')) return 'the port is missing';
    return 'not of that form';
  }
  const [, v6, v4, portText] = m;
  const host = v6 ?? v4 ?? '';
  const ip = parseIp(host);
  if (ip === null || (v6 !== undefined) !== (ip.family === 6)) {
    if (ip !== null) return v6 !== undefined ? 'brackets are for IPv6 addresses only' : 'an IPv6 address goes in brackets';
    if (host.includes('%')) return `${host} has a %zone suffix, which is not supported (use a global or unique local address)`;
    return `${JSON.stringify(host)} is not an IP address (host names are not resolved)`;
  }
  const port = Number(portText);
  if (port < 1 || port > 65535) return `port ${portText} is out of range`;
  const bad = unusableEndpoint(ip, host, wildcard);
  return bad ?? { host: formatIp(ip.bytes), port };
}

// Why an address is not one reachable host (wildcard unless allowed, multicast, broadcast...), or undefined.
export function unusableEndpoint(ip: ParsedIp, host: string, wildcard: boolean): string | undefined {
  const b = ip.bytes;
  if (b.every((x) => x === 0)) return wildcard ? undefined : `${host} is a wildcard address, not one address of the host`;
  if (ip.family === 4) {
    if ((b[0] ?? 0) >= 224 && (b[0] ?? 0) <= 239) return `${host} is a multicast address`;
    if (b.every((x) => x === 255)) return `${host} is the broadcast address`;
    return undefined;
  }
  if (b[0] === 0xff) return `${host} is a multicast address`;
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `${host} is an IPv4-mapped IPv6 address (write the IPv4 address itself)`;
  if (isLinkLocalV6(host)) return `${host} is link-local, which needs a %zone (use a global or unique local address)`;
  return undefined;
}

// The text form hostPort reads: "192.0.2.1:7789", "[2001:db8::1]:7789".
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
