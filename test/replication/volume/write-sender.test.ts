// WriteSender: the Primary's WRITE frames to one peer, the bound on what is
// unacknowledged, barriers, and what a lost link hands back.
import { expect } from 'chai';
import type { PeerLink } from '../../../lib/replication/link/peer-link.js';
import { FLAG_FUA, FLAG_ZEROES } from '../../../lib/replication/link/frame-types.js';
import { decodeU64, decodeWrite } from '../../../lib/replication/volume/wire.js';
import { WriteCompletion } from '../../../lib/replication/volume/write-completion.js';
import { MAX_PENDING_BYTES, MAX_WRITE_FRAME, WriteSender } from '../../../lib/replication/volume/write-sender.js';

interface Sent { type: string; flags: number; payload: Buffer; seq: bigint }

// Records what is sent; every frame is "written to the kernel" at once.
function fakeLink(): { link: PeerLink; sent: Sent[] } {
  const sent: Sent[] = [];
  let seq = 0n;
  const link = {
    state: 'established',
    send(f: { type: string; flags?: number; payload?: Uint8Array | readonly Uint8Array[]; sent?: () => void }): bigint {
      const parts = f.payload === undefined ? [] : Array.isArray(f.payload) ? f.payload : [f.payload];
      sent.push({ type: f.type, flags: f.flags ?? 0, payload: Buffer.concat(parts as Uint8Array[]), seq: ++seq });
      f.sent?.();
      return seq;
    },
  };
  return { link: link as unknown as PeerLink, sent };
}

