// WritePath in memory: the order of a write's steps (activity log ahead of
// the data, local disk before the peers), where it waits (the gate, a full
// peer, every extent pinned), and when it is answered and finished.
import { expect } from 'chai';
import type { BlockVolumeConfig } from '../../../lib/config/types.js';
import { ActivityLog } from '../../../lib/replication/block/activity-log.js';
import type { FileBackend } from '../../../lib/replication/block/nbd/file-backend.js';
import { RangeLock } from '../../../lib/replication/volume/range-lock.js';
import type { WriteCompletion } from '../../../lib/replication/volume/write-completion.js';
import { WritePath, type WritePathHost, type WritePeer } from '../../../lib/replication/volume/write-path.js';

const EXTENT = 4 << 20;
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

class FakePeer implements WritePeer {
  receivesWrites = true;
  room_ = true;
  roomWaiters: Array<() => void> = [];
  frames: WriteCompletion[] = [];
  constructor(readonly name: string, private readonly log: string[]) {}
  hasRoom(): boolean { return this.room_; }
  room(): Promise<void> | null {
    return this.room_ ? null : new Promise((r) => this.roomWaiters.push(r));
  }
  replicate(offset: number, _data: Buffer | null, length: number, _fua: boolean, waiter: WriteCompletion): void {
    this.log.push(`${this.name} ${offset}+${length}`);
    waiter.expect();
    this.frames.push(waiter);
  }
  barrier(): Promise<boolean> {
    this.log.push(`${this.name} barrier`);
    return Promise.resolve(true);
  }
  // The peer acknowledges every frame so far on disk.
  ackAll(): void {
    for (const w of this.frames.splice(0)) { w.received(); w.done(true); }
  }
}

function setup(protocol: 'A' | 'B' | 'C' = 'C'): { path: WritePath; host: WritePathHost & { role: 'Primary' | 'Secondary'; refused: Error | null }; log: string[]; peers: FakePeer[]; al: ActivityLog } {
  const log: string[] = [];
  const peers = [new FakePeer('node-b', log), new FakePeer('node-c', log)];
  const al = new ActivityLog(7, EXTENT);
  const disk = {
    writeInline: (o: number, d: Buffer) => { log.push(`disk ${o}+${d.length}`); return d.length <= 65536; },
    write: async (o: number, d: Buffer, fua: boolean) => { log.push(`disk ${o}+${d.length}${fua ? ' fua' : ''}`); },
    writeZeroes: async (o: number, l: number) => { log.push(`disk zeroes ${o}+${l}`); },
    flush: async () => { log.push('disk flush'); },
  } as unknown as FileBackend;
  const host = {
    cfg: { name: 'db', protocol, alExtents: 7 } as unknown as BlockVolumeConfig,
    disk,
    lock: new RangeLock(),
    role: 'Primary' as 'Primary' | 'Secondary',
    activityLog: al,
    peerSessions: () => peers,
    markOutOfSync: async (peer: string, o: number, l: number) => { log.push(`bitmap ${peer} ${o}+${l}`); },
    logActivity: async (_need: number) => {
      const snap = al.snapshot();
      log.push(`al saved [${snap.extents.join(',')}]`);
      al.saved(snap.upTo);
    },
    refused: null as Error | null,
    writesRefused(): Error | null {
      return this.refused;
    },
  };
  return { path: new WritePath(host), host, log, peers, al };
}

