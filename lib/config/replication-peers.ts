// The peers of one volume: the other nodes that hold a replica, each with the
// address of its replication listener for this volume.
import { Fields, mapping } from './checks.js';
import type { Issues } from './issues.js';
import { formatHostPort, hostPort, nodeName } from './names.js';
import { renderPath, type KeyPath } from './path.js';
import { checkKeys } from './suggest.js';
import type { HostPort } from './types.js';

export const PEER_KEYS = ['name', 'address'] as const;
export const MAX_PEERS = 31; // 32 nodes per volume, as DRBD 9
const PEERS_ALLOWED = `a list of 1..${MAX_PEERS} peers, each { name: NODE_NAME, address: "HOST:PORT" }`;
const peerAddress = hostPort(false);

export interface PeerDraft {
  at: KeyPath;
  name?: string;
  address?: HostPort;
}

// `listen` is this volume's own address (undefined when it was invalid).
export function readPeers(f: Fields, listen: HostPort | undefined, issues: Issues): PeerDraft[] {
  const at = f.path('peers');
  if (!f.has('peers')) {
    issues.error(at, undefined, `required key is missing: must be ${PEERS_ALLOWED}`);
    return [];
  }
  const raw = f.raw('peers');
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_PEERS) {
    const count = Array.isArray(raw) ? ` (got ${raw.length})` : '';
    issues.error(at, raw, `must be ${PEERS_ALLOWED}${count}`);
    return [];
  }
  const out: PeerDraft[] = [];
  raw.forEach((value: unknown, i) => {
    const here = [...at, i];
    const obj = mapping(value, here, issues, 'a peer: { name: NODE_NAME, address: "HOST:PORT" }');
    if (obj === undefined) return;
    checkKeys(obj, PEER_KEYS, here, issues);
    const pf = new Fields(obj, here, issues);
    const peer: PeerDraft = { at: here };
    const name = pf.required('name', nodeName);
    const address = pf.required('address', peerAddress);
    const twin = out.find((p) => name !== undefined && p.name === name);
    if (name !== undefined && twin !== undefined) {
      issues.error(pf.path('name'), name, `${name} is already listed at ${renderPath(twin.at)}: each peer once`);
    } else if (name !== undefined) peer.name = name;
    if (address !== undefined) {
      const shown = formatHostPort(address);
      const same = out.find((p) => p.address !== undefined && sameHostPort(p.address, address));
      if (same !== undefined) {
        issues.error(pf.path('address'), pf.raw('address'), `${shown} is already the address of ${renderPath(same.at)}: each peer has its own address`);
      } else if (listen !== undefined && sameHostPort(listen, address)) {
        issues.error(pf.path('address'), pf.raw('address'), `${shown} is this volume's own listen address: a peer address is where another node listens`);
      } else peer.address = address;
    }
    out.push(peer);
  });
  return out;
}

export const sameHostPort = (a: HostPort, b: HostPort): boolean => a.host === b.host && a.port === b.port;
