// Where the CLI finds the daemon: --socket, else the config file's
// node.control_socket, else the default.
import { loadConfigFile, formatIssues } from '../config/load.js';
import { EX_CONFIG, TandemError } from '../errors.js';

export const DEFAULT_CONFIG = '/etc/tandem/tandem.yaml';
export const DEFAULT_SOCKET = '/run/tandem/control.sock';

export async function resolveSocket(opts: { socket?: string; config?: string }): Promise<string> {
  if (opts.socket !== undefined) return opts.socket;
  if (opts.config === undefined) return process.env.TANDEM_SOCKET ?? DEFAULT_SOCKET;
  const r = await loadConfigFile(opts.config);
  if (!r.ok) {
    throw Object.assign(new TandemError('CONFIG_INVALID', formatIssues(r.issues, opts.config)), { exitCode: EX_CONFIG });
  }
  return r.config.node.controlSocket;
}
