// How long a stopping daemon may take, from its configuration: every service's
// stop step (stop_timeout and what its driver adds: lib/services/step-limits.ts),
// every volume's demote, and the rest. Told to systemd as EXTEND_TIMEOUT_USEC
// at STOPPING=1, so a unit's fixed TimeoutStopSec never SIGKILLs a hand-over
// that is still within its own steps' timeouts. Pure.
import type { TandemConfig } from '../config/types.js';
import { stopWithinMs } from '../services/step-limits.js';
import { VOLUME_STEP_MS } from './ha-plan.js';

export const STOP_SLACK_MS = 15_000; // priority 0 adverts, VIP removal, notify scripts, the control socket

export function stopBudgetMs(cfg: Pick<TandemConfig, 'services' | 'replication'>): number {
  const services = cfg.services.reduce((ms, s) => ms + stopWithinMs(s), 0);
  return services + cfg.replication.volumes.length * VOLUME_STEP_MS + STOP_SLACK_MS;
}
