// Whether a volume may become Primary (promote-check.ts), in memory: each
// refusal with its reason, and the resync's reason before the disk's.
import { expect } from 'chai';
import { TandemError } from '../../../lib/errors.js';
import { onNewVolume } from '../../../lib/replication/generations.js';
import { promotion, type PeerView } from '../../../lib/replication/volume/promote-check.js';

const peer = (over: Partial<PeerView> = {}): PeerView => ({ name: 'node-b', peerRole: 'Secondary', replication: 'Established', connected: true, ...over });
const refusal = (f: () => unknown): TandemError => {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(TandemError);
    return e as TandemError;
  }
  return expect.fail('not refused');
};

describe('replicated volume: promote check', () => {
  const g = onNewVolume();
  it('a SyncTarget in the middle of a resync hears that, not the disk state, and --force does not change it', () => {
    for (const force of [false, true]) {
      const e = refusal(() => promotion('db', 'Inconsistent', force, g, [peer({ replication: 'SyncTarget' })]));
      expect(e.message).to.equal('db: a resync from node-b is running; promote once it has finished');
      expect(e.transient).to.equal(true);
    }
  });
  it('a disk that is not UpToDate, and a peer that is Primary, are refused with their reasons', () => {
    expect(refusal(() => promotion('db', 'Outdated', false, g, [peer()])).message).to.include('the disk is Outdated');
    const two = refusal(() => promotion('db', 'UpToDate', false, g, [peer({ peerRole: 'Primary' })]));
    expect(two.message).to.equal('db: node-b is Primary; make it Secondary first (one Primary per volume)');
  });
  it('an UpToDate disk with Secondary peers may; forced, a new volume begins a generation', () => {
    expect(promotion('db', 'UpToDate', false, { ...g, fresh: false }, [peer()]).forced).to.equal(false);
    const f = promotion('db', 'Inconsistent', true, g, [peer()]);
    expect(f.forced).to.equal(true);
    expect(f.generations.current).to.not.equal(g.current);
  });
});
