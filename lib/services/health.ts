// Health probes of a managed service (issue 5): run one check once and get a
// typed verdict; a failed check never throws. The HealthTracker turns a run of
// verdicts into healthy / unhealthy with rise and fall.
import { probeExec } from './health-exec.js';
import { probeHttp } from './health-http.js';
import { probeTcp } from './health-tcp.js';
import type { HealthProbe, HealthResult } from './health-common.js';

export type { HealthProbe, HealthResult } from './health-common.js';
export { HealthTracker, type HealthChange, type HealthState, type HealthTrackerOptions } from './health-tracker.js';

export function probe(p: HealthProbe, signal?: AbortSignal): Promise<HealthResult> {
  switch (p.kind) {
    case 'http':
      return probeHttp(p, signal);
    case 'tcp':
      return probeTcp(p, signal);
    case 'exec':
      return probeExec(p, signal);
  }
}

