// When a directory volume's Primary drops a peer for not acknowledging
// (dir-peer.ts): a busy peer, writing large files or hashing its tree, is not.
import { expect } from 'chai';
import { ackAllowanceMs, ackOverdue, type AckWait } from '../../../lib/replication/files/dir-peer.js';

describe('replication/files: the acknowledgement timeout', () => {
  it('the volume\'s timeout, plus 1 s for every 4 MiB the peer still has to write and fsync', () => {
    expect(ackAllowanceMs(6000, 0)).to.equal(6000);
    expect(ackAllowanceMs(6000, 5)).to.equal(6000);
    expect(ackAllowanceMs(6000, 4 << 20)).to.equal(7000);
    expect(ackAllowanceMs(200, 64 << 20)).to.equal(16_200);
    expect(ackAllowanceMs(200, 2 << 20)).to.equal(700);
  });

  it('overdue only past that allowance, with something outstanding, and never while the peer hashes its tree', () => {
    const w: AckWait = { now: 10_000, lastAckAt: 9_000, timeoutMs: 200, outstanding: 3, bytesUnacked: 5, comparing: false };
    expect(ackOverdue(w)).to.equal('no acknowledgement for 1000 ms (timeout 200 ms, plus 0 ms for 5 bytes unacknowledged)');
    expect(ackOverdue({ ...w, now: 9_200 }), 'at the limit').to.equal(null);
    expect(ackOverdue({ ...w, bytesUnacked: 64 << 20 }), 'a large file being written').to.equal(null);
    expect(ackOverdue({ ...w, bytesUnacked: 64 << 20, now: 9_000 + 16_201 })).to.match(/^no acknowledgement for 16201 ms \(timeout 200 ms, plus 16000 ms for 67108864 bytes/);
    expect(ackOverdue({ ...w, comparing: true, now: 1e9 }), 'hashing for a compare or verify').to.equal(null);
    expect(ackOverdue({ ...w, outstanding: 0, now: 1e9 }), 'nothing awaits an answer').to.equal(null);
  });
});
