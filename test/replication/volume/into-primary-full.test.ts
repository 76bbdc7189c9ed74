// A peer with no bits for a stale Primary may still hold newer data: after a full-sync verdict (rule 8) it has no
// bitmap entry for the Primary, and a SyncTarget never marks what its resync brings. The link waits all the same.
import { expect } from 'chai';
import { DEFAULT_AFTER_SB } from '../../../lib/replication/after-sb.js';
import { onNewVolume, onPromoteWhileDisconnected, onResyncFinished, type Generations } from '../../../lib/replication/generations.js';
import { decideConnect } from '../../../lib/replication/volume/handshake-decision.js';
import type { PeerState } from '../../../lib/replication/volume/wire.js';

const st = (generations: Generations, o: Partial<PeerState> = {}): PeerState => ({
  role: 'Secondary', disk: 'UpToDate', size: 8 << 20, blockSize: 4096, protocol: 'C', changedBlocks: 0, discardMyData: false, feeds: [], generations, ...o,
});
const opts = { holdShared: true, staleBits: true, pauseIntoPrimary: true };

describe('replication/volume decideConnect: data bound into a Primary from a peer with no bits (a full-sync verdict)', () => {
  it('A stalled Primary; C took over and wrote W; B (stopped meanwhile) resynced W from C; C is gone; A connects to B', () => {
    // A, B, C in sync at G1 (after a forced first promotion).
    const g1 = onPromoteWhileDisconnected(onNewVolume(), ['node-b', 'node-c']);
    const a = g1;
    // B stops cleanly; A stalls (kill -STOP) without writing; C is promoted with A and B away: G2, entries for both at G1; C writes W.
    const c = onPromoteWhileDisconnected(g1, ['node-a', 'node-b']);
    // B comes back and resyncs W from C by bitmap (C's entry for B = G1 = B's current); as target it takes C's generation and drops entries.
    const b = onResyncFinished(g1, 'node-c', { asTarget: true, source: c });
    expect(b.current).to.equal(c.current);
    expect(Object.keys(b.bitmap)).to.deep.equal([]);
    // C dies. A resumes, still Primary, and connects to B. B holds W; its bitmap for A has no bits (W came by resync).
    const out = decideConnect(DEFAULT_AFTER_SB, 'node-a', st(a, { role: 'Primary' }), 'node-b', st(b, { changedBlocks: 0 }), opts);
    // An empty resync from A would give B A's generation while its blocks hold W: silent divergence. It waits instead.
    expect(out.kind, out.log).to.equal('paused');
  });
});
