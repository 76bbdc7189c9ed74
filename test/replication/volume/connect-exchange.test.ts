// ConnectExchange: STATE then BITMAP from each side, nothing else, nothing twice.
import { expect } from 'chai';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import { onNewVolume } from '../../../lib/replication/generations.js';
import type { Frame } from '../../../lib/replication/link/frame.js';
import { ConnectExchange } from '../../../lib/replication/volume/connect-exchange.js';
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

describe('replicated volume: connect exchange (STATE + BITMAP both ways)', () => {
  it('is complete once ours is out and theirs is in, in either order', () => {
    const a = new ConnectExchange(SIZE, BS);
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
    const a = new ConnectExchange(SIZE, BS);
    a.ours(state('Primary'), bitmap(1, 2));
    a.receive(frame('STATE', encodeState(state('Secondary'))));
    a.receive(frame('BITMAP', bitmap(2, 7).serialize()));
    expect(a.resyncSet(false).countSet()).to.equal(3);
    expect(a.resyncSet(true).countSet()).to.equal(SIZE / BS);
    expect(a.sentBitmap?.countSet(), 'our snapshot is not changed by the union').to.equal(2);
  });

  it('refuses a BITMAP before STATE, a second STATE or BITMAP, and any other frame', () => {
    const early = new ConnectExchange(SIZE, BS);
    expect(early.receive(frame('BITMAP', bitmap().serialize()))).to.match(/BITMAP during the connect handshake \(want STATE, then BITMAP\)/);
    const twice = new ConnectExchange(SIZE, BS);
    expect(twice.receive(frame('STATE', encodeState(state('Primary'))))).to.equal(null);
    expect(twice.receive(frame('STATE', encodeState(state('Primary'))))).to.match(/STATE during the connect handshake/);
    expect(twice.receive(frame('BITMAP', bitmap().serialize()))).to.equal(null);
    expect(twice.receive(frame('BITMAP', bitmap().serialize()))).to.match(/BITMAP during the connect handshake/);
    expect(new ConnectExchange(SIZE, BS).receive(frame('WRITE', Buffer.alloc(12)))).to.match(/WRITE during the connect handshake/);
  });

  it('refuses a STATE that does not decode and a BITMAP of another geometry, saying what it wanted', () => {
    expect(new ConnectExchange(SIZE, BS).receive(frame('STATE', Buffer.from('{')))).to.match(/STATE is not JSON/);
    const a = new ConnectExchange(SIZE, BS);
    a.receive(frame('STATE', encodeState(state('Primary'))));
    expect(a.receive(frame('BITMAP', new Bitmap(SIZE * 2, BS).serialize()))).to.equal(`BITMAP geometry ${SIZE * 2}/${BS} is not the volume's ${SIZE}/${BS}`);
    expect(a.receive(frame('BITMAP', Buffer.from('garbage')))).to.match(/^BITMAP: /);
    expect(a.complete()).to.equal(null);
  });
});
