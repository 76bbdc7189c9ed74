// How long a service's start and stop can take at most, by kind (pure). A
// stop: stop_timeout plus what its driver adds after it; the conductor's stop
// step waits this long, so its timeout never fires while the driver is still
// ending the service, and the volumes are demoted only once it has ended. A
// start: start_timeout, then the stop of a run that did not come up, so the
// supervisor's reason (the last failed check) reaches the step, not "timed out".
import type { ServiceConfig } from '../config/types.js';

export const KILL_GRACE_MS = 1000; // runCommand: SIGTERM on timeout, then SIGKILL after this
export const QUERY_TIMEOUT_MS = 10_000; // systemctl gets stop_timeout plus this (systemd's own stop timeout is its business)
export const EXIT_MARGIN_MS = 2000; // a process SIGKILLed is reaped, its exit reported

export function stopWithinMs(s: { kind: ServiceConfig['kind']; stopTimeoutMs: number }): number {
  switch (s.kind) {
    case 'command': // SIGTERM, SIGKILL at stop_timeout, then the exit
      return s.stopTimeoutMs + EXIT_MARGIN_MS;
    case 'unit': // `systemctl stop` within stop_timeout + 10 s, then killed
      return s.stopTimeoutMs + QUERY_TIMEOUT_MS + KILL_GRACE_MS + EXIT_MARGIN_MS;
    case 'oneshot': // the stop command within stop_timeout, then killed
      return s.stopTimeoutMs + KILL_GRACE_MS + EXIT_MARGIN_MS;
  }
}

export const START_MARGIN_MS = 1000; // the supervisor's own start_timeout fires first

export function startWithinMs(s: { kind: ServiceConfig['kind']; startTimeoutMs: number; stopTimeoutMs: number }): number {
  return s.startTimeoutMs + START_MARGIN_MS + stopWithinMs(s);
}

// A service as the conductor's plan sees it: its name and the timeouts of its start and stop steps.
export function stepLimits(s: ServiceConfig): { name: string; startStepMs: number; stopStepMs: number } {
  return { name: s.name, startStepMs: startWithinMs(s), stopStepMs: stopWithinMs(s) };
}
