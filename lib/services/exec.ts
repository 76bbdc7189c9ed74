// The one way tandem starts a short-lived command (track scripts, notify
// scripts, exec health probes, systemctl queries): in a process group of its
// own, so a timeout or shutdown ends the whole group (SIGTERM, then SIGKILL
// after a grace), including children the command forked. By default the
// command goes through /bin/sh -c with the arguments as "$@" (keepalived's
// scripts); `direct` runs an argv as given. The result comes on exit and
// never throws; output is kept only in short pieces, to explain a failure.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { KILL_GRACE_MS } from './step-limits.js';

export interface CommandResult {
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  startError: string | null; // the errno code when the command could not start (ENOENT, EACCES)
  output: string; // the tail of stderr, for the log line
  stdout: string; // the head of stdout, with keepStdout
}

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
  direct?: boolean; // run command with args as an argv, no shell
  reapGroup?: boolean; // SIGKILL the group once the command exits, also after success: nothing it started outlives it
  keepStdout?: boolean; // keep the first KEEP_BYTES of stdout in the result
  onStdout?: (line: string) => void; // stdout line by line (systemctl show / is-active)
}

const KEEP_BYTES = 500;
// After the exit, how long stdout may take to reach its end: a process that left the group (setsid) holding it
// would hold the verdict for its whole life (a health probe hung past every timeout).
export const STDOUT_DRAIN_MS = 200;

export function runCommand(command: string, args: string[], options: RunOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    let tail = '';
    let head = '';
    let timedOut = false;
    let settled = false;
    const finish = (r: Omit<CommandResult, 'stdout'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...r, stdout: head });
    };
    const readStdout = options.onStdout !== undefined || options.keepStdout === true;
    const [file, argv] = options.direct ? [command, args] : ['/bin/sh', ['-c', args.length > 0 ? `${command} "$@"` : command, 'sh', ...args]];
    const child = spawn(file, argv, {
      detached: true, // its own process group: killable as a whole
      stdio: ['ignore', readStdout ? 'pipe' : 'ignore', 'pipe'],
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
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.onStdout && child.stdout) createInterface({ input: child.stdout }).on('line', options.onStdout);
    if (options.keepStdout) {
      child.stdout?.on('data', (d: Buffer) => {
        if (head.length < KEEP_BYTES) head = (head + d.toString('utf8')).slice(0, KEEP_BYTES);
      });
    }
    child.stderr?.on('data', (d: Buffer) => {
      tail = (tail + d.toString('utf8')).slice(-KEEP_BYTES);
    });
    child.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, exitCode: null, signal: null, timedOut, startError: err.code ?? 'EUNKNOWN', output: err.message }));
    // 'exit', not 'close': a grandchild holding stderr open must not delay the verdict.
    child.on('exit', (code: number | null, sig: NodeJS.Signals | null) => {
      // Leftover children still go with the group: always for reapGroup, else after a timeout or abort.
      if (options.reapGroup || timedOut || options.signal?.aborted) killGroup('SIGKILL');
      const verdict = (): void => finish({ ok: !timedOut && code === 0, exitCode: code, signal: sig, timedOut, startError: null, output: tail.trim() });
      if (!readStdout || child.stdout === null || child.stdout.readableEnded) return verdict();
      // With stdout wanted, its last bytes are read first, for at most STDOUT_DRAIN_MS.
      const late = setTimeout(() => {
        child.stdout?.destroy();
        verdict();
      }, STDOUT_DRAIN_MS);
      child.stdout.once('close', () => {
        clearTimeout(late);
        verdict();
      });
    });
  });
}

export function describeResult(r: CommandResult): string {
  if (r.timedOut) return 'timed out';
  if (r.signal !== null) return `killed by ${r.signal}`;
  if (r.exitCode === null) return `could not start${r.output ? `: ${r.output}` : ''}`;
  return `exit ${r.exitCode}${r.output ? `: ${r.output}` : ''}`;
}
