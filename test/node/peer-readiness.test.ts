import { expect } from 'chai';
import { peerPrimaryFrom, peerReadyFrom } from '../../lib/node/peer-readiness.js';
import type { AnyVolumeStatus, PeerStatus } from '../../lib/replication/volume/status-types.js';

const vol = (name: string, peer: Partial<PeerStatus>): AnyVolumeStatus =>
  ({ name, type: 'block', peers: [{ name: 'node-b', connected: true, role: 'Secondary', disk: 'UpToDate', replication: 'Established', ...peer }] }) as unknown as AnyVolumeStatus;

describe('node/peer-readiness', () => {
  it('ready to take over: every volume connected, UpToDate, no resync', () => {
    expect(peerReadyFrom([vol('db', {})])).to.deep.equal({ ready: true, why: 'db UpToDate on the peer' });
    expect(peerReadyFrom([])).to.include({ ready: false });
    expect(peerReadyFrom([vol('db', { connected: false })]).why).to.equal('volume db is not connected to the peer');
    expect(peerReadyFrom([vol('db', { disk: 'Outdated' })]).why).to.equal('volume db on node-b is Outdated, not UpToDate');
    expect(peerReadyFrom([vol('db', { replication: 'SyncSource' })]).why).to.equal('volume db: SyncSource with node-b is running');
  });

  it('serving: Primary on the peer where connected; a link that is down leaves it to the VIP (a forced switchover waited 120 s)', () => {
    expect(peerPrimaryFrom([vol('db', { role: 'Primary' })])).to.deep.equal({ ready: true, why: 'db Primary on the peer' });
    expect(peerPrimaryFrom([vol('db', {})])).to.deep.equal({ ready: false, why: 'volume db is not Primary on the peer yet' });
    expect(peerPrimaryFrom([vol('db', { connected: false, role: 'Unknown' })])).to.deep.equal({ ready: true, why: 'db not checked (not connected to the peer)' });
    expect(peerPrimaryFrom([vol('db', { role: 'Primary' }), vol('logs', {})]).ready).to.equal(false);
    expect(peerPrimaryFrom([])).to.deep.equal({ ready: true, why: '' });
  });
});
