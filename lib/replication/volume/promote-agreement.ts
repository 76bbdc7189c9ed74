// A promotion asks every connected peer first (promote-arbiter.ts), for block
// and directory volumes alike. Any refusal refuses the promotion (transient:
// it may clear, so the conductor's retry can try again); a peer that does not
// answer in time is dropped and counts as absent, as a dead peer would.
import { TandemError } from '../../errors.js';
import type { PromoteArbiter, PromoteVerdict } from './promote-arbiter.js';

export interface PromotePeer {
  readonly name: string;
  readonly connected: boolean;
  askPromotion(id: bigint, timeoutMs: number): Promise<PromoteVerdict | null>;
  abortPromotion(id: bigint): void;
}

export interface Agreement {
  // The promotion failed after the peers agreed: they release their grants now, not at expiry.
  abort(): void;
  // Connected peers that did not answer (dropped): absent now, as if never connected.
  silent: string[];
}

export async function agreePromotion(volume: string, arbiter: PromoteArbiter, peers: Iterable<PromotePeer>, timeoutMs: number): Promise<Agreement> {
  const begun = arbiter.begin(Date.now());
  if (!begun.ok) throw new TandemError('PROMOTE_REFUSED', `${volume}: ${begun.reason} (one Primary per volume)`, { transient: true });
  const { id } = begun;
  const asked = [...peers].filter((p) => p.connected);
  let verdicts: Array<PromoteVerdict | null>;
  try {
    verdicts = await Promise.all(asked.map((p) => p.askPromotion(id, timeoutMs)));
  } finally {
    arbiter.end();
  }
  const granted = asked.filter((_, i) => verdicts[i]?.grant === true);
  const abort = (): void => { for (const p of granted) p.abortPromotion(id); };
  const refusals = asked.flatMap((p, i) => {
    const v = verdicts[i];
    return v !== null && v !== undefined && !v.grant ? [`${p.name} refuses: ${v.reason}`] : [];
  });
  if (refusals.length > 0) {
    abort();
    throw new TandemError('PROMOTE_REFUSED', `${volume}: ${refusals.join('; ')} (one Primary per volume)`, { transient: true });
  }
  return { abort, silent: asked.filter((_, i) => verdicts[i] === null).map((p) => p.name) };
}

// A volume's promotion, whatever its kind: check, ask the peers, check again
// (the view may change while we ask), commit; a commit that fails is undone
// and the peers that granted it are freed at once.
export interface VolumePromotion<T> {
  volume: string;
  arbiter: PromoteArbiter;
  peers: Iterable<PromotePeer>;
  timeoutMs: number;
  isPrimary(): boolean;
  // Fencing (fence-peers.ts), throwing to refuse: first with [] for the peers
  // absent from the start, then with the peers dropped while we asked.
  fence(silent: string[]): Promise<void>;
  check(): T; // throws PROMOTE_REFUSED
  commit(verdict: T): Promise<void>; // becomes Primary and saves it
  undo(): Promise<void> | void; // the commit failed: as it was before commit()
}

// The check's verdict once Primary; null when a concurrent promotion finished while we asked.
export async function promoteAgreed<T>(o: VolumePromotion<T>): Promise<T | null> {
  await o.fence([]); // before the check: fencing may make a Consistent disk UpToDate, or ours Outdated
  o.check(); // refused here: nobody is asked
  const agreed = await agreePromotion(o.volume, o.arbiter, o.peers, o.timeoutMs);
  if (o.isPrimary()) return null;
  try {
    if (agreed.silent.length > 0) await o.fence(agreed.silent);
    const verdict = o.check();
    await o.commit(verdict);
    return verdict;
  } catch (e) {
    agreed.abort(); // the peers that granted it are free at once
    await o.undo();
    throw e;
  }
}
