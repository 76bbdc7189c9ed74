// Which of a Secondary's bits for third peers go once it holds its Primary's
// data (third-peer-marks.ts clearStale), in memory against a stand-in host:
// stale bits for a peer in step with the Primary go; a lost Primary's marks,
// a peer the Primary tracks, a link moving data and a non-Primary source keep them.
import { expect } from 'chai';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import type { Generations } from '../../../lib/replication/generations.js';
import { ThirdPeerMarks, type ThirdPeerHost } from '../../../lib/replication/volume/third-peer-marks.js';
import type { PeerState } from '../../../lib/replication/volume/wire.js';

const MiB = 1 << 20;
const u = (n: number): string => n.toString(16).padStart(16, '0');
const gen = (entries: string[] = []): Generations => ({
  current: u(2), fresh: false, history: [u(1)],
  bitmap: Object.fromEntries(entries.map((p) => [p, { uuid: u(1), primaryAtSplit: false }])),
});

interface PeerSpec {
  role: 'Primary' | 'Secondary';
  movesNoData?: boolean; // default true
  bits: number; // blocks set in our bitmap for it
  lostPrimaryMarks?: number; // of those, set only by a lost Primary's marks
}

function stand(peers: Record<string, PeerSpec>): { marks: ThirdPeerMarks; bits: (p: string) => number; told: string[] } {
  const maps = new Map<string, Bitmap>();
  for (const [p, o] of Object.entries(peers)) {
    const b = new Bitmap(8 * MiB, 4096);
    if (o.bits > 0) b.setRange(0, o.bits * 4096);
    maps.set(p, b);
  }
  const told: string[] = [];
  const map = (p: string): Bitmap => maps.get(p) as Bitmap;
  const host: ThirdPeerHost = {
    volume: 'db', node: 'node-c', log: { info: () => {}, warn: () => {}, error: () => {} },
    generations: gen(),
    role: () => 'Secondary',
    peer: (name) => {
      const o = peers[name];
      return o === undefined ? undefined : { movesNoData: o.movesNoData ?? true, peerRole: o.role, sendState: () => told.push(name) };
    },
    peerNames: () => Object.keys(peers),
    bitmapFor: map,
    lostPrimaryMarks: (p) => peers[p]?.lostPrimaryMarks ?? 0,
    clearBits: (p) => map(p).clearAll(),
    bitsSet: () => {},
    save: async () => {},
    recordUnclean: async () => {},
    broadcastState: () => {},
  };
  return { marks: new ThirdPeerMarks(host), bits: (p) => map(p).countSet(), told };
}

const stateOf = (generations: Generations, changedBlocks = 0): PeerState => ({
  role: 'Primary', disk: 'UpToDate', generations, size: 8 * MiB, blockSize: 4096, protocol: 'C', changedBlocks, discardMyData: false,
});

describe('replication/volume third-peer bits a Secondary drops once it holds its Primary\'s data', () => {
  const peers = (): Record<string, PeerSpec> => ({
    'node-a': { role: 'Primary', bits: 0 },
    'node-b': { role: 'Secondary', bits: 2048 }, // an invalidate's: every block
    'node-d': { role: 'Secondary', bits: 16, lostPrimaryMarks: 16 },
    'node-e': { role: 'Secondary', bits: 8, movesNoData: false },
    'node-f': { role: 'Secondary', bits: 4 },
  });

  it('in step with the Primary: stale bits go, and that peer is told; a lost Primary\'s marks, a moving link and a tracked peer keep theirs', async () => {
    const s = stand(peers());
    await s.marks.follow('node-a', stateOf(gen(['node-f'])), true);
    expect(['node-b', 'node-d', 'node-e', 'node-f'].map(s.bits)).to.deep.equal([0, 16, 8, 4]);
    expect(s.told).to.deep.equal(['node-b']);
  });

  it('not in step (bits either way between us and the Primary): nothing goes', async () => {
    const behind = stand(peers());
    await behind.marks.follow('node-a', stateOf(gen(), 3), true);
    const ahead = stand({ ...peers(), 'node-a': { role: 'Primary', bits: 1 } });
    await ahead.marks.follow('node-a', stateOf(gen()), true);
    for (const s of [behind, ahead]) expect(s.bits('node-b')).to.equal(2048);
  });

  it('a finished resync from the Primary clears as being in step does; from a Secondary it clears nothing', () => {
    const fromPrimary = stand(peers());
    fromPrimary.marks.syncedFrom('node-a', gen(['node-f']));
    expect(['node-b', 'node-d', 'node-e', 'node-f'].map(fromPrimary.bits)).to.deep.equal([0, 16, 8, 4]);
    const fromSecondary = stand(peers());
    fromSecondary.marks.syncedFrom('node-f', gen());
    expect(fromSecondary.bits('node-b')).to.equal(2048);
  });
});
