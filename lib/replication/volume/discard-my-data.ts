// `tandem replica discard-my-data NAME` for a volume of either kind (drbdadm
// connect --discard-my-data): it counts for the next connect with each peer
// that is not connected now (the one a split brain left StandAlone), and for
// nothing else. That connect uses it up and a promotion drops it, so it can
// never resolve a later split brain that nobody has looked at.
import { TandemError } from '../../errors.js';
import type { VolumeLog } from './host.js';

export interface DiscardPeer {
  readonly name: string;
  readonly connected: boolean;
  readonly handshaking: boolean;
  discardMine: boolean; // sent in our STATE at the next connect with this peer
  reconnect(detail: string): void;
}

// Arms it for the peers not connected and logs which; throws DISCARD_REFUSED when there is none, or on a Primary.
export function armDiscardMyData(volume: string, role: 'Primary' | 'Secondary', peers: Iterable<DiscardPeer>, log: VolumeLog): void {
  if (role === 'Primary') throw new TandemError('DISCARD_REFUSED', `${volume} is Primary: make it Secondary first, then discard its data`);
  const waiting = [...peers].filter((p) => !p.connected);
  if (waiting.length === 0) {
    throw new TandemError('DISCARD_REFUSED', `${volume}: every peer is connected, so no split brain waits to be resolved; discard-my-data counts only for the next connect with a peer that is StandAlone or Connecting (to replace this node's data from a connected peer, use invalidate)`);
  }
  for (const p of waiting) {
    p.discardMine = true;
    // Its handshake may have sent our STATE without the flag: start it again with it.
    if (p.handshaking) p.reconnect('discard-my-data: connecting again with it');
  }
  log.info(`${volume}: discard-my-data: at the next connect with ${waiting.map((p) => p.name).join(', ')}, a split brain resolves against this node`);
}

// A promotion: this node's data is what the application uses now, so it is not to be discarded.
export function dropDiscardMyData(peers: Iterable<DiscardPeer>): void {
  for (const p of peers) p.discardMine = false;
}
