// one-source.ts: which of a node's links count as its sources (feeds), and
// when a new source must wait. The decision's rows are in
// handshake-decision.test.ts; here the pieces, exhaustively.
import { expect } from 'chai';
import { describeFeed, feedsOf, FeedsTold, pauseReason, sameFeeds, type Feed, type FeedView } from '../../../lib/replication/volume/one-source.js';
import { REPLICATION_STATES } from '../../../lib/replication/states.js';

describe('replication/volume one source at a time', () => {
  it('feedsOf lists the running links that move data, never the recipient\'s own', () => {
    for (const replication of REPLICATION_STATES) {
      for (const peerRole of ['Primary', 'Secondary', 'Unknown']) {
        for (const linkUp of [true, false]) {
          const view: FeedView = { name: 'node-c', replication, peerRole, linkUp };
          const got = feedsOf([view], 'node-b');
          let want: Feed[] = [];
          if (linkUp && (replication === 'SyncSource' || replication === 'SyncTarget')) want = [{ peer: 'node-c', replication }];
          else if (linkUp && peerRole === 'Primary' && ['Established', 'VerifyS', 'VerifyT'].includes(replication)) want = [{ peer: 'node-c', replication: 'Established' }];
          expect(got, JSON.stringify(view)).to.deep.equal(want);
          expect(feedsOf([view], 'node-c'), 'the recipient itself').to.deep.equal([]);
        }
      }
    }
  });

  it('pauseReason: a target with any feed, or a source with a feed other than SyncSource, waits', () => {
    const kinds: Feed['replication'][] = ['SyncSource', 'SyncTarget', 'Established'];
    const lists: Feed[][] = [[], ...kinds.map((r) => [{ peer: 'node-c', replication: r }])];
    for (const t of lists) {
      for (const s of lists) {
        const why = pauseReason('node-b', t, 'node-a', s);
        const waits = t.length > 0 || s.some((f) => f.replication !== 'SyncSource');
        expect(why !== null, JSON.stringify({ t, s })).to.equal(waits);
        if (t[0] !== undefined) expect(why).to.equal(describeFeed('node-b', t[0]));
        else if (waits) expect(why).to.match(/^node-a .* and forwards none of it$/);
      }
    }
    expect(describeFeed('node-b', { peer: 'node-c', replication: 'Established' })).to.equal("node-b takes node-c's writes (Primary)");
    expect(describeFeed('node-b', { peer: 'node-c', replication: 'SyncTarget' })).to.equal('node-b is SyncTarget of node-c');
  });

  it('sameFeeds compares in order; absent equals only absent', () => {
    const f: Feed = { peer: 'node-c', replication: 'SyncTarget' };
    expect(sameFeeds([f], [{ ...f }])).to.equal(true);
    expect(sameFeeds([f], [{ ...f, replication: 'SyncSource' }])).to.equal(false);
    expect(sameFeeds([f], [])).to.equal(false);
    expect(sameFeeds(undefined, [])).to.equal(false);
    expect(sameFeeds(undefined, undefined)).to.equal(true);
  });

  it('FeedsTold: changed only when the feeds differ from those last told', () => {
    const told = new FeedsTold();
    const s = (replication: FeedView['replication'], peerRole = 'Secondary'): FeedView => ({ name: 'node-b', replication, peerRole, linkUp: true });
    expect(told.changed([]), 'none, as at the start').to.equal(false);
    expect(told.changed([s('SyncSource')])).to.equal(true);
    expect(told.changed([s('SyncSource')]), 'told already').to.equal(false);
    expect(told.changed([s('PausedSyncS')]), 'a paused link is no feed').to.equal(true);
    expect(told.changed([s('Established', 'Primary')])).to.equal(true);
    expect(told.changed([s('Established', 'Primary')])).to.equal(false);
  });
});
