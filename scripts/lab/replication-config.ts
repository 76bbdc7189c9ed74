// Lab configuration for replicated volumes: each host gets an address on the
// replication network 198.51.100.0/24 (its own subnet, as in production,
// here on the same segment), a shared secret file and a tandem config with
// one block volume mirrored to the other hosts.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, TANDEM_BIN, type Lab, type LabHost } from './lab.js';
import { controlSocket } from './tandem-config.js';

export const REPLICATION_PORT = 7789;

export function replicationAddress(lab: Lab, h: LabHost): string {
  return `198.51.100.${11 + lab.hosts.indexOf(h)}`;
}

export async function addReplicationAddresses(lab: Lab): Promise<void> {
  for (const h of lab.hosts) await lab.exec(h, ['ip', 'addr', 'add', `${replicationAddress(lab, h)}/24`, 'dev', h.dev]);
}

export function nbdSocket(h: LabHost, volume = 'db'): string {
  return join(h.dir, `${volume}.nbd`);
}

export function imagePath(h: LabHost, volume = 'db'): string {
  return join(h.dir, `${volume}.img`);
}

export interface VolumeOptions {
  size?: string; // default 64MiB
  alExtents?: number; // default: the daemon's (1237)
  protocol?: 'A' | 'B' | 'C';
  peers?: LabHost[]; // default: every other lab host
  nbdTcp?: string; // e.g. 127.0.0.1:10809 (the namespace's own loopback)
  afterSb?: { after_sb_0pri?: string; after_sb_1pri?: string; after_sb_2pri?: string };
  timeout?: number; // seconds
  pingTimeout?: number;
  secret?: string; // default: the lab-wide secret
  device?: string; // default: imagePath(h)
  tls?: { cert: string; key: string; ca: string }; // file paths
  congestionControl?: string; // replication.congestion_control; default: not written (cubic)
  extraVrrp?: string; // a `vrrp:` section to append as is
  fencePeer?: string; // fencing: resource-only with this fence_peer command
}

export const LAB_SECRET = 'tandem lab replication secret, 32+ bytes long';

// A volume's fencing keys: resource-only with `fencePeer`, else none (dont-care).
export const fencingLines = (fencePeer: string | undefined): string[] =>
  fencePeer === undefined ? [] : ['      fencing: resource-only', `      fence_peer: ${JSON.stringify(fencePeer)}`];

// fence_peer for lab hosts: scripts/fence-peer reaching the peer's daemon through its
// control socket, a path a partition of the lab's links does not cut (ssh in production).
export function labFencePeer(lab: Lab): string {
  const tandem = `env TANDEM_SOCKET=${lab.root}/$TANDEM_PEER/control.sock ${process.execPath} ${TANDEM_BIN}`;
  return `${join(REPO_ROOT, 'scripts/fence-peer')} '${tandem}'`;
}

// The node line and the replication section's head, with the secret file written (mode 600, as on a real node).
function head(lab: Lab, h: LabHost, secret: string): string[] {
  const secretFile = lab.write(h, 'secret', `${secret}\n`);
  chmodSync(secretFile, 0o600);
  return [
    `node: { name: ${h.name}, state_dir: ${join(h.dir, 'state')}, control_socket: ${controlSocket(h)} }`,
    'replication:',
    `  secret_file: ${secretFile}`,
  ];
}

const peerLines = (lab: Lab, peers: LabHost[], port: number): string[] =>
  peers.map((p) => `        - { name: ${p.name}, address: "${replicationAddress(lab, p)}:${port}" }`);

export const DIRECTORY_PORT = 7790;

export function treePath(h: LabHost, volume = 'conf'): string {
  return join(h.dir, volume);
}

export interface DirectoryOptions {
  protocol?: 'A' | 'C';
  exclude?: string[];
  settle?: number; // seconds
  timeout?: number;
  pingTimeout?: number;
}

// One directory volume `conf` at treePath(h), mirrored to every other lab host.
export function directoryConfig(lab: Lab, h: LabHost, o: DirectoryOptions = {}): string {
  return [
    ...head(lab, h, LAB_SECRET),
    '  volumes:',
    '    - name: conf',
    '      type: directory',
    `      path: ${treePath(h)}`,
    ...(o.exclude ? [`      exclude: ${JSON.stringify(o.exclude)}`] : []),
    `      protocol: ${o.protocol ?? 'C'}`,
    `      listen: "${replicationAddress(lab, h)}:${DIRECTORY_PORT}"`,
    '      peers:',
    ...peerLines(lab, lab.hosts.filter((x) => x !== h), DIRECTORY_PORT),
    `      settle: ${o.settle ?? 0.05}`,
    `      timeout: ${o.timeout ?? 4}`,
    '      ping_interval: 0.5',
    `      ping_timeout: ${o.pingTimeout ?? 3}`,
    '',
  ].join('\n');
}

export function replicationConfig(lab: Lab, h: LabHost, o: VolumeOptions = {}): string {
  const peers = peerLines(lab, o.peers ?? lab.hosts.filter((x) => x !== h), REPLICATION_PORT);
  const sb = o.afterSb ?? {};
  return [
    ...head(lab, h, o.secret ?? LAB_SECRET),
    ...(o.tls ? [`  tls: { cert: ${o.tls.cert}, key: ${o.tls.key}, ca: ${o.tls.ca} }`] : []),
    ...(o.congestionControl === undefined ? [] : [`  congestion_control: ${o.congestionControl}`]),
    '  volumes:',
    '    - name: db',
    `      device: ${o.device ?? imagePath(h)}`,
    `      size: ${o.size ?? '64MiB'}`,
    ...(o.alExtents === undefined ? [] : [`      al_extents: ${o.alExtents}`]),
    `      protocol: ${o.protocol ?? 'C'}`,
    `      listen: "${replicationAddress(lab, h)}:${REPLICATION_PORT}"`,
    '      peers:',
    ...peers,
    `      nbd: { socket: ${nbdSocket(h)}${o.nbdTcp ? `, listen: "${o.nbdTcp}"` : ''} }`,
    `      after_sb_0pri: ${sb.after_sb_0pri ?? 'disconnect'}`,
    `      after_sb_1pri: ${sb.after_sb_1pri ?? 'disconnect'}`,
    `      after_sb_2pri: ${sb.after_sb_2pri ?? 'disconnect'}`,
    `      timeout: ${o.timeout ?? 2}`,
    '      ping_interval: 0.5',
    `      ping_timeout: ${o.pingTimeout ?? 2}`,
    ...fencingLines(o.fencePeer),
    ...(o.extraVrrp ? [o.extraVrrp] : []),
    '',
  ].join('\n');
}
