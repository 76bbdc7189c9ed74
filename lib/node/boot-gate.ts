// Boot safety (issue 5; ESC's "Switching-to-Master", ha-policies.md): a node
// with HA configured that has not heard from its peer yet serves nothing.
// It leaves WAITING when it hears the peer (a VRRP advert or the replication
// link), when the optional witness answers, or when `standalone_after` has
// passed and every volume it would serve is UpToDate. Once READY it stays so.
// Pure: time and observations are arguments; the driver owns timers and
// probes, and asks again at `deadline`.
//
//   WAITING --peer heard------------------------------------------> READY
//   WAITING --witness answered (witness configured)--------------> READY
//   WAITING --now >= start + standalone_after, volumes UpToDate--> READY
//   READY   --anything--------------------------------------------> READY

export type BootState = 'WAITING' | 'READY';

export interface BootConfig {
  standaloneAfterMs: number | null; // null: wait for the peer (or the witness) forever
  witness: string | null; // an address; its answer lets the node start alone
}

export interface BootObservation {
  peerHeard: boolean;
  witnessAnswered: boolean; // meaningful only with a witness configured
  volumesUpToDate: boolean; // every volume this node would promote
}

export interface BootVerdict {
  state: BootState;
  reason: string; // for status and the log
  deadline: number | null; // when to ask again without a new observation
}

export class BootGate {
  private ready: string | null = null; // why it became READY

  constructor(private readonly cfg: BootConfig, private readonly startedAt: number) {}

  step(now: number, o: BootObservation): BootVerdict {
    if (this.ready === null) {
      if (o.peerHeard) this.ready = 'the peer was heard';
      else if (this.cfg.witness !== null && o.witnessAnswered) this.ready = `the peer was not heard, but the witness ${this.cfg.witness} answers: starting alone`;
      else if (this.cfg.standaloneAfterMs !== null && now - this.startedAt >= this.cfg.standaloneAfterMs && o.volumesUpToDate) {
        this.ready = `no word from the peer for ${this.cfg.standaloneAfterMs / 1000} s and every volume UpToDate: starting alone`;
      }
    }
    if (this.ready !== null) return { state: 'READY', reason: this.ready, deadline: null };
    return { state: 'WAITING', reason: this.waitingReason(now), deadline: this.deadline(now) };
  }

  private deadline(now: number): number | null {
    if (this.cfg.standaloneAfterMs === null) return null;
    const at = this.startedAt + this.cfg.standaloneAfterMs;
    return at > now ? at : null; // past it, only a new observation (volumes UpToDate) can change the verdict
  }

  private waitingReason(now: number): string {
    const parts = ['waiting for the peer (no VRRP advert or replication link yet)'];
    if (this.cfg.witness !== null) parts.push(`witness ${this.cfg.witness} not answering`);
    if (this.cfg.standaloneAfterMs === null) parts.push('no startup.standalone_after: waiting until the peer is heard');
    else {
      const left = this.startedAt + this.cfg.standaloneAfterMs - now;
      parts.push(left > 0 ? `starting alone in ${Math.ceil(left / 1000)} s if every volume is UpToDate` : 'standalone_after passed, but not every volume is UpToDate (a node with stale data must not start alone)');
    }
    return parts.join('; ');
  }
}
