// The Election interface over one instance of the VRRP engine: holds, step-
// downs and faults become the state machine's own events (docs/vrrp-state-machine.md).
import type { VrrpEngine } from '../vrrp/engine/engine.js';
import type { Election, ElectionRole } from './election.js';

export class VrrpElection implements Election {
  constructor(private readonly engine: VrrpEngine, readonly group: string) {}

  role(): ElectionRole {
    return this.engine.view(this.group).state;
  }

  hold(reason: string, on: boolean): void {
    this.engine.hold(this.group, reason, on);
  }

  stepDown(reason: string): void {
    this.engine.stepDown(this.group, reason);
  }

  fault(reason: string, on: boolean): void {
    this.engine.setFault(this.group, reason, on);
  }

  peerHeard(): boolean {
    return this.engine.view(this.group).peerHeard;
  }

  masterAddress(): string | null {
    return this.engine.view(this.group).masterIp;
  }

  ownAddress(): string {
    return this.engine.view(this.group).sourceIp;
  }
}
