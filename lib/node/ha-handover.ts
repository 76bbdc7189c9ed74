// Clean hand-overs of a resource group (issue 5): `tandem switchover` (ESC's
// manual switch-over) and `tandem maintenance on|off` (Kea's
// ha-maintenance-start). Both refuse, with the reason, to leave MASTER when
// the peer could not take over (not connected, or its volumes not UpToDate),
// unless forced, and both wait until the peer serves: a MASTER whose peer
// does not take over stays MASTER. Maintenance is kept in the state
// directory: a node rebooted for maintenance stays out of MASTER until
// `maintenance off`.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TandemError } from '../errors.js';
import type { Election } from './election.js';
import type { HaGroup } from './ha-group.js';
import type { Readiness } from './peer-readiness.js';

export const MAINTENANCE_HOLD = 'maintenance (tandem maintenance on)';
const POLL_MS = 100;

export interface HandoverDeps {
  stateDir: string;
  peerReady: () => Readiness; // the peer could take over now (volumes connected, peer UpToDate)
  peerServing: (signal: AbortSignal) => Promise<Readiness>; // the peer is MASTER and serves (volumes Primary, VIP answers)
  log: { info(m: string): void; warn(m: string): void };
  emit: (type: string, fields: Record<string, unknown>) => void;
}

export interface SwitchoverResult {
  group: string;
  new_master: string;
  ms: number;
  checked: string;
}

