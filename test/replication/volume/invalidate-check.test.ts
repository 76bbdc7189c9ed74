import { expect } from 'chai';
import { invalidateRefusal, type InvalidatePeer } from '../../../lib/replication/volume/invalidate-check.js';
import { REPLICATION_STATES, DISK_STATES } from '../../../lib/replication/states.js';

const peer = (o: Partial<InvalidatePeer> = {}): InvalidatePeer => ({ name: 'node-b', connected: true, handshaking: false, replication: 'Established', peerDisk: 'UpToDate', ...o });

describe('replica invalidate: when it is refused (pure)', () => {
  it('a Secondary connected in step with an UpToDate peer may invalidate', () => {
    expect(invalidateRefusal('Secondary', [peer()])).to.equal(null);
  });

  it('a Primary never', () => {
    expect(invalidateRefusal('Primary', [])).to.match(/is Primary/);
    expect(invalidateRefusal('Primary', [peer()])).to.match(/is Primary/);
  });

  it('disconnected it only marks the data Inconsistent: allowed, as DRBD\'s local invalidate', () => {
    expect(invalidateRefusal('Secondary', [])).to.equal(null);
    expect(invalidateRefusal('Secondary', [peer({ connected: false, replication: 'Off', peerDisk: 'DUnknown' })])).to.equal(null);
  });

  it('every replication state but Established on a connected link refuses: a resync, a paused one or a verify runs', () => {
    for (const r of REPLICATION_STATES) {
      const why = invalidateRefusal('Secondary', [peer({ name: 'node-c', replication: r })]);
      if (r === 'Established') expect(why, r).to.equal(null);
      else if (r === 'PausedSyncS' || r === 'PausedSyncT') expect(why, r).to.equal(`has a resync waiting with node-c (${r}): invalidate once it has ended`);
      else expect(why, r).to.equal(`has a resync or verify running with node-c (${r}): invalidate once it has ended`);
    }
  });

  it('connected peers, none UpToDate: refused, whatever their disks (the found bug: a SyncSource invalidated, no good copy left)', () => {
    for (const d of DISK_STATES) {
      const why = invalidateRefusal('Secondary', [peer({ peerDisk: d }), peer({ name: 'node-c', connected: false, replication: 'Off', peerDisk: 'DUnknown' })]);
      if (d === 'UpToDate') expect(why, d).to.equal(null);
      else expect(why, d).to.include(`has no connected peer with UpToDate data to take a full sync from (node-b ${d})`);
    }
  });

  it('a link in its connect handshake refuses: what the peer holds is not known yet (allowed before, a race with the only good copy)', () => {
    const meeting = peer({ connected: false, handshaking: true, replication: 'Off', peerDisk: 'DUnknown' });
    expect(invalidateRefusal('Secondary', [meeting])).to.equal('is in its connect handshake with node-b: try again once that has decided (tandem replica status)');
  });

  it('one UpToDate peer among several connected is enough; a busy link still refuses', () => {
    expect(invalidateRefusal('Secondary', [peer({ peerDisk: 'Outdated' }), peer({ name: 'node-c' })])).to.equal(null);
    expect(invalidateRefusal('Secondary', [peer(), peer({ name: 'node-c', replication: 'SyncSource', peerDisk: 'Inconsistent' })])).to.match(/node-c \(SyncSource\)/);
  });
});