// Each frame's ack reaches its write's completion; what the completion does with it is write-completion.test.ts's.
const completion = (): WriteCompletion => new WriteCompletion('C', () => {});
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('replicated volume: write sender (Primary side of the stream)', () => {
  it('sends a write as one frame with its offset, or as frames of at most MAX_WRITE_FRAME', () => {
    const { link, sent } = fakeLink();
    const s = new WriteSender();
    s.replicate(link, 8192, Buffer.alloc(4096, 7), 4096, true, completion(), 0);
    const big = Buffer.alloc(MAX_WRITE_FRAME * 2 + 4096, 1);
    s.replicate(link, 1 << 20, big, big.length, false, completion(), 0);
    expect(sent.map((f) => f.type)).to.deep.equal(['WRITE', 'WRITE', 'WRITE', 'WRITE']);
    expect(sent[0]?.flags).to.equal(FLAG_FUA);
    const w = sent.slice(1).map((f) => decodeWrite(f.payload, false));
    expect(w.map((d) => (d.ok ? [d.value.offset, d.value.length] : d.detail))).to.deep.equal([
      [1 << 20, MAX_WRITE_FRAME], [(1 << 20) + MAX_WRITE_FRAME, MAX_WRITE_FRAME], [(1 << 20) + 2 * MAX_WRITE_FRAME, 4096],
    ]);
    expect(s.count).to.equal(4);
    expect(s.writesSent, 'frames, as the peer counts them').to.equal(4);
  });

  it('sends zeroes as one frame without data, whatever the length', () => {
    const { link, sent } = fakeLink();
    new WriteSender().replicate(link, 0, null, 64 << 20, false, completion(), 0);
    expect(sent).to.have.length(1);
    expect(sent[0]?.flags).to.equal(FLAG_ZEROES);
    const d = decodeWrite(sent[0]?.payload as Buffer, true);
    expect(d.ok && [d.value.offset, d.value.length, d.value.data]).to.deep.equal([0, 64 << 20, null]);
  });

  it('has no room once MAX_PENDING_BYTES are unacknowledged, and room again at the ON_DISK ack', async () => {
    const { link, sent } = fakeLink();
    const s = new WriteSender();
    const chunk = Buffer.alloc(MAX_WRITE_FRAME);
    for (let i = 0; i < MAX_PENDING_BYTES / MAX_WRITE_FRAME; i++) {
      expect(s.hasRoom, `before write ${i}`).to.equal(true);
      expect(s.room()).to.equal(null);
      s.replicate(link, i * MAX_WRITE_FRAME, chunk, chunk.length, false, completion(), 0);
    }
    expect(s.hasRoom).to.equal(false);
    let woke = false;
    void s.room()?.then(() => (woke = true));
    s.onWriteAck(sent[3]?.seq as bigint, false, 0); // received only: still unacknowledged on disk
    await settle();
    expect(woke).to.equal(false);
    s.onWriteAck(sent[3]?.seq as bigint, true, 0);
    await settle();
    expect(woke).to.equal(true);
    expect(s.hasRoom).to.equal(true);
    expect(s.count).to.equal(MAX_PENDING_BYTES / MAX_WRITE_FRAME - 4);
  });

  it('measures how long the oldest unacknowledged write has waited', () => {
    const { link, sent } = fakeLink();
    const s = new WriteSender();
    expect(s.oldestWait(5000)).to.equal(0);
    s.replicate(link, 0, Buffer.alloc(512), 512, false, completion(), 1000);
    s.replicate(link, 512, Buffer.alloc(512), 512, false, completion(), 3000);
    expect(s.oldestWait(5000)).to.equal(4000);
    s.onWriteAck(sent[0]?.seq as bigint, true, 2500);
    expect(s.oldestWait(5000)).to.equal(2000);
    // An acknowledgement later than the oldest's send: the peer makes progress, counted from it.
    s.replicate(link, 1024, Buffer.alloc(512), 512, false, completion(), 3500);
    s.onWriteAck(sent[1]?.seq as bigint, true, 4500);
    expect(s.oldestWait(5000)).to.equal(500);
  });

  // Protocol A over a slow link: 10 s of writes queued at once, acknowledged one a second as the link carries them.
  it('a peer that keeps acknowledging is never overdue, however long the queue; one that stops is', () => {
    const { link, sent } = fakeLink();
    const s = new WriteSender();
    for (let i = 0; i < 10; i++) s.replicate(link, i * 4096, Buffer.alloc(4096), 4096, false, completion(), 0);
    for (let i = 0; i < 9; i++) {
      s.onWriteAck(sent[i]?.seq as bigint, true, (i + 1) * 1000);
      expect(s.oldestWait((i + 1) * 1000 + 500), `after ack ${i}`).to.equal(500);
    }
    expect(s.oldestWait(9000 + 6001)).to.equal(6001);
  });

  it('a barrier resolves true at its BARRIER_ACK, and false when the link is lost', async () => {
    const { link, sent } = fakeLink();
    const s = new WriteSender();
    const first = s.barrier(link);
    const second = s.barrier(link);
    const ids = sent.map((f) => decodeU64(f.payload, 'BARRIER')).map((d) => (d.ok ? d.value : -1n));
    expect(ids).to.deep.equal([1n, 2n]);
    s.onBarrierAck(1n);
    s.onBarrierAck(99n); // unknown: ignored
    expect(await first).to.equal(true);
    expect(s.lost()).to.deep.equal([]);
    expect(await second).to.equal(false);
  });

  it('a lost link hands back every unacknowledged write, oldest first, and wakes waiting writers', async () => {
    const { link } = fakeLink();
    const s = new WriteSender();
    const chunk = Buffer.alloc(MAX_WRITE_FRAME);
    for (let i = 0; i < MAX_PENDING_BYTES / MAX_WRITE_FRAME; i++) s.replicate(link, i * MAX_WRITE_FRAME, chunk, chunk.length, false, completion(), i);
    let woke = false;
    void s.room()?.then(() => (woke = true));
    const lost = s.lost();
    expect(lost.map((w) => w.offset)).to.deep.equal(Array.from({ length: MAX_PENDING_BYTES / MAX_WRITE_FRAME }, (_, i) => i * MAX_WRITE_FRAME));
    await settle();
    expect(woke).to.equal(true);
    expect(s.count).to.equal(0);
    expect(s.hasRoom).to.equal(true);
  });
});
