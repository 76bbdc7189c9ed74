// Per-instance counters, keepalived's SIGUSR2 set plus one per drop reason.
import { DROP_REASONS, WARNINGS, type DropReason, type Warning } from '../packet/reasons.js';

export interface InstanceStats {
  advert_rcvd: number;
  advert_sent: number;
  become_master: number;
  release_master: number;
  pri_zero_rcvd: number;
  pri_zero_sent: number;
  send_errors: number;
  dropped: Record<DropReason, number>;
  warnings: Record<Warning, number>;
}

export function newStats(): InstanceStats {
  return {
    advert_rcvd: 0,
    advert_sent: 0,
    become_master: 0,
    release_master: 0,
    pri_zero_rcvd: 0,
    pri_zero_sent: 0,
    send_errors: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
    warnings: Object.fromEntries(WARNINGS.map((w) => [w, 0])) as Record<Warning, number>,
  };
}
