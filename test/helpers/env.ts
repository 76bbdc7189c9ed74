// Whether namespace tests can run here. By hand without root they skip with
// a reason; under CI=true a missing prerequisite fails the run instead.
import { execFileSync } from 'node:child_process';

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function labUnavailable(extra: string[] = []): string | null {
  if (process.getuid?.() !== 0) return 'namespace tests need root';
  const missing = ['ip', ...extra].filter((c) => !has(c));
  if (missing.length > 0) return `missing commands: ${missing.join(', ')} (run scripts/setup.sh)`;
  return null;
}

// Call from a before() hook: skips the suite by hand, fails it in CI.
export function requireLab(ctx: Mocha.Context, extra: string[] = []): void {
  const why = labUnavailable(extra);
  if (why === null) return;
  if (process.env.CI === 'true') throw new Error(`CI=true and the namespace suite cannot run: ${why}`);
  console.warn(`    skipped: ${why}`);
  ctx.skip();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Polls until check() returns a value that is not undefined/false, or fails
// with the message after timeoutMs.
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(everyMs);
  }
}
