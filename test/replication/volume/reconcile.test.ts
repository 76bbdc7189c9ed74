// A lost Primary's marks (reconcile.ts): they resync like any bit, but the
// after-sb policies that weigh changes do not count them as the holder's.
import { expect } from 'chai';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import { Reconciliation, type ReconcileHost } from '../../../lib/replication/volume/reconcile.js';

const MiB = 1 << 20;
const BLOCK = 4096;

function host(extents: number[]): { h: ReconcileHost; bitmaps: Map<string, Bitmap>; marked: string[] } {
  const bitmaps = new Map(['node-b', 'node-c'].map((n) => [n, new Bitmap(64 * MiB, BLOCK)]));
  const marked: string[] = [];
  const peer = (name: string) => ({ name, replication: 'Off' as const, peerState: null, reconnect: () => {} });
  const h: ReconcileHost = {
    volume: 'db', size: 64 * MiB, extentSize: 4 * MiB, log: { info: () => {}, warn: () => {}, error: () => {} },
    role: () => 'Secondary', peers: () => [peer('node-a'), peer('node-b'), peer('node-c')],
    bitmapFor: (p) => bitmaps.get(p) as Bitmap, loggedExtents: () => extents, marksOnly: new Map(),
    marked: async (except) => void marked.push(except),
  };
  return { h, bitmaps, marked };
}

describe('replication/volume reconcile: a lost Primary\'s marks', () => {
  it('mark its last extents towards the other peers, counted apart from changes', async () => {
    const { h, bitmaps, marked } = host([0, 3]);
    const r = new Reconciliation(h);
    const b = bitmaps.get('node-b') as Bitmap;
    b.setRange(12 * MiB, 8192); // a change of ours already there, inside extent 3: stays a change
    await r.primaryLost('node-a');
    expect(marked).to.deep.equal(['node-a']);
    expect(b.countSet()).to.equal(2 * 1024); // two 4 MiB extents of 4 KiB blocks
    expect(r.lostPrimaryBlocks('node-b')).to.equal(2 * 1024 - 2);
    expect(r.lostPrimaryBlocks('node-c')).to.equal(2 * 1024);
  });

  it('a change later inside the marks counts as a change; a resync of them leaves nothing', async () => {
    const { h, bitmaps } = host([0]);
    const r = new Reconciliation(h);
    await r.primaryLost('node-a');
    const b = bitmaps.get('node-b') as Bitmap;
    r.changed('node-b', 1000, 5000); // touches blocks 0 and 1
    expect(r.lostPrimaryBlocks('node-b')).to.equal(1024 - 2);
    b.clearRange(0, 4 * MiB); // resynced
    expect(r.lostPrimaryBlocks('node-b')).to.equal(0);
    b.setRange(0, 4096); // a later change where a mark was: a change
    expect(r.lostPrimaryBlocks('node-b')).to.equal(0);
  });

  it('a partial resync of the marks: blocks set again later where one was resynced count as changes', async () => {
    const { h, bitmaps } = host([0]);
    const r = new Reconciliation(h);
    await r.primaryLost('node-a');
    const b = bitmaps.get('node-b') as Bitmap;
    b.clearRange(0, 2 * MiB); // half resynced, then the link was cut
    expect(r.lostPrimaryBlocks('node-b')).to.equal(512);
    b.setRange(0, 3 * 4096); // marked again by something other than a write of ours (a crash's extents): changes
    expect(r.lostPrimaryBlocks('node-b')).to.equal(512);
    expect(b.countSet()).to.equal(515);
  });

  it('nothing logged, nothing marked: none', async () => {
    const { h, bitmaps } = host([]);
    const r = new Reconciliation(h);
    await r.primaryLost('node-a');
    expect(bitmaps.get('node-b')?.countSet()).to.equal(0);
    expect(r.lostPrimaryBlocks('node-b')).to.equal(0);
  });
});
