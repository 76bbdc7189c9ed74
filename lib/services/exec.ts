// The one way tandem starts a short-lived command (track scripts, notify
// scripts): through /bin/sh -c in a process group of its own, so a timeout
// or shutdown ends the whole group (SIGTERM, then SIGKILL after a grace),
// including children the shell forked. The result comes on exit and never
// throws; output is not collected beyond a short tail of stderr for the log.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface CommandResult {
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  output: string; // the tail of stderr, for the log line
}

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
  onStdout?: (line: string) => void; // stdout is read only when asked for (systemctl show / is-active)
}

const KILL_GRACE_MS = 1000;
const TAIL_BYTES = 500;

export function runCommand(command: string, args: string[], options: RunOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    let tail = '';
    let timedOut = false;
    let settled = false;
    const finish = (r: CommandResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const child = spawn('/bin/sh', ['-c', args.length > 0 ? `${command} "$@"` : command, 'sh', ...args], {
      detached: true, // its own process group: killable as a whole
      stdio: ['ignore', options.onStdout ? 'pipe' : 'ignore', 'pipe'],
      env: options.env ?? process.env,
    });
    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // the group is gone already
      }
    };
    let killer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      killGroup('SIGTERM');
      killer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = (): void => stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.onStdout && child.stdout) createInterface({ input: child.stdout }).on('line', options.onStdout);
    child.stderr?.on('data', (d: Buffer) => {
      tail = (tail + d.toString('utf8')).slice(-TAIL_BYTES);
    });
    child.on('error', (err) => finish({ ok: false, exitCode: null, signal: null, timedOut, output: err.message }));
    // 'exit', not 'close': a grandchild holding stderr open must not delay the verdict.
    // With stdout wanted, wait for 'close' so its last line is read (a short query, not a daemon).
    child.on(options.onStdout ? 'close' : 'exit', (code: number | null, sig: NodeJS.Signals | null) => {
      // Leftover children of a shell that exited on its own still go with the group.
      if (timedOut || options.signal?.aborted) killGroup('SIGKILL');
      finish({ ok: !timedOut && code === 0, exitCode: code, signal: sig, timedOut, output: tail.trim() });
    });
  });
}

export function describeResult(r: CommandResult): string {
  if (r.timedOut) return 'timed out';
  if (r.signal !== null) return `killed by ${r.signal}`;
  if (r.exitCode === null) return `could not start${r.output ? `: ${r.output}` : ''}`;
  return `exit ${r.exitCode}${r.output ? `: ${r.output}` : ''}`;
}
