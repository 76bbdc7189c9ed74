// The one way tandem starts a short-lived command (track scripts, notify
// scripts): through /bin/sh -c, with a timeout that sends SIGTERM then
// SIGKILL, and a result that never throws.
import { execa } from 'execa';

export interface CommandResult {
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  output: string; // the tail of stderr/stdout, for the log line
}

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

const KILL_GRACE_MS = 1000;

export async function runCommand(command: string, args: string[], options: RunOptions): Promise<CommandResult> {
  const r = await execa('/bin/sh', ['-c', args.length > 0 ? `${command} "$@"` : command, 'sh', ...args], {
    reject: false,
    timeout: options.timeoutMs,
    forceKillAfterDelay: KILL_GRACE_MS,
    cancelSignal: options.signal,
    stdin: 'ignore',
    all: true,
    maxBuffer: 64 * 1024,
    env: options.env,
  });
  const text = typeof r.all === 'string' ? r.all : '';
  return {
    ok: !r.failed && r.exitCode === 0,
    exitCode: r.exitCode ?? null,
    signal: r.signal ?? null,
    timedOut: r.timedOut,
    output: text.slice(-500).trim(),
  };
}

export function describeResult(r: CommandResult): string {
  if (r.timedOut) return 'timed out';
  if (r.signal !== null) return `killed by ${r.signal}`;
  if (r.exitCode === null) return `could not start${r.output ? `: ${r.output}` : ''}`;
  return `exit ${r.exitCode}${r.output ? `: ${r.output}` : ''}`;
}
