// Polling until a condition holds, for the lab, the demo and the tests: one
// poller, whose error names what it waited for and the last error seen.
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Resolves with check()'s first value that is not undefined / false; fails after timeoutMs.
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 25): Promise<T> {
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
