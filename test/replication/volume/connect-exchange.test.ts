// ConnectExchange: STATE then BITMAP from each side, nothing else, nothing twice.
import { expect } from 'chai';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import { onNewVolume } from '../../../lib/replication/generations.js';
import type { Frame } from '../../../lib/replication/link/frame.js';
import { LINK_PROTOCOL_VERSION } from '../../../lib/replication/link/messages.js';
import { encodeBitmapPieces } from '../../../lib/replication/volume/bitmap-chunks.js';
import { ConnectExchange, PIECES_SINCE } from '../../../lib/replication/volume/connect-exchange.js';
import { encodeState, type PeerState } from '../../../lib/replication/volume/wire.js';

const SIZE = 1 << 20;
const BS = 4096;
const state = (role: 'Primary' | 'Secondary'): PeerState => ({
  role, disk: 'UpToDate', generations: onNewVolume(), size: SIZE, blockSize: BS, protocol: 'C', changedBlocks: 0, discardMyData: false,
});
const frame = (type: Frame['type'], payload: Buffer): Frame => ({ type, flags: 0, seq: 1n, payload });
const bitmap = (...blocks: number[]): Bitmap => {
  const b = new Bitmap(SIZE, BS);
  for (const n of blocks) b.setRange(n * BS, BS);
  return b;
};

describe('replicated volume: connect exchange (STATE + BITMAP both ways), link protocol 3..4: one BITMAP', () => {
  it('is complete once ours is out and theirs is in, in either order', () => {
    const a = new ConnectExchange(SIZE, BS, 4);
    expect(a.receive(frame('STATE', encodeState(state('Primary'))))).to.equal(null);
    expect(a.receive(frame('BITMAP', bitmap(1).serialize()))).to.equal(null);
    expect(a.complete()).to.equal(null);
    const frames = a.ours(state('Secondary'), bitmap(2));
    expect(frames.map((f) => f.type)).to.deep.equal(['STATE', 'BITMAP']);
    const both = a.complete();
    expect(both?.received.role).to.equal('Primary');
    expect(both?.sent.role).to.equal('Secondary');
  });

  it('a resync moves the union of both bitmaps, or everything when full', () => {
    const a = new ConnectExchange(SIZE, BS, 4);
    a.ours(state('Primary'), bitmap(1, 2));
    a.receive(frame('STATE', encodeState(state('Secondary'))));
    a.receive(frame('BITMAP', bitmap(2, 7).serialize()));
    expect(a.resyncSet(false).countSet()).to.equal(3);
    expect(a.resyncSet(true).countSet()).to.equal(SIZE / BS);
    expect(a.sentBitmap?.countSet(), 'our snapshot is not changed by the union').to.equal(2);
  });

  it('refuses a BITMAP before STATE, a second STATE or BITMAP, and any other frame', () => {
    const early = new ConnectExchange(SIZE, BS, 4);
    expect(early.receive(frame('BITMAP', bitmap().serialize()))).to.match(/BITMAP during the connect handshake \(want STATE, then BITMAP\)/);
    const twice = new ConnectExchange(SIZE, BS, 4);
    expect(twice.receive(frame('STATE', encodeState(state('Primary'))))).to.equal(null);
    expect(twice.receive(frame('STATE', encodeState(state('Primary'))))).to.match(/STATE during the connect handshake/);
    expect(twice.receive(frame('BITMAP', bitmap().serialize()))).to.equal(null);
    expect(twice.receive(frame('BITMAP', bitmap().serialize()))).to.match(/BITMAP during the connect handshake/);
    expect(new ConnectExchange(SIZE, BS, 4).receive(frame('WRITE', Buffer.alloc(12)))).to.match(/WRITE during the connect handshake/);
  });

  it('refuses a STATE that does not decode and a BITMAP of another geometry, saying what it wanted', () => {
    expect(new ConnectExchange(SIZE, BS, 4).receive(frame('STATE', Buffer.from('{')))).to.match(/STATE is not JSON/);
    const a = new ConnectExchange(SIZE, BS, 4);
    a.receive(frame('STATE', encodeState(state('Primary'))));
    expect(a.receive(frame('BITMAP', new Bitmap(SIZE * 2, BS).serialize()))).to.equal(`BITMAP geometry ${SIZE * 2}/${BS} is not the volume's ${SIZE}/${BS}`);
    expect(a.receive(frame('BITMAP', Buffer.from('garbage')))).to.match(/^BITMAP: /);
    expect(a.complete()).to.equal(null);
  });
});

