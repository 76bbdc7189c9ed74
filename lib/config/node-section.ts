// `node`: who this machine is and where the daemon keeps its state and its
// control socket. Every key has a default, so the whole section may be absent.
import { Fields, mapping } from './checks.js';
import { absolutePath, isNodeName, nodeName, socketPath } from './names.js';
import type { Section } from './section.js';
import { checkKeys } from './suggest.js';
import type { NodeConfig } from './types.js';

export const NODE_KEYS = ['name', 'state_dir', 'control_socket'] as const;
export const DEFAULT_STATE_DIR = '/var/lib/tandem';
export const DEFAULT_CONTROL_SOCKET = '/run/tandem/control.sock';

export const nodeSection: Section<'node'> = {
  key: 'node',
  validate(raw, at, { issues, options }) {
    const obj = raw === undefined ? {} : mapping(raw, at, issues, `keys: ${NODE_KEYS.join(', ')}`);
    if (obj === undefined) return undefined;
    checkKeys(obj, NODE_KEYS, at, issues);
    const f = new Fields(obj, at, issues);
    let name = f.optional('name', nodeName);
    if (!f.has('name')) {
      name = options.hostname;
      // The default comes from the host, so say so rather than blame the file.
      if (!isNodeName(name)) {
        issues.error(f.path('name'), name, `defaults to the host name, which is not usable: set node.name to ${nodeName.allowed}`);
      }
    }
    const out: NodeConfig = {
      name: name ?? '',
      stateDir: f.withDefault('state_dir', absolutePath, DEFAULT_STATE_DIR),
      controlSocket: f.withDefault('control_socket', socketPath, DEFAULT_CONTROL_SOCKET),
    };
    return out;
  },
};
