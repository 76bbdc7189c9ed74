// The HA node of issue 5 in the lab (the demo and the end-to-end tests): one
// VRRP instance with the VIP, a replicated directory volume `data`, and the
// demo's record store as the managed service, acknowledging a record only
// once the peer has it (replica.flush over the control socket).
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type Lab, type LabHost } from './lab.js';
import { DIRECTORY_PORT, fencingLines, LAB_SECRET, replicationAddress } from './replication-config.js';
import { controlSocket, tandemConfig } from './tandem-config.js';

export const VIP = '192.0.2.100';
export const STORE_PORT = 8080;
export const STORE = join(REPO_ROOT, 'dist/scripts/demo-app/store.js');
export const CLIENT = join(REPO_ROOT, 'dist/scripts/demo-app/client.js');

export interface HaOptions {
  priority?: number; // default 150 on the first host, 50 on the others
  maxRetries?: number; // the store's restart budget
  minLifetime?: number; // seconds
  startTimeout?: number;
  standaloneAfter?: number;
  witness?: string;
  faultHold?: number;
  storeArgv?: string[]; // replaces the store (a service that fails on purpose)
  storeEnv?: Record<string, string>;
  quietStore?: boolean; // output to /dev/null: the store then survives its daemon (no broken pipe)
  extraVips?: string[]; // besides VIP/24
  fencePeer?: string; // fencing: resource-only with this fence_peer command
  extraServices?: string[]; // YAML lines of more services, after the store (each "  - name: ...")
}

export function dataPath(h: LabHost): string {
  return join(h.dir, 'data');
}

export function configPath(h: LabHost): string {
  return join(h.dir, 'tandem.yaml');
}

export function haConfig(lab: Lab, h: LabHost, o: HaOptions = {}): string {
  const others = lab.hosts.filter((x) => x !== h);
  const secretFile = lab.write(h, 'secret', `${LAB_SECRET}\n`);
  chmodSync(secretFile, 0o600);
  mkdirSync(dataPath(h), { recursive: true });
  const vrrp = tandemConfig(h, [{
    priority: o.priority ?? (lab.hosts.indexOf(h) === 0 ? 150 : 50), // far apart: Skew_Time decides a boot together
    advertInt: 0.3,
    nopreempt: true, // failback is manual (ESC): a node that comes back stays BACKUP
    garpMasterDelay: 1,
    unicastPeers: others.map((x) => x.ipv4),
    vips: [`${VIP}/24`, ...(o.extraVips ?? [])],
  }]);
  const plain = [
    process.execPath, STORE, '--dir', dataPath(h), '--listen', `0.0.0.0:${STORE_PORT}`,
    '--flush-socket', controlSocket(h), '--flush-volume', 'data',
  ];
  const store = o.storeArgv ?? (o.quietStore === true ? ['/bin/sh', '-c', `exec ${plain.join(' ')} >/dev/null 2>&1`] : plain);
  return [
    vrrp.trimEnd(),
    'replication:',
    `  secret_file: ${secretFile}`,
    '  volumes:',
    '    - name: data',
    '      type: directory',
    `      path: ${dataPath(h)}`,
    '      exclude: ["*.tmp"]',
    '      protocol: C',
    `      listen: "${replicationAddress(lab, h)}:${DIRECTORY_PORT}"`,
    '      peers:',
    ...others.map((p) => `        - { name: ${p.name}, address: "${replicationAddress(lab, p)}:${DIRECTORY_PORT}" }`),
    '      settle: 0.05',
    '      timeout: 3',
    '      ping_interval: 0.5',
    '      ping_timeout: 2',
    ...fencingLines(o.fencePeer),
    'services:',
    '  - name: store',
    `    command: ${JSON.stringify(store)}`,
    ...(o.storeEnv ? [`    env: ${JSON.stringify(o.storeEnv)}`] : []),
    '    requires: [data]',
    `    health: { http: "http://127.0.0.1:${STORE_PORT}/health", interval: 0.5, timeout: 0.4 }`,
    `    restart: { action: restart, max_retries: ${o.maxRetries ?? 3}, min_lifetime: ${o.minLifetime ?? 240} }`,
    `    start_timeout: ${o.startTimeout ?? 20}`,
    '    stop_timeout: 5',
    ...(o.extraServices ?? []),
    'startup:',
    ...(o.standaloneAfter !== undefined ? [`  standalone_after: ${o.standaloneAfter}`] : []),
    ...(o.witness !== undefined ? [`  witness: ${o.witness}`] : []),
    `  fault_hold: ${o.faultHold ?? 5}`,
    '',
  ].join('\n');
}
