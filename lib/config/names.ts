// Names, paths and commands: the string-shaped values of the configuration.
import { check, text, type Check } from './checks.js';

// Instance, script, group and node names: safe in logs, file names and
// keepalived-style notify arguments.
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const isObjectName = (s: string): boolean => NAME.test(s);
export const objectName: Check<string> = text('1..64 characters from A-Z a-z 0-9 _ . -', isObjectName);

// Linux dev_valid_name(): shorter than IFNAMSIZ (16), not "." or "..", and no
// "/", ":" or whitespace (":" is only valid in address labels).
export function isInterfaceName(s: string): boolean {
  const bytes = Buffer.byteLength(s);
  return bytes >= 1 && bytes <= 15 && s !== '.' && s !== '..' && !/[/:\s]/.test(s);
}
export const interfaceName: Check<string> = text(
  'a Linux interface name: 1..15 bytes, no "/", ":" or whitespace, not "." or ".."',
  isInterfaceName,
);

export const absolutePath: Check<string> = text(
  'an absolute path (starting with "/", no NUL byte)',
  (s) => s.startsWith('/') && !s.includes('\0'),
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
