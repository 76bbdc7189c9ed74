// Rules that span the volumes of one node: every volume has its own name,
// listener, NBD endpoints, device and metadata file, and no peer address is
// one of this node's own listeners or serves two volumes.
import { posix } from 'node:path';
import { activityLogPath } from '../replication/block/activity-log.js';
import type { Issues } from './issues.js';
import { formatHostPort } from './names.js';
import { renderPath, type KeyPath } from './path.js';
import { defaultMetadata, type VolumeDraft } from './replication-link.js';
import type { HostPort } from './types.js';

interface Claim {
  at: KeyPath;
  what: string; // "the device of volume db"
}

// Paths that differ only in "//", "/./" or a trailing "/" are one file.
export const samePathKey = (p: string): string => posix.normalize(p).replace(/(.)\/$/, '$1');

export const volumeLabel = (d: VolumeDraft): string => (d.name === undefined ? renderPath(d.at) : `volume ${d.name}`);

// The files a volume writes itself, named as messages name them. A metadata
// file that is not written is left out, or with `stateDir` given, resolved
// to its default <state_dir>/<name>.meta. A block volume also writes its
// activity log beside the metadata file, as <metadata>.al.
export function volumeFiles(d: VolumeDraft, stateDir?: string): { path: string; what: string }[] {
  const label = volumeLabel(d);
  const out: { path: string; what: string }[] = [];
  if (d.device !== undefined) out.push({ path: d.device, what: `the device of ${label} (${renderPath([...d.at, 'device'])})` });
  const metadata = d.metadata !== undefined
    ? { path: d.metadata, how: renderPath([...d.at, 'metadata']) }
    : stateDir !== undefined && d.name !== undefined ? { path: defaultMetadata(stateDir, d.name), how: 'node.state_dir/NAME.meta' } : undefined;
  if (metadata === undefined) return out;
  out.push({ path: metadata.path, what: `the metadata file of ${label} (${metadata.how})` });
  if (d.type === 'block') out.push({ path: activityLogPath(metadata.path), what: `the activity log of ${label} (${metadata.how} + .al)` });
  return out;
}

// A wildcard listener (only nbd.listen may be one) takes the port on every
// address of its family; "::" takes IPv4 too (a dual-stack socket).
export function endpointsClash(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port) return false;
  const covers = (w: HostPort, x: HostPort): boolean => w.host === '::' || (w.host === '0.0.0.0' && !x.host.includes(':'));
  return a.host === b.host || covers(a, b) || covers(b, a);
}

export function checkAcrossVolumes(drafts: readonly VolumeDraft[], issues: Issues): void {
  const names = new Map<string, KeyPath>();
  const endpoints: (Claim & { hp: HostPort })[] = [];
  // Sockets with the files: an nbd socket at another volume's device or metadata path is a clash too.
  const files = new Map<string, Claim>();
  // Whether the file was free (a clash is reported).
  const claimFile = (map: Map<string, Claim>, file: string, claim: Claim, written: unknown, rule: string): boolean => {
    const first = map.get(samePathKey(file));
    if (first === undefined) map.set(samePathKey(file), claim);
    else issues.error(claim.at, written, `${file} is also ${first.what} (${renderPath(first.at)}): ${rule}`);
    return first === undefined;
  };
  const claimEndpoint = (hp: HostPort, claim: Claim): void => {
    const first = endpoints.find((e) => endpointsClash(e.hp, hp));
    if (first === undefined) endpoints.push({ ...claim, hp });
    else issues.error(claim.at, formatHostPort(hp), `clashes with ${first.what} ${formatHostPort(first.hp)} (${renderPath(first.at)}): every listener needs its own address and port`);
  };

  for (const d of drafts) {
    const label = volumeLabel(d);
    const firstNamed = d.name === undefined ? undefined : names.get(d.name);
    if (firstNamed !== undefined) issues.error([...d.at, 'name'], d.name, `volume names must be unique: ${renderPath(firstNamed)} is also named ${d.name}`);
    else if (d.name !== undefined) names.set(d.name, d.at);
    if (d.listen !== undefined) claimEndpoint(d.listen, { at: [...d.at, 'listen'], what: `the listen address of ${label}` });
    if (d.nbd?.config.tcp !== undefined && d.nbd.tcpAt !== undefined) claimEndpoint(d.nbd.config.tcp, { at: d.nbd.tcpAt, what: `the nbd.listen of ${label}` });
    const ownFile = 'every volume needs its own device and its own metadata file';
    if (d.device !== undefined) claimFile(files, d.device, { at: [...d.at, 'device'], what: `the device of ${label}` }, d.device, ownFile);
    const metadataFree = d.metadata !== undefined && claimFile(files, d.metadata, { at: [...d.at, 'metadata'], what: `the metadata file of ${label}` }, d.metadata, ownFile);
    // One clash per metadata key: a metadata file taken twice takes its .al twice too.
    if (metadataFree && d.metadata !== undefined && d.type === 'block') {
      const al = activityLogPath(d.metadata);
      claimFile(files, al, { at: [...d.at, 'metadata'], what: `the activity log of ${label} (metadata + .al)` }, d.metadata, `a block volume also writes ${al}, its activity log: choose a metadata path whose .al file is free`);
    }
    const nbd = d.nbd;
    const socket = nbd?.config.socket;
    // A duplicate name is reported once, not again through its default socket.
    if (nbd !== undefined && socket !== undefined && (nbd.socketAt !== undefined || firstNamed === undefined)) {
      // A default socket is reported on the volume's nbd key, which the user can add.
      const written = nbd.socketAt === undefined ? undefined : socket;
      const at = nbd.socketAt ?? [...d.at, 'nbd'];
      const rule = nbd.socketAt === undefined ? `this volume's default nbd socket clashes: set nbd.socket` : 'every volume needs its own nbd socket';
      claimFile(files, socket, { at, what: `the nbd socket of ${label}` }, written, rule);
    }
  }
  checkPeerAddresses(drafts, endpoints, issues);
}

// A peer address is another node's listener for one volume: never one of
// this node's listeners, and never the listener of two volumes.
function checkPeerAddresses(drafts: readonly VolumeDraft[], own: readonly (Claim & { hp: HostPort })[], issues: Issues): void {
  const seen: (Claim & { hp: HostPort })[] = [];
  for (const d of drafts) {
    for (const p of d.peers) {
      if (p.address === undefined) continue;
      const hp = p.address;
      const at = [...p.at, 'address'];
      const shown = formatHostPort(hp);
      const mine = own.find((e) => e.hp.host === hp.host && e.hp.port === hp.port);
      const twin = seen.find((e) => e.hp.host === hp.host && e.hp.port === hp.port);
      if (mine !== undefined) {
        issues.error(at, shown, `${shown} is ${mine.what} on this node (${renderPath(mine.at)}): a peer address is where another node listens`);
      } else if (twin !== undefined) {
        issues.error(at, shown, `${shown} is also ${twin.what} (${renderPath(twin.at)}): each volume has its own listener on the peer, so its address differs per volume`);
      } else seen.push({ at, hp, what: `the address of peer ${p.name ?? renderPath(p.at)} of ${volumeLabel(d)}` });
    }
  }
}
