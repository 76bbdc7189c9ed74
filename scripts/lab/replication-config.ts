// Lab configuration for replicated volumes: each host gets an address on the
// replication network 198.51.100.0/24 (its own subnet, as in production,
// here on the same segment), a shared secret file and a tandem config with
// one block volume mirrored to the other hosts.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, LabHost } from './lab.js';
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
  protocol?: 'A' | 'B' | 'C';
  peers?: LabHost[]; // default: every other lab host
  nbdTcp?: string; // e.g. 127.0.0.1:10809 (the namespace's own loopback)
  afterSb?: { after_sb_0pri?: string; after_sb_1pri?: string; after_sb_2pri?: string };
  timeout?: number; // seconds
  pingTimeout?: number;
  secret?: string; // default: the lab-wide secret
  device?: string; // default: imagePath(h)
  tls?: { cert: string; key: string; ca: string }; // file paths
  extraVrrp?: string; // a `vrrp:` section to append as is
}

export const LAB_SECRET = 'tandem lab replication secret, 32+ bytes long';

export function replicationConfig(lab: Lab, h: LabHost, o: VolumeOptions = {}): string {
  const secretFile = lab.write(h, 'secret', `${o.secret ?? LAB_SECRET}\n`);
  chmodSync(secretFile, 0o600); // as on a real node: the daemon warns about a secret others can read
  const peers = (o.peers ?? lab.hosts.filter((x) => x !== h)).map((p) => `        - { name: ${p.name}, address: "${replicationAddress(lab, p)}:${REPLICATION_PORT}" }`);
  const sb = o.afterSb ?? {};
  return [
    `node: { name: ${h.name}, state_dir: ${join(h.dir, 'state')}, control_socket: ${controlSocket(h)} }`,
    'replication:',
    `  secret_file: ${secretFile}`,
    ...(o.tls ? [`  tls: { cert: ${o.tls.cert}, key: ${o.tls.key}, ca: ${o.tls.ca} }`] : []),
    '  volumes:',
    '    - name: db',
    `      device: ${o.device ?? imagePath(h)}`,
    `      size: ${o.size ?? '64MiB'}`,
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
    ...(o.extraVrrp ? [o.extraVrrp] : []),
    '',
  ].join('\n');
}
