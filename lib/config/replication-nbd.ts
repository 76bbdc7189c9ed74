// How a volume is served to local users: NBD over a Unix socket by default,
// over TCP only when configured, since NBD itself has no authentication.
import { posix } from 'node:path';
import { Fields, mapping } from './checks.js';
import type { Issues } from './issues.js';
import { formatHostPort, hostPort, socketPath } from './names.js';
import type { KeyPath } from './path.js';
import { checkKeys } from './suggest.js';
import type { BlockVolumeConfig } from './types.js';

export const NBD_KEYS = ['listen', 'socket'] as const;
export const NBD_SOCKET_DIR = '/run/tandem';
export const defaultNbdSocket = (name: string): string => posix.join(NBD_SOCKET_DIR, `${name}.nbd`);
const nbdListen = hostPort(true);

export interface NbdDraft {
  config: BlockVolumeConfig['nbd'];
  tcpAt?: KeyPath;
  socketAt?: KeyPath; // undefined for the default socket
}

// `name` is the volume's name, for the default socket (undefined when invalid).
export function readNbd(f: Fields, name: string | undefined, issues: Issues): NbdDraft {
  if (!f.has('nbd')) return { config: name === undefined ? {} : { socket: defaultNbdSocket(name) } };
  const at = f.path('nbd');
  const obj = mapping(f.raw('nbd'), at, issues, 'listen: "HOST:PORT" and/or socket: /path (leave nbd out for the default socket)');
  if (obj === undefined) return { config: {} };
  checkKeys(obj, NBD_KEYS, at, issues);
  const nf = new Fields(obj, at, issues);
  const out: NbdDraft = { config: {} };
  const tcp = nf.optional('listen', nbdListen);
  const socket = nf.optional('socket', socketPath);
  if (tcp !== undefined) {
    out.config.tcp = tcp;
    out.tcpAt = nf.path('listen');
    if (/^(0\.0\.0\.0|::)$/.test(tcp.host)) {
      issues.warn(nf.path('listen'), nf.raw('listen'), `${formatHostPort(tcp)} listens on every interface, and NBD has no authentication: any host that reaches the port can read and overwrite the volume; name one address (127.0.0.1 for local users)`);
    }
  }
  if (socket !== undefined) {
    out.config.socket = socket;
    out.socketAt = nf.path('socket');
  }
  if (!nf.has('listen') && !nf.has('socket')) {
    issues.error(at, obj, `must set listen (a TCP address, ${nbdListen.allowed}), socket (a Unix socket path) or both; leave nbd out for the default socket ${NBD_SOCKET_DIR}/NAME.nbd`);
  }
  return out;
}
