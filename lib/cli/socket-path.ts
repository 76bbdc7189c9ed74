// Where the CLI finds the daemon: --socket, else the config file's
// node.control_socket, else the default. Only that key is read from the
// file: a change not yet applied elsewhere in it (a typo the running daemon
// never loaded) must not make a running daemon look dead.
import { parse } from 'yaml';
import { readConfigText } from '../config/load.js';
import { DEFAULT_CONTROL_SOCKET } from '../config/node-section.js';
import { SUN_PATH_MAX } from '../config/names.js';
import { EX_CONFIG, EX_USAGE, TandemError } from '../errors.js';

export const DEFAULT_CONFIG = '/etc/tandem/tandem.yaml';
export const DEFAULT_SOCKET = DEFAULT_CONTROL_SOCKET;

export async function resolveSocket(opts: { socket?: string; config?: string }): Promise<string> {
  if (opts.socket !== undefined) return checked(opts.socket, '--socket');
  if (opts.config === undefined) return process.env.TANDEM_SOCKET === undefined ? DEFAULT_SOCKET : checked(process.env.TANDEM_SOCKET, 'TANDEM_SOCKET');
  return socketOf(opts.config);
}

// A Unix socket path connect() can take: an empty one would be read as a TCP port, a long one cut short.
function checked(path: string, what: string): string {
  if (path === '' || path.includes('\0') || Buffer.byteLength(path) >= SUN_PATH_MAX) {
    throw new TandemError('BAD_SOCKET', `${what} ${JSON.stringify(path)}: want the path of the daemon's control socket, 1..${SUN_PATH_MAX - 1} bytes without NUL (its node.control_socket; default ${DEFAULT_SOCKET})`, { exitCode: EX_USAGE });
  }
  return path;
}

function refuse(message: string): TandemError {
  return Object.assign(new TandemError('CONFIG_INVALID', message), { exitCode: EX_CONFIG });
}

async function socketOf(path: string): Promise<string> {
  const read = await readConfigText(path);
  if (!read.ok) throw refuse(`${read.issue.message}; pass --socket PATH to reach the daemon`);
  const text = read.text;
  let doc: unknown;
  try {
    doc = parse(text, { merge: true, maxAliasCount: 100 });
  } catch (e) {
    throw refuse(`${path}: not YAML, so node.control_socket cannot be read (${(e as Error).message.split('\n')[0]}); pass --socket PATH to reach the daemon`);
  }
  const node = isMapping(doc) ? doc.node : undefined;
  const socket = isMapping(node) ? node.control_socket : undefined;
  if (socket === undefined || socket === null) return DEFAULT_SOCKET;
  if (typeof socket !== 'string' || !socket.startsWith('/') || socket.includes('\0') || Buffer.byteLength(socket) >= SUN_PATH_MAX) {
    throw refuse(`${path}: node.control_socket is ${JSON.stringify(socket)}: want an absolute path (starting with "/") shorter than ${SUN_PATH_MAX} bytes`);
  }
  return socket;
}

function isMapping(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
