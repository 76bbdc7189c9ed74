// Exec health probe: healthy on exit status 0 within the timeout. It runs
// through runCommand (exec.ts) as an argv, without a shell, and its whole
// process group is killed once it exits, so a grandchild it left behind (a
// `sh -c 'x &'`) neither outlives the probe nor holds its output open. A
// failure is explained by the first line of stderr, else of stdout.
import { runCommand } from './exec.js';
import { ABORTED, firstLine, type HealthResult } from './health-common.js';

export async function probeExec(p: { argv: string[]; timeoutMs: number }, signal?: AbortSignal): Promise<HealthResult> {
  const t0 = performance.now();
  const fail = (reason: string): HealthResult => ({ healthy: false, ms: Math.round(performance.now() - t0), reason });
  const [file, ...args] = p.argv;
  if (file === undefined || file === '') return fail('exec probe has an empty command');
  if (signal?.aborted) return fail(ABORTED);
  const timeoutMs = Math.max(1, Math.round(p.timeoutMs));
  const r = await runCommand(file, args, { timeoutMs, direct: true, reapGroup: true, keepStdout: true, ...(signal ? { signal } : {}) });
  if (signal?.aborted) return fail(ABORTED);
  if (r.timedOut) return fail(`${file} killed after ${p.timeoutMs} ms timeout`);
  if (r.startError !== null) return fail(`${file} could not start (${r.startError})`);
  const said = firstLine(r.output) || firstLine(r.stdout);
  const tail = said ? `: ${said}` : '';
  if (r.exitCode === 0) return { healthy: true, ms: Math.round(performance.now() - t0) };
  if (r.exitCode !== null) return fail(`${file} exited with status ${r.exitCode}${tail}`);
  return fail(`${file} killed by ${r.signal ?? 'a signal'}${tail}`);
}