describe('replicated volume: connect exchange, a peer of another size', () => {
  it('completes at its STATE and ignores its bitmap, so the decision refuses it by name (it was a protocol error on every redial)', () => {
    for (const version of [4, PIECES_SINCE]) {
      const a = new ConnectExchange(SIZE, BS, version);
      a.ours(state('Secondary'), bitmap(1));
      expect(a.receive(frame('STATE', encodeState({ ...state('Primary'), size: SIZE * 2 })))).to.equal(null);
      const both = a.complete();
      expect(both?.received.size).to.equal(SIZE * 2);
      expect(both?.receivedBitmap.countSet()).to.equal(0);
      const theirs = version === 4 ? [new Bitmap(SIZE * 2, BS).serialize()] : encodeBitmapPieces(new Bitmap(SIZE * 2, BS));
      for (const p of theirs) expect(a.receive(frame('BITMAP', p)), `version ${version}`).to.equal(null);
      const bs = new ConnectExchange(SIZE, BS, version);
      bs.receive(frame('STATE', encodeState({ ...state('Primary'), blockSize: BS * 2 })));
      expect(bs.receive(frame('BITMAP', Buffer.from('garbage')))).to.equal(null);
    }
  });
});

describe('replicated volume: connect exchange, link protocol 5: the BITMAP in pieces', () => {
  const BIG = 2 ** 40; // 1 TiB at 4 KiB: 32 MiB of plain bitmap, four times the frame limit
  const bigState = (role: 'Primary' | 'Secondary'): PeerState => ({ ...state(role), size: BIG });

  it('this build speaks it', () => {
    expect(LINK_PROTOCOL_VERSION).to.be.at.least(PIECES_SINCE);
  });

  it('sends STATE, then the bitmap in pieces, each far below the frame limit; the peer assembles it', () => {
    const a = new ConnectExchange(BIG, BS, PIECES_SINCE);
    const b = new ConnectExchange(BIG, BS, PIECES_SINCE);
    const ours = new Bitmap(BIG, BS);
    ours.setRange(0, 10 * BS);
    ours.setRange(BIG - BS, BS);
    const frames = a.ours(bigState('Primary'), ours);
    expect(frames[0]?.type).to.equal('STATE');
    expect(frames.slice(1).every((f) => f.type === 'BITMAP')).to.equal(true);
    expect(frames.length).to.equal(1 + 8); // 2^28 blocks in pieces of 2^25
    for (const f of frames) expect(f.payload.length).to.be.below(1024);
    for (const f of frames) {
      expect(b.complete()).to.equal(null);
      expect(b.receive(frame(f.type, f.payload))).to.equal(null);
    }
    expect(b.receivedBitmap?.equals(ours)).to.equal(true);
    b.ours(bigState('Secondary'), new Bitmap(BIG, BS));
    expect(b.complete()?.receivedBitmap.countSet()).to.equal(11);
    expect(b.resyncSet(false).countSet()).to.equal(11);
  });

  it('refuses a whole BITMAP of the old kind, a bad piece, and a piece after the last', () => {
    const a = new ConnectExchange(SIZE, BS, PIECES_SINCE);
    a.receive(frame('STATE', encodeState(state('Primary'))));
    expect(a.receive(frame('BITMAP', bitmap(1).serialize()))).to.match(/^BITMAP: bitmap piece coding/);
    const b = new ConnectExchange(SIZE, BS, PIECES_SINCE);
    b.receive(frame('STATE', encodeState(state('Primary'))));
    const [piece] = encodeBitmapPieces(bitmap(3));
    expect(b.receive(frame('BITMAP', piece as Buffer))).to.equal(null);
    expect(b.receive(frame('BITMAP', piece as Buffer))).to.match(/BITMAP during the connect handshake/);
    const c = new ConnectExchange(SIZE, BS, PIECES_SINCE);
    expect(c.receive(frame('BITMAP', piece as Buffer)), 'STATE comes first').to.match(/want STATE, then BITMAP/);
  });

  it('with a peer of protocol 4 it sends and takes one whole BITMAP', () => {
    const a = new ConnectExchange(SIZE, BS, PIECES_SINCE - 1);
    const frames = a.ours(state('Primary'), bitmap(5));
    expect(frames.map((f) => f.type)).to.deep.equal(['STATE', 'BITMAP']);
    expect(Bitmap.deserialize(frames[1]?.payload as Buffer).ok).to.equal(true);
  });
});
