// Whether namespace tests can run here. By hand without root they skip with
// a reason; under CI=true a missing prerequisite fails the run instead.
import { execFileSync } from 'node:child_process';

export function has(cmd: string): boolean {
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

// The one way a test skips: by hand it skips saying why; under CI=true a skip is a failure.
export function skipOutsideCi(ctx: Mocha.Context, why: string): never {
  if (process.env.CI === 'true') throw new Error(`CI=true and this test cannot run: ${why}`);
  console.warn(`    skipped: ${why}`);
  ctx.skip();
}

// Call from a before() hook: skips the suite by hand, fails it in CI.
export function requireLab(ctx: Mocha.Context, extra: string[] = []): void {
  const why = labUnavailable(extra);
  if (why !== null) skipOutsideCi(ctx, `namespace suite: ${why}`);
}

// A command the test needs, with how to get it.
export function requireTool(ctx: Mocha.Context, cmd: string, hint: string): void {
  if (!has(cmd)) skipOutsideCi(ctx, `${cmd} is missing (${hint})`);
}

export { sleep, until as waitFor } from '../../scripts/lab/wait.js';