export class Handover {
  private maintenanceOn = false;
  private switching = false;
  private maintenanceQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly group: HaGroup, private readonly election: Election, private readonly deps: HandoverDeps) {}

  private get file(): string {
    return join(this.deps.stateDir, `maintenance-${this.election.group}`);
  }

  get maintenance(): boolean {
    return this.maintenanceOn;
  }

  // At start: a node left in maintenance stays there.
  async restore(): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch(() => null);
    if (text === null) return;
    this.maintenanceOn = true;
    this.election.hold(MAINTENANCE_HOLD, true);
    this.deps.log.warn(`${this.election.group}: in maintenance since ${text.trim()} (tandem maintenance off ends it)`);
  }

  private refuseUnlessReady(what: string, force: boolean): void {
    if (force) return;
    const r = this.deps.peerReady();
    if (!r.ready) throw new TandemError('PEER_NOT_READY', `${what} refused: the peer could not take over: ${r.why}; fix that first, or use --force to leave MASTER anyway`);
  }

  async switchover(force: boolean, timeoutMs: number): Promise<SwitchoverResult> {
    const g = this.election.group;
    if (this.election.role() !== 'MASTER') throw new TandemError('NOT_MASTER', `switchover refused: ${g} is ${this.election.role()} here; run it on the MASTER`);
    this.refuseUnlessReady('switchover', force);
    return this.handOver('switchover', timeoutMs);
  }

  // Steps down and waits until the peer is MASTER and serves. If nobody takes over, our down timer makes us
  // MASTER again and this throws: a peer held out of MASTER too (its own maintenance) is found so.
  private async handOver(what: 'switchover' | 'maintenance on', timeoutMs: number): Promise<SwitchoverResult> {
    const g = this.election.group;
    if (this.switching) throw new TandemError('SWITCHOVER_RUNNING', `a switchover of ${g} is already running`);
    this.switching = true;
    const t0 = Date.now();
    try {
      this.deps.emit('ha.switchover', { group: g, phase: 'started' });
      this.deps.log.info(`${g}: ${what}: letting go of the VIPs, services and volumes here, then handing MASTER to the peer`);
      const released = await this.group.release(`${what} (tandem ${what})`);
      if (!released) this.deps.log.warn(`${g}: ${what}: not everything was let go before the step-down (see the transition's steps); the step-down's leave tries again`);
      // Timed from here: letting go is bounded by its own steps' timeouts.
      const deadline = AbortSignal.timeout(timeoutMs);
      // Even a node that lost MASTER while letting go steps down: it must not preempt the peer back.
      this.election.stepDown(`${what} (tandem ${what})`);
      let last: Readiness = { ready: false, why: 'the peer has not claimed MASTER yet' };
      let claimed: string | null = null; // the peer that was MASTER meanwhile, if one was
      while (!deadline.aborted) {
        await sleep(POLL_MS);
        if (this.election.role() === 'MASTER') {
          const how = claimed === null
            ? 'the peer did not take over (is it in maintenance, or held out of MASTER?)'
            : `${claimed} became MASTER but gave it up before it served (last check: ${last.why})`;
          throw this.failed(what, 'SWITCHOVER_FAILED', `${what} failed after ${Date.now() - t0} ms: ${how}, and this node is MASTER again`);
        }
        const master = this.election.masterAddress();
        if (this.group.holding || master === null || master === this.election.ownAddress()) continue;
        claimed = master;
        last = await this.deps.peerServing(deadline).catch((e: Error) => ({ ready: false, why: e.message }));
        if (!last.ready) continue;
        const ms = Date.now() - t0;
        this.deps.emit('ha.switchover', { group: g, phase: 'done', new_master: master, ms });
        this.deps.log.info(`${g}: ${what}: done in ${ms} ms: ${master} is MASTER (${last.why})`);
        return { group: g, new_master: master, ms, checked: last.why };
      }
      throw this.failed(what, 'SWITCHOVER_TIMEOUT', `${what}: no serving MASTER after ${timeoutMs / 1000} s (${last.why}); this node stays BACKUP`);
    } finally {
      this.switching = false;
    }
  }

  // A hand-over that did not end with the peer serving: in the log and the event stream, as its start and success are.
  private failed(what: string, code: string, message: string): TandemError {
    const g = this.election.group;
    this.deps.log.warn(`${g}: ${message}`);
    this.deps.emit('ha.switchover', { group: g, phase: 'failed', what, error: message });
    return new TandemError(code, message);
  }

  // A MASTER hands over first (as switchover) unless forced, so `on` never leaves the group with nobody serving.
  // One change at a time: an `off` given while an `on` hands over applies after it, not before.
  setMaintenance(on: boolean, force: boolean, timeoutMs: number): Promise<{ group: string; maintenance: boolean; role: string }> {
    const next = this.maintenanceQueue.then(() => this.changeMaintenance(on, force, timeoutMs));
    this.maintenanceQueue = next.catch(() => undefined);
    return next;
  }

  private async changeMaintenance(on: boolean, force: boolean, timeoutMs: number): Promise<{ group: string; maintenance: boolean; role: string }> {
    const g = this.election.group;
    if (on && !this.maintenanceOn) {
      // A switchover under way has made this node BACKUP already: holding it now would skip the check that someone serves.
      if (this.switching) throw new TandemError('SWITCHOVER_RUNNING', `maintenance on refused: a switchover of ${g} is running; try again once it has ended`);
      const master = this.election.role() === 'MASTER' && !force;
      if (master) this.refuseUnlessReady('maintenance on', force);
      // Kept first: a node that handed over but could not record it would come back and serve after a restart.
      await writeFile(this.file, `${new Date().toISOString()}\n`, { mode: 0o600 });
      if (master) {
        try {
          await this.handOver('maintenance on', timeoutMs);
        } catch (e) {
          await rm(this.file, { force: true });
          throw e;
        }
      }
      // Forced on a MASTER: no check and no wait for the peer, but the same order as a hand-over (everything let
      // go while still MASTER), so the peer never runs a service beside ours.
      if (force && this.election.role() === 'MASTER') await this.group.release('maintenance on (tandem maintenance on --force)');
      this.maintenanceOn = true;
      this.election.hold(MAINTENANCE_HOLD, true);
      this.deps.emit('ha.maintenance', { group: g, on: true });
    } else if (!on && this.maintenanceOn) {
      await rm(this.file, { force: true });
      this.maintenanceOn = false;
      this.election.hold(MAINTENANCE_HOLD, false);
      this.deps.emit('ha.maintenance', { group: g, on: false });
    }
    return { group: g, maintenance: this.maintenanceOn, role: this.election.role() };
  }
}
