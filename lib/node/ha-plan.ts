// The steps that carry out a role change of one resource group (issue 5 "The
// conductor"), in order, each with its timeout. Pure: the conductor runs them
// one by one and, when one fails or times out, runs undo() of the steps that
// completed and goes FAULT (priority 0: the peer takes over).
//
//   becoming MASTER: promote volumes -> start services in order (each until
//                    healthy) -> add VIPs -> announce -> notify
//   leaving MASTER:  remove VIPs -> stop services in reverse -> demote volumes -> notify
//
// Clients never reach a VIP with no healthy service behind it: the VIPs come
// last going up and first going down.

export type HaState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

// The step timeouts: start_timeout and stop_timeout plus what the service's kind needs after them
// (lib/services/step-limits.ts), so a step never gives up while the service is still being started or ended.
export interface PlanService {
  name: string;
  startStepMs: number;
  stopStepMs: number;
}

export interface PlanGroup {
  volumes: readonly string[]; // promoted in this order, demoted in reverse
  services: readonly PlanService[]; // started in this order, stopped in reverse
  vips: boolean; // the group has VIPs to add / remove
}

export const VOLUME_STEP_MS = 30_000; // promote waits for a running resync handshake at most this long
export const VIP_STEP_MS = 5_000;
export const NOTIFY_STEP_MS = 10_000;

export type Step =
  | { kind: 'promote'; volume: string; timeoutMs: number }
  | { kind: 'demote'; volume: string; timeoutMs: number }
  | { kind: 'start'; service: string; timeoutMs: number }
  | { kind: 'stop'; service: string; timeoutMs: number }
  | { kind: 'add-vips'; timeoutMs: number }
  | { kind: 'announce'; timeoutMs: number }
  | { kind: 'remove-vips'; timeoutMs: number }
  | { kind: 'notify'; state: HaState; timeoutMs: number };

export function becomeMaster(g: PlanGroup): Step[] {
  return [
    ...g.volumes.map((volume): Step => ({ kind: 'promote', volume, timeoutMs: VOLUME_STEP_MS })),
    ...g.services.map((s): Step => ({ kind: 'start', service: s.name, timeoutMs: s.startStepMs })),
    ...(g.vips ? [{ kind: 'add-vips', timeoutMs: VIP_STEP_MS } as const, { kind: 'announce', timeoutMs: VIP_STEP_MS } as const] : []),
    { kind: 'notify', state: 'MASTER', timeoutMs: NOTIFY_STEP_MS },
  ];
}

// Leaving MASTER for BACKUP, FAULT or STOP: everything a MASTER holds is let go, VIPs first.
export function leaveMaster(g: PlanGroup, to: Exclude<HaState, 'MASTER'>): Step[] {
  return [
    ...(g.vips ? [{ kind: 'remove-vips', timeoutMs: VIP_STEP_MS } as const] : []),
    ...[...g.services].reverse().map((s): Step => ({ kind: 'stop', service: s.name, timeoutMs: s.stopStepMs })),
    ...[...g.volumes].reverse().map((volume): Step => ({ kind: 'demote', volume, timeoutMs: VOLUME_STEP_MS })),
    { kind: 'notify', state: to, timeoutMs: NOTIFY_STEP_MS },
  ];
}

// The steps that take back what `done` (completed steps of becomeMaster, in order) set up, newest first.
// Announcing and notifying leave nothing to take back.
export function undo(done: readonly Step[], g: PlanGroup): Step[] {
  const out: Step[] = [];
  for (const s of [...done].reverse()) {
    if (s.kind === 'promote') out.push({ kind: 'demote', volume: s.volume, timeoutMs: VOLUME_STEP_MS });
    else if (s.kind === 'start') {
      const svc = g.services.find((x) => x.name === s.service);
      out.push({ kind: 'stop', service: s.service, timeoutMs: svc?.stopStepMs ?? VOLUME_STEP_MS });
    }
    else if (s.kind === 'add-vips') out.push({ kind: 'remove-vips', timeoutMs: VIP_STEP_MS });
  }
  return out;
}

// One line for logs and the status's transition history: "promote db", "start app (60 s)".
export function describeStep(s: Step): string {
  const secs = `${s.timeoutMs / 1000} s`;
  switch (s.kind) {
    case 'promote':
    case 'demote':
      return `${s.kind} ${s.volume} (${secs})`;
    case 'start':
    case 'stop':
      return `${s.kind} ${s.service} (${secs})`;
    case 'notify':
      return `notify ${s.state} (${secs})`;
    default:
      return `${s.kind} (${secs})`;
  }
}
