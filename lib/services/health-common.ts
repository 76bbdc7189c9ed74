// What every health probe shares: the probe and result types, and the one
// AbortController a probe runs under (style habit 7). It is aborted by the
// probe's own timeout or by the caller's signal, and `end()` clears the timer
// and the listener, so nothing outlives the probe.

export type HealthProbe =
  | { kind: 'http'; url: string; timeoutMs: number } // healthy: a 2xx or 3xx answer within the timeout
  | { kind: 'tcp'; host: string; port: number; timeoutMs: number } // healthy: the connect succeeds within the timeout
  | { kind: 'exec'; argv: string[]; timeoutMs: number }; // healthy: exit status 0 within the timeout

export type HealthResult = { healthy: true; ms: number } | { healthy: false; ms: number; reason: string };

export const ABORTED = 'aborted';

export interface ProbeRun {
  readonly signal: AbortSignal; // aborted on timeout, on the caller's abort, or by end()
  timedOut(): boolean; // the probe's own timeout fired (not the caller)
  ms(): number; // milliseconds since the probe started
  ok(): HealthResult;
  fail(reason: string): HealthResult;
  end(): void; // idempotent; call once the probe has settled
}

export function startProbe(timeoutMs: number, outer?: AbortSignal): ProbeRun {
  const t0 = performance.now();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, Math.max(0, timeoutMs));
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const ms = (): number => Math.round(performance.now() - t0);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    ms,
    ok: () => ({ healthy: true, ms: ms() }),
    fail: (reason) => ({ healthy: false, ms: ms(), reason }),
    end: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      if (!controller.signal.aborted) controller.abort(new Error('probe ended'));
    },
  };
}

// Runs a socket probe: `body` starts the work and calls `settle` with the
// verdict; `onAbort` gives the verdict when the timeout or the caller's abort
// comes first. The first verdict wins; then the timer and listener are gone
// and every `release` registered by the body has run (sockets destroyed).
export function runProbe(
  timeoutMs: number,
  outer: AbortSignal | undefined,
  onAbort: (run: ProbeRun) => HealthResult,
  body: (run: ProbeRun, settle: (r: HealthResult) => void, release: (fn: () => void) => void) => void,
): Promise<HealthResult> {
  const run = startProbe(timeoutMs, outer);
  if (run.signal.aborted) {
    run.end();
    return Promise.resolve(run.fail(ABORTED));
  }
  return new Promise((resolve) => {
    const releases: (() => void)[] = [];
    let settled = false;
    const settle = (r: HealthResult): void => {
      if (settled) return;
      settled = true;
      run.signal.removeEventListener('abort', abort);
      run.end();
      for (const fn of releases) fn();
      resolve(r);
    };
    const abort = (): void => settle(onAbort(run));
    run.signal.addEventListener('abort', abort, { once: true });
    body(run, settle, (fn) => releases.push(fn));
  });
}

// One line for the reason: the first non-empty line, capped so a log line stays a line.
export function firstLine(text: string, max = 200): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max)}...` : line;
}

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

// The tail of a reason for a socket error: "refused (ECONNREFUSED)",
// "failed: socket hang up (ECONNRESET)", ...
export function describeNetError(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return `refused (${code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `unreachable (${code})`;
    default:
      return `failed: ${firstLine(message)}${code !== undefined && !message.includes(code) ? ` (${code})` : ''}`;
  }
}
