// Exec health probe: healthy on exit status 0 within the timeout. On timeout
// or abort execa sends SIGTERM, then SIGKILL after KILL_GRACE_MS; stdout and
// stderr are kept up to OUTPUT_LIMIT bytes each, only to explain a failure.
//
// The check runs in a process group of its own (detached), and the whole
// group is SIGKILLed once the check itself has exited: a grandchild it left
// behind (a `sh -c 'x &'`) neither outlives the probe nor holds the output
// pipes open, which would keep execa waiting.
import { execa } from 'execa';
import { ABORTED, errorCode, firstLine, type HealthResult } from './health-common.js';

export const KILL_GRACE_MS = 1000;
export const OUTPUT_LIMIT = 4 * 1024;

function capture(stream: NodeJS.ReadableStream | null): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on('data', (chunk: Buffer) => {
    if (size >= OUTPUT_LIMIT) return; // keep reading, so the check never blocks on a full pipe
    const part = chunk.subarray(0, OUTPUT_LIMIT - size);
    chunks.push(part);
    size += part.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

export async function probeExec(p: { argv: string[]; timeoutMs: number }, signal?: AbortSignal): Promise<HealthResult> {
  const t0 = performance.now();
  const fail = (reason: string): HealthResult => ({ healthy: false, ms: Math.round(performance.now() - t0), reason });
  const [file, ...args] = p.argv;
  if (file === undefined || file === '') return fail('exec probe has an empty command');
  if (signal?.aborted) return fail(ABORTED);
  let child;
  try {
    child = execa(file, args, {
      timeout: Math.max(1, Math.round(p.timeoutMs)), // 0 would mean "no timeout" to execa
      ...(signal ? { cancelSignal: signal } : {}),
      killSignal: 'SIGTERM',
      forceKillAfterDelay: KILL_GRACE_MS,
      detached: true,
      reject: false,
      buffer: false,
      stdin: 'ignore',
    });
  } catch (err) {
    return fail(`${file} could not start: ${firstLine((err as Error).message)}`);
  }
  const pid = child.pid;
  child.once('exit', () => killGroup(pid));
  const stdout = capture(child.stdout);
  const stderr = capture(child.stderr);
  const r = await child;
  killGroup(pid); // also when 'exit' never came (the spawn failed)
  if (r.isCanceled) return fail(ABORTED);
  if (r.timedOut) return fail(`${file} killed after ${p.timeoutMs} ms timeout`);
  const said = firstLine(stderr()) || firstLine(stdout());
  const tail = said ? `: ${said}` : '';
  if (r.exitCode === 0) return { healthy: true, ms: Math.round(performance.now() - t0) };
  if (r.exitCode !== undefined) return fail(`${file} exited with status ${r.exitCode}${tail}`);
  if (r.signal !== undefined) return fail(`${file} killed by ${r.signal}${tail}`);
  return fail(`${file} could not start (${errorCode(r) ?? firstLine(r.originalMessage ?? r.message ?? 'unknown error')})`);
}