describe('replicated volume: write path (in memory)', () => {
  it('a write to a new extent saves the activity log first, then the local disk, then every peer', async () => {
    const { path, log, peers } = setup();
    const w = path.submit(EXTENT * 2, Buffer.alloc(4096), 4096, false);
    await settle();
    expect(log).to.deep.equal(['al saved [2]', `disk ${EXTENT * 2}+4096`, `node-b ${EXTENT * 2}+4096`, `node-c ${EXTENT * 2}+4096`]);
    for (const p of peers) p.ackAll();
    await w;
  });

  it('a second write to an extent whose log save is still being written waits for that save, by either path', async () => {
    const { path, host, log, peers, al } = setup();
    let finish = (): void => {};
    const held = new Promise<void>((r) => (finish = r));
    const needs: number[] = [];
    host.logActivity = (need: number) => {
      needs.push(need);
      const snap = al.snapshot();
      return held.then(() => {
        al.saved(snap.upTo);
        log.push('al on disk');
      });
    };
    const first = path.submit(EXTENT * 2, Buffer.alloc(4096), 4096, false);
    await settle();
    expect(al.has(2) && !al.hot(EXTENT * 2, 4096), 'logged, not on disk').to.equal(true);
    expect(path.submitNow(EXTENT * 2 + 4096, Buffer.alloc(4096), false, () => {}), 'submitNow').to.equal(false);
    const second = path.submit(EXTENT * 2 + 4096, Buffer.alloc(4096), 4096, false);
    await settle();
    expect(log, 'nothing written before the log is on disk').to.deep.equal([]);
    expect(needs).to.deep.equal([0, 0]); // both wait for the epoch extent 2 was added in
    finish();
    await settle();
    expect(log.slice(0, 2)).to.deep.equal(['al on disk', 'al on disk']);
    expect(log.filter((l) => l.startsWith('disk'))).to.deep.equal([`disk ${EXTENT * 2}+4096`, `disk ${EXTENT * 2 + 4096}+4096`]);
    for (const p of peers) p.ackAll();
    await Promise.all([first, second]);
    expect(al.hot(EXTENT * 2, 4096)).to.equal(true);
  });

  it('a small write to a hot extent takes the path without waiting (submitNow) and saves nothing', async () => {
    const { path, log, peers, al } = setup();
    al.touch(0, 4096);
    al.release(0, 4096);
    al.saved(al.snapshot().upTo); // extent 0 is hot: logged and on disk
    let answered: unknown = 'not yet';
    expect(path.submitNow(8192, Buffer.alloc(4096), false, (err) => (answered = err))).to.equal(true);
    expect(log).to.deep.equal(['disk 8192+4096', 'node-b 8192+4096', 'node-c 8192+4096']);
    expect(answered, 'protocol C: not before the peers wrote it').to.equal('not yet');
    peers[0]?.ackAll();
    expect(answered).to.equal('not yet');
    peers[1]?.ackAll();
    expect(answered).to.equal(null);
    expect(al.inFlight(0), 'extent released once every peer settled it').to.equal(0);
  });

  it('submitNow leaves to submit() what must wait: a cold extent, FUA, a large write, a full or absent peer, a locked range', () => {
    const { path, host, peers, al } = setup();
    al.touch(0, 4096);
    al.release(0, 4096);
    al.saved(al.snapshot().upTo); // extent 0 is hot: logged and on disk
    const tryNow = (o: number, len: number, fua = false): boolean => path.submitNow(o, Buffer.alloc(len), fua, () => {});
    expect(tryNow(EXTENT, 4096), 'cold extent').to.equal(false);
    expect(tryNow(0, 4096, true), 'FUA').to.equal(false);
    expect(tryNow(0, 1 << 20), 'large').to.equal(false);
    (peers[0] as FakePeer).room_ = false;
    expect(tryNow(0, 4096), 'full peer').to.equal(false);
    (peers[0] as FakePeer).room_ = true;
    (peers[1] as FakePeer).receivesWrites = false;
    expect(tryNow(0, 4096), 'absent peer').to.equal(false);
    (peers[1] as FakePeer).receivesWrites = true;
    const release = host.lock.tryAcquire(0, 8192);
    expect(tryNow(4096, 4096), 'locked range').to.equal(false);
    release?.();
    expect(tryNow(4096, 4096)).to.equal(true);
  });

  it('an absent peer gets the write in its bitmap, not in a stream, before the others get the write', async () => {
    const { path, log, peers } = setup();
    (peers[1] as FakePeer).receivesWrites = false;
    const w = path.submit(0, Buffer.alloc(4096), 4096, false);
    await settle();
    // The mark first: node-b hears (PEER_OUT_OF_SYNC) that node-c misses the write before it has the write.
    expect(log.slice(1)).to.deep.equal(['disk 0+4096', 'bitmap node-c 0+4096', 'node-b 0+4096']);
    peers[0]?.ackAll();
    await w;
  });

  it('protocol A answers after the local write; the extent stays pinned until the peers acknowledge', async () => {
    const { path, peers, al } = setup('A');
    await path.submit(0, Buffer.alloc(4096), 4096, false);
    expect(al.inFlight(0)).to.equal(1);
    let drained = false;
    void path.drained().then(() => (drained = true));
    await settle();
    expect(drained).to.equal(false);
    for (const p of peers) p.ackAll();
    await settle();
    expect(al.inFlight(0)).to.equal(0);
    expect(drained).to.equal(true);
  });

  it('holds writes at a frozen gate until released, and writes zeroes and FUA through the waiting path', async () => {
    const { path, log, peers } = setup();
    const release = await path.freeze();
    let done = 0;
    const a = path.submit(0, null, 8192, false).then(() => done++);
    const b = path.submit(4096 * 4, Buffer.alloc(4096), 4096, true).then(() => done++);
    expect(path.submitNow(0, Buffer.alloc(512), false, () => {})).to.equal(false);
    await settle();
    expect(log, 'nothing passes a frozen gate').to.deep.equal([]);
    release();
    release(); // a second call does nothing
    await settle();
    expect(log).to.include('disk zeroes 0+8192');
    expect(log).to.include(`disk ${4096 * 4}+4096 fua`);
    for (const p of peers) p.ackAll();
    await Promise.all([a, b]);
    expect(done).to.equal(2);
  });

  it('writes held at the gate while a handshake finds a peer whose data replaces ours are refused once it opens; nothing reaches a disk or a bitmap', async () => {
    const { path, host, log } = setup();
    const release = await path.freeze();
    const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'written', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
    const held = outcome(path.submit(0, Buffer.alloc(4096), 4096, false));
    await settle();
    host.refused = Object.assign(new Error('db: writes refused: node-b\'s data is to replace node-a\'s'), { code: 'EIO' });
    release();
    expect(await held).to.equal("EIO: db: writes refused: node-b's data is to replace node-a's");
    expect(path.submitNow(4096, Buffer.alloc(512), false, () => {}), 'not the fast path either').to.equal(false);
    expect(await outcome(path.submit(4096, Buffer.alloc(512), 512, false))).to.match(/^EIO: /);
    expect(log, 'no disk, no peer, no bitmap').to.deep.equal([]);
    host.refused = null;
    expect(await outcome(Promise.race([path.submit(8192, null, 4096, false), settle().then(() => 'pending')]))).to.not.match(/^EIO/);
  });

  it('waits for room at a full peer before touching the disk', async () => {
    const { path, log, peers } = setup();
    const full = peers[0] as FakePeer;
    full.room_ = false;
    const w = path.submit(0, Buffer.alloc(4096), 4096, false);
    await settle();
    expect(log).to.deep.equal([]);
    full.room_ = true;
    for (const f of full.roomWaiters.splice(0)) f();
    await settle();
    expect(log).to.include('disk 0+4096');
    for (const p of peers) p.ackAll();
    await w;
  });

  it('waits while every activity-log extent is pinned; a request spanning more extents than half the log goes in parts, one after the other', async () => {
    const { path, log, peers } = setup();
    const pinned = Array.from({ length: 7 }, (_, i) => path.submit(i * EXTENT, Buffer.alloc(4096), 4096, false));
    await settle();
    const eighth = path.submit(7 * EXTENT, Buffer.alloc(4096), 4096, false);
    await settle();
    expect(log.filter((l) => l.startsWith(`disk ${7 * EXTENT}`))).to.deep.equal([]);
    for (const p of peers) p.ackAll(); // the seven finish: their extents are free
    await Promise.all(pinned);
    await settle();
    expect(log).to.include(`disk ${7 * EXTENT}+4096`);
    for (const p of peers) p.ackAll();
    await eighth;
    log.length = 0;
    // 8 extents with a log of 7: parts of 2 (half the log, less one), each on the disk once the one before is acknowledged.
    let done = false;
    const wide = path.submit(EXTENT / 2, null, 8 * EXTENT, false).then(() => { done = true; });
    for (let i = 0; i < 20 && !done; i++) {
      await settle();
      for (const p of peers) p.ackAll();
    }
    await wide;
    expect(log.filter((l) => l.startsWith('disk zeroes'))).to.deep.equal([
      `disk zeroes ${EXTENT / 2}+${1.5 * EXTENT}`, `disk zeroes ${2 * EXTENT}+${2 * EXTENT}`, `disk zeroes ${4 * EXTENT}+${2 * EXTENT}`,
      `disk zeroes ${6 * EXTENT}+${2 * EXTENT}`, `disk zeroes ${8 * EXTENT}+${EXTENT / 2}`,
    ]);
  });

  it('a failed activity-log save fails the write before its data goes anywhere, and leaves its extent unpinned', async () => {
    const { path, host, log, al } = setup();
    host.logActivity = async () => { throw new Error('EIO on the log'); };
    const err = await path.submit(3 * EXTENT, Buffer.alloc(4096), 4096, false).catch((e: unknown) => e as Error);
    expect(err?.message).to.equal('EIO on the log');
    expect(log).to.deep.equal([]);
    expect(al.inFlight(3)).to.equal(0);
  });

  it('a write waiting for room in the log goes on when extents pinned elsewhere (a Secondary\'s stream, after a promotion) are released', async () => {
    const { path, log, peers, al } = setup();
    for (let e = 0; e < 7; e++) al.touch(e * EXTENT, 1); // pinned by writes of the stream applied as Secondary
    const w = path.submit(7 * EXTENT, Buffer.alloc(4096), 4096, false);
    await settle();
    expect(log).to.deep.equal([]);
    al.release(2 * EXTENT, 1);
    path.extentsReleased();
    await settle();
    expect(log).to.include(`disk ${7 * EXTENT}+4096`);
    for (const p of peers) p.ackAll();
    await w;
  });

  it('a Secondary refuses application writes with EPERM; FLUSH under protocol C asks every peer for a barrier', async () => {
    const { path, host, log } = setup();
    host.role = 'Secondary';
    const err = await path.submit(0, Buffer.alloc(512), 512, false).catch((e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('EPERM');
    expect(path.submitNow(0, Buffer.alloc(512), false, () => {})).to.equal(false);
    await path.flush();
    expect(log).to.deep.equal(['disk flush', 'node-b barrier', 'node-c barrier']);
    const a = setup('A');
    await a.path.flush();
    expect(a.log).to.deep.equal(['disk flush']);
  });
});
