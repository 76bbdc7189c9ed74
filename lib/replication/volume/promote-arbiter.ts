// One Primary per volume, agreed on the link (DRBD 9's two-phase state change
// for a promotion: P_TWOPC_PREPARE, YES / NO, then COMMIT or ABORT). A node
// asks every connected peer before it becomes Primary; a peer grants at most
// one such request at a time and holds it until the requester is Primary (its
// STATE says so), gives up (PROMOTE_ABORT), goes away, or the hold expires.
// Pure: time is an argument.
//
// | our side                                   | a peer's PROMOTE_REQUEST gets                  |
// |--------------------------------------------|------------------------------------------------|
// | Primary                                    | refused: we are Primary                        |
// | asking ourselves, our name sorts first     | refused: we are becoming Primary               |
// | asking ourselves, the peer's sorts first   | granted (the peer refuses ours: one wins)      |
// | holding a grant for another peer           | refused: that peer is becoming Primary         |
// | holding a grant for this peer (a retry)    | granted again, the hold renewed                |
// | Secondary, nothing held or asked           | granted, held                                  |
//
// | our own promotion                          | may ask the peers?                             |
// |--------------------------------------------|------------------------------------------------|
// | holding a grant for a peer                 | no: that peer is becoming Primary (transient)  |
// | otherwise                                  | yes                                            |

export type PromoteVerdict = { grant: true } | { grant: false; reason: string };

interface Hold {
  peer: string;
  id: bigint;
  until: number;
}

export class PromoteArbiter {
  private asking = 0; // our own promotions asking now
  private hold: Hold | null = null;
  private lastId = 0n;

  constructor(private readonly node: string, private readonly holdMs: number) {}

  // Our own promotion starts asking: the request's id, or why it may not now.
  begin(now: number): { ok: true; id: bigint } | { ok: false; reason: string } {
    const h = this.current(now);
    if (h !== null) return { ok: false, reason: `${h.peer} is becoming Primary` };
    this.asking++;
    return { ok: true, id: ++this.lastId };
  }

  // Our own promotion has its answers (whatever they were).
  end(): void {
    this.asking = Math.max(0, this.asking - 1);
  }

  answer(peer: string, id: bigint, role: 'Primary' | 'Secondary', now: number): PromoteVerdict {
    if (role === 'Primary') return { grant: false, reason: `${this.node} is Primary` };
    // Two nodes asking at once: the name that sorts first wins, so exactly one of them goes on.
    if (this.asking > 0 && this.node < peer) return { grant: false, reason: `${this.node} is becoming Primary itself` };
    const h = this.current(now);
    if (h !== null && h.peer !== peer) return { grant: false, reason: `${h.peer} is becoming Primary` };
    this.hold = { peer, id, until: now + this.holdMs };
    return { grant: true };
  }

  // The peer's request is over: it is Primary now (its STATE), it gave up
  // (`id` of that request), or its link is gone (no `id`: whatever it held).
  release(peer: string, id?: bigint): void {
    if (this.hold !== null && this.hold.peer === peer && (id === undefined || this.hold.id === id)) this.hold = null;
  }

  // The peer we granted, if the grant still holds.
  holder(now: number): string | null {
    return this.current(now)?.peer ?? null;
  }

  private current(now: number): Hold | null {
    if (this.hold !== null && now >= this.hold.until) this.hold = null;
    return this.hold;
  }
}
