// Drives the boot gate (boot-gate.ts) for one resource group: while WAITING
// the election holds the group out of MASTER; observations are taken every
// second (the peer's adverts or a replication link, the witness's ping
// answer, the volumes' disk states) until the gate says READY.
import type { StartupConfig } from '../config/types.js';
import { runCommand } from '../services/exec.js';
import { BootGate, type BootState } from './boot-gate.js';
import type { Election } from './election.js';

export const BOOT_HOLD = 'boot: waiting for the peer';
const TICK_MS = 1000;
const WITNESS_EVERY_MS = 3000;

export interface BootDeps {
  linkUp: () => boolean; // a replication link to the peer is connected
  // Calls back when a replication link connects: both nodes see that at the same moment, so
  // they leave WAITING together and the election (Skew_Time) decides, not the tick's phase.
  onLinkEvent?: (cb: () => void) => () => void;
  volumesUpToDate: () => boolean;
  log: { info(m: string): void; warn(m: string): void };
  emit: (type: string, fields: Record<string, unknown>) => void;
}

// One ping, one second: the witness is a third machine such as the gateway.
export async function pingOnce(address: string, signal?: AbortSignal): Promise<boolean> {
  const r = await runCommand('ping', ['-c', '1', '-W', '1', '-n', '-q', address], { timeoutMs: 3000, ...(signal ? { signal } : {}) });
  return r.ok;
}

export class BootDriver {
  private readonly gate: BootGate;
  private state: BootState = 'WAITING';
  private reason = 'starting';
  private timer: NodeJS.Timeout | null = null;
  private witnessAnswered = false;
  private witnessAt = 0;
  private readonly stopped = new AbortController();

  constructor(private readonly cfg: StartupConfig, private readonly election: Election, private readonly deps: BootDeps) {
    this.gate = new BootGate({ standaloneAfterMs: cfg.standaloneAfterMs ?? null, witness: cfg.witness ?? null }, Date.now());
  }

  // Before the election starts: the hold must be in place when the first timer could fire.
  start(): void {
    this.election.hold(BOOT_HOLD, true);
    const off = this.deps.onLinkEvent?.(() => void this.observe());
    if (off) this.stopped.signal.addEventListener('abort', off, { once: true });
    this.deps.log.info(`${this.election.group}: boot gate WAITING: serving nothing until the peer is heard`);
    this.tick();
  }

  // READY from the start, with the reason shown in status.
  skip(reason: string): void {
    this.state = 'READY';
    this.reason = reason;
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped.signal.aborted) return;
    void this.observe().then(() => {
      if (this.state === 'WAITING' && !this.stopped.signal.aborted) this.timer = setTimeout(() => this.tick(), TICK_MS);
    });
  }

  private async observe(): Promise<void> {
    if (this.state === 'READY') return;
    const w = this.cfg.witness;
    if (w !== undefined && Date.now() - this.witnessAt >= WITNESS_EVERY_MS) {
      this.witnessAt = Date.now();
      this.witnessAnswered = await pingOnce(w, this.stopped.signal);
    }
    if (this.stopped.signal.aborted) return;
    const v = this.gate.step(Date.now(), {
      peerHeard: this.election.peerHeard() || this.deps.linkUp(),
      witnessAnswered: this.witnessAnswered,
      volumesUpToDate: this.deps.volumesUpToDate(),
    });
    this.reason = v.reason;
    if (v.state === 'READY' && this.state === 'WAITING') {
      this.state = 'READY';
      this.deps.log.info(`${this.election.group}: boot gate READY: ${v.reason}`);
      this.deps.emit('ha.boot', { group: this.election.group, state: 'READY', reason: v.reason });
      this.election.hold(BOOT_HOLD, false);
    }
  }

  status(): { state: BootState; reason: string } {
    return { state: this.state, reason: this.reason };
  }

  stop(): void {
    this.stopped.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
