// A signal that aborts when `outer` does or after `ms`, whichever comes
// first. Not AbortSignal.any([outer, AbortSignal.timeout(ms)]): on Node 20
// that holds the timeout signal weakly, so a garbage collection before it
// fires loses the timeout (nodejs/node#57736). Here the timer holds the
// controller, and clear() (in the caller's finally) ends both.
export interface Deadline {
  signal: AbortSignal;
  timedOut(): boolean; // aborted by the timer, not by outer
  clear(): void;
}

export function deadline(ms: number, outer?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new Error(`timed out after ${ms / 1000} s`));
  }, ms);
  const onOuter = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}
