// Tries an operation again while it fails with a transient TandemError (one
// that says a retry may succeed), every `everyMs`, until it succeeds, fails
// otherwise, or the signal aborts: then the last refusal is what it throws.
import { setTimeout as sleep } from 'node:timers/promises';
import { TandemError } from '../errors.js';

export async function retryTransient<T>(op: () => Promise<T>, signal: AbortSignal, everyMs: number): Promise<T> {
  for (;;) {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof TandemError) || !e.transient || signal.aborted) throw e;
    }
    await sleep(everyMs, undefined, { signal }).catch(() => undefined); // aborted: one last try names the reason
  }
}
