// The volume layer end to end in one process: two volumes over loopback TCP
// with real image files (three nodes: three-nodes.test.ts).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { open } from 'node:fs/promises';
import { waitFor } from '../../helpers/env.js';
import type { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';
import { established, MiB, pattern, sameImages } from './pair-checks.js';
import { Cluster, SECRET } from './pair-harness.js';
import { PeerListener } from '../../../lib/replication/link/listener.js';

describe('replicated volume (in-process pair over loopback)', function () {
  this.timeout(60000);
  let c: Cluster;
  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    if (c) await c.destroy();
  });

  async function primaryPair(o: Parameters<typeof Cluster.create>[0] = {}): Promise<void> {
    c = await Cluster.create(o);
    await c.start('node-a');
    await c.start('node-b');
    await waitFor('connected', async () => c.get('node-a').peers.get('node-b')?.connected === true, 10000);
    await c.get('node-a').promote(true);
    await established(c, 'node-a', 'node-b');
  }

  // A synced pair, both Secondary, each knowing the other is.
  async function twoSecondaries(): Promise<{ a: ReplicatedVolume; b: ReplicatedVolume }> {
    await primaryPair();
    const a = c.get('node-a');
    const b = c.get('node-b');
    await a.demote();
    await waitFor('both see a Secondary peer', async () => a.peers.get('node-b')?.peerRole === 'Secondary' && b.peers.get('node-a')?.peerRole === 'Secondary', 5000);
    return { a, b };
  }

  it('a new pair waits for a forced Primary, then syncs it fully', async () => {
    c = await Cluster.create();
    const a = await c.start('node-a');
    await c.start('node-b');
    await waitFor('connected', async () => a.peers.get('node-b')?.replication === 'Established', 10000);
    expect(a.diskState).to.equal('Inconsistent');
    // Nothing is known good on either side: all of it is out of sync, as DRBD shows a new pair (it said 0B).
    expect(a.peers.get('node-b')?.status().out_of_sync_bytes).to.equal(8 * MiB);
    let refused = '';
    await a.promote(false).catch((e: Error) => (refused = e.message));
    expect(refused).to.match(/Inconsistent, not UpToDate/);
    await a.promote(true);
    await established(c, 'node-a', 'node-b');
    const done = c.events.find((e) => e.type === 'replica.resync.finished' && e.node === 'node-b');
    expect(done?.fields.bytes).to.equal(8 * MiB);
    await sameImages(c, 'node-a', 'node-b');
    expect(a.peers.get('node-b')?.status().out_of_sync_bytes).to.equal(0);
  });

  it('a 1 TiB volume at 4 KiB blocks connects (its 32 MiB bitmap crosses in pieces), and its full sync starts over the whole volume', async () => {
    const size = 2 ** 40; // the image files are sparse
    c = await Cluster.create({ size });
    const a = await c.start('node-a');
    const b = await c.start('node-b');
    await waitFor('connected', async () => a.peers.get('node-b')?.replication === 'Established', 20000);
    // A connect before link protocol 5 sent the bitmap whole: above the 8 MiB frame limit, every connect failed.
    expect(c.logs.filter((l) => /handshake failed|payload above/.test(l))).to.deep.equal([]);
    expect(b.peers.get('node-a')?.status().bytes_received, 'mostly clear pieces are small').to.be.below(64 << 10);
    await a.promote(true);
    await waitFor('node-b SyncTarget', async () => b.peers.get('node-a')?.replication === 'SyncTarget', 20000);
    expect(b.peers.get('node-a')?.status().resync).to.deep.include({ direction: 'SyncTarget', full: true, total_bytes: size });
  });

  it('a forced promotion during the connect handshake still leads to the initial sync', async () => {
    c = await Cluster.create();
    const a = await c.start('node-a');
    const s = a.peers.get('node-b');
    await c.start('node-b');
    // Our STATE is sent, the decision not made yet: the handshake is running.
    while (!(s?.connection === 'Connected' && !s.connected && s.status().bytes_sent > 0)) await new Promise((r) => setImmediate(r));
    await a.promote(true);
    await established(c, 'node-a', 'node-b');
    await sameImages(c, 'node-a', 'node-b');
  });

  for (const protocol of ['A', 'B', 'C'] as const) {
    it(`protocol ${protocol}: writes reach the Secondary byte for byte`, async () => {
      await primaryPair({ protocol });
      const io = c.get('node-a').io();
      const writes = Array.from({ length: 64 }, (_, i) => ({ off: ((i * 7919) % 2000) * 4096, data: pattern(i, 4096 * (1 + (i % 4))) }));
      await Promise.all(writes.map((w) => io.write(w.off, w.data, false)));
      await io.writeZeroes(MiB, 3 * 4096, false);
      await io.write(2 * MiB, pattern(99, 5 * MiB), false); // two WRITE frames (4 MiB + 1 MiB)
      await io.flush();
      await waitFor('all acknowledged', async () => c.get('node-a').peers.get('node-b')?.status().pending === 0, 10000);
      await sameImages(c, 'node-a', 'node-b');
      // Both ends count frames, so the two counters agree (a large write counted once on the Primary before).
      expect(c.get('node-b').peers.get('node-a')?.status().writes_received).to.equal(67);
      expect(c.get('node-a').peers.get('node-b')?.status().writes_sent).to.equal(67);
    });
  }

  it('status shows the resync while it runs (direction, total, done, percent) and the per-peer counters after', async () => {
    c = await Cluster.create({ size: 128 * MiB });
    const a = await c.start('node-a');
    const b = await c.start('node-b');
    await waitFor('connected', async () => a.peers.get('node-b')?.connected === true, 10000);
    const seen: Array<NonNullable<ReturnType<typeof b.status>['peers'][0]>['resync']> = [];
    const left: boolean[] = [];
    const sampler = setInterval(() => {
      const p = b.status().peers[0];
      const r = p?.resync;
      if (r) seen.push(r);
      // out-of-sync is what is left of the resync, as DRBD shows it (it read 0 during a full sync).
      if (r) left.push(p?.out_of_sync_bytes === r.total_bytes - r.done_bytes);
    }, 2);
    try {
      await a.promote(true);
      await established(c, 'node-a', 'node-b');
    } finally {
      clearInterval(sampler);
    }
    expect(seen.length, 'the resync was seen running').to.be.greaterThan(0);
    expect(left.every((x) => x)).to.equal(true);
    for (const r of seen) {
      expect(r?.direction).to.equal('SyncTarget');
      expect(r?.full).to.equal(true);
      expect(r?.total_bytes).to.equal(128 * MiB);
      expect(r?.percent).to.be.within(0, 100);
      expect(r?.percent).to.equal(Math.floor((1000 * (r?.done_bytes ?? 0)) / (r?.total_bytes ?? 1)) / 10);
    }
    const done = seen.map((r) => r?.done_bytes ?? 0);
    expect(done, 'done only grows').to.deep.equal([...done].sort((x, y) => x - y));
    expect(b.status().peers[0]?.resync).to.equal(null);
    await a.io().write(0, pattern(3, 4096), false);
    await a.io().write(8192, pattern(4, 4096), false);
    const pa = a.status().peers[0];
    const pb = b.status().peers[0];
    expect(pa?.writes_sent).to.equal(2);
    expect(pb?.writes_received).to.equal(2);
    expect(pa?.pending).to.equal(0); // protocol C: answered only once acknowledged
    expect(pa?.unacked).to.equal(0);
    expect(pa?.bytes_sent).to.be.greaterThan(128 * MiB);
    expect(pb?.bytes_received).to.be.greaterThan(128 * MiB);
    expect(Date.parse(pa?.last_sent_at ?? '')).to.be.closeTo(Date.now(), 5000);
    expect(pa?.uptime_s).to.be.a('number');
  });

  it('the Secondary refuses promotion while the Primary is connected, and has no NBD export', async () => {
    await primaryPair();
    const b = c.get('node-b');
    let why = '';
    await b.promote(false).catch((e: Error) => (why = e.message));
    expect(why).to.match(/node-a is Primary/);
    expect(b.status().nbd).to.equal(null);
    expect(c.get('node-a').status().nbd?.socket).to.be.a('string');
  });

  it('two Secondaries promoted at the same moment: exactly one becomes Primary, the other is refused, and they stay Established', async () => {
    const { a, b } = await twoSecondaries();
    const drops = a.status().peers[0]?.disconnects;
    const results = await Promise.allSettled([a.promote(false), b.promote(false)]);
    // Both asked at once: node-a sorts first, so it refuses node-b and node-b grants it.
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected']);
    const why = results[1]?.status === 'rejected' ? (results[1].reason as { message: string; transient?: boolean }) : null;
    expect(why?.message).to.equal('db: node-a refuses: node-a is becoming Primary itself (one Primary per volume)');
    expect(why?.transient, 'the conductor may retry').to.equal(true);
    expect([a.role, b.role]).to.deep.equal(['Primary', 'Secondary']);
    await waitFor('node-b sees node-a Primary', async () => b.peers.get('node-a')?.peerRole === 'Primary', 5000);
    expect(a.peers.get('node-b')?.replication).to.equal('Established');
    expect(b.peers.get('node-a')?.replication).to.equal('Established');
    expect(a.status().peers[0]?.disconnects, 'the link never dropped').to.equal(drops);
    expect(c.events.some((e) => e.type === 'replica.split-brain')).to.equal(false);
    // node-b's retry, as the conductor would make it: refused while node-a is Primary.
    const again = await b.promote(false).then(() => null, (e: Error) => e.message);
    expect(again).to.match(/node-a is Primary/);
    await c.get('node-a').io().write(0, pattern(9, 4096), false);
    await sameImages(c, 'node-a', 'node-b');
  });

  it('a promotion whose metadata cannot be written leaves the node Secondary and frees the peer that granted it', async () => {
    const { a, b } = await twoSecondaries();
    const generation = b.generations.current;
    const store = (b as unknown as { kept: { store: { save: (r: unknown) => Promise<void> } } }).kept.store;
    const save = store.save.bind(store);
    store.save = () => Promise.reject(new Error('EIO: the metadata write failed'));
    const why = await b.promote(false).then(() => null, (e: Error) => e.message);
    store.save = save;
    expect(why).to.match(/EIO: the metadata write failed/);
    expect([b.role, b.diskState, b.generations.current]).to.deep.equal(['Secondary', 'UpToDate', generation]);
    expect(b.status().nbd).to.equal(null);
    // node-a had granted node-b's request; the abort frees it at once, not after 2 x timeout.
    await waitFor('node-a free again', async () => a.promoteArbiter.holder(Date.now()) === null, 2000);
    await a.promote(false);
    expect(a.role).to.equal('Primary');
  });

  it('writeNow takes a small write to a hot extent and answers once the peer has it (protocol C); what must wait it leaves to write()', async () => {
    await primaryPair();
    const io = c.get('node-a').io();
    const writeNow = io.writeNow?.bind(io);
    if (writeNow === undefined) return expect.fail('the volume offers no writeNow');
    const noop = (): void => {};
    expect(writeNow(0, pattern(1, 4096), false, noop), 'extent 0 is cold before any write').to.equal(false);
    await io.write(65536, pattern(2, 4096), false); // write() makes it hot (and the next write does not follow on: no stream)
    const data = pattern(3, 8192);
    let answered: unknown = 'not yet';
    expect(writeNow(4096, data, false, (err) => (answered = err))).to.equal(true);
    expect(answered, 'protocol C answers after the peer acknowledged, not inside writeNow').to.equal('not yet');
    await waitFor('the write answered', async () => answered !== 'not yet', 5000);
    expect(answered).to.equal(null);
    expect((await c.image('node-b')).subarray(4096, 4096 + data.length).equals(data), 'on node-b when answered').to.equal(true);
    expect(writeNow(8192, pattern(4, 4096), true, noop), 'FUA').to.equal(false);
    expect(writeNow(0, pattern(5, 128 * 1024), false, noop), 'too large to write inline').to.equal(false);
    expect(writeNow(6 * MiB, pattern(6, 4096), false, noop), 'a cold extent (4 MiB extents)').to.equal(false);
    const secondary = c.get('node-b').io().writeNow;
    expect(secondary?.(4096, pattern(7, 4096), false, noop), 'a Secondary').to.equal(false);
    await sameImages(c, 'node-a', 'node-b');
  });

  it('a Secondary Outdated by a failed replicated write stays Outdated across its restart, then resyncs from the Primary', async () => {
    await primaryPair();
    const b = c.get('node-b');
    const disk = b.disk as unknown as { write: (...args: unknown[]) => Promise<void>; writeInline: (...args: unknown[]) => boolean };
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    disk.write = () => Promise.reject(enospc);
    disk.writeInline = () => { throw enospc; };
    await c.get('node-a').io().write(8192, pattern(9, 4096), false).catch(() => undefined);
    await waitFor('b Outdated', async () => b.status().disk === 'Outdated', 10000);
    await c.stop('node-b');
    const again = await c.start('node-b'); // a fresh handle on the image: the disk is fixed
    expect(again.status().disk, 'kept in the record').to.equal('Outdated');
    expect(await again.promote(false).then(() => 'promoted', (e: Error) => e.message)).to.match(/Outdated/);
    await established(c, 'node-a', 'node-b');
    await waitFor('resynced from node-a: UpToDate', async () => again.diskState === 'UpToDate' && (c.get('node-a').peers.get('node-b')?.status().out_of_sync_bytes ?? 1) === 0, 10000);
    await sameImages(c, 'node-a', 'node-b');
  });

  it('a Secondary whose disk fails a replicated write (ENOSPC) goes StandAlone, suspended, instead of taking the stream again and again; connect tries again', async () => {
    await primaryPair();
    const [a, b] = [c.get('node-a'), c.get('node-b')];
    const disk = b.disk as unknown as { write: (...args: unknown[]) => Promise<void>; writeInline: (...args: unknown[]) => boolean };
    const [write, inline] = [disk.write, disk.writeInline];
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    disk.write = () => Promise.reject(enospc);
    disk.writeInline = () => { throw enospc; };
    await a.io().write(0, pattern(5, 4096), false).catch(() => undefined);
    await waitFor('b StandAlone', async () => b.peers.get('node-a')?.connection === 'StandAlone', 10000);
    expect(b.status().suspended).to.equal(true);
    expect(c.logs.some((l) => l.startsWith('node-b error db: writing data from node-a failed: ENOSPC') && l.includes('StandAlone until `tandem replica connect db`'))).to.equal(true);
    expect(c.events.some((e) => e.node === 'node-b' && e.type === 'replica.disk-error')).to.equal(true);
    // It lacks the write: Outdated, not an UpToDate copy to promote (it was, and a failover served without the write).
    await waitFor('b Outdated', async () => b.status().disk === 'Outdated', 5000);
    expect(await b.promote(false).then(() => 'promoted', (e: Error) => e.message)).to.match(/Outdated/);
    expect(c.logs.some((l) => l.startsWith('node-b warn db: disk Outdated: a write from the Primary could not be stored here (ENOSPC'))).to.equal(true);
    expect(c.logs.some((l) => l.includes('node-b could not write: ENOSPC'))).to.equal(true);
    // It stays so: a keeps trying, b keeps refusing (no resend loop into the full disk).
    const drops = a.peers.get('node-b')?.status().disconnects ?? 0;
    const refusals = (): number => c.logs.filter((l) => l.startsWith('node-a ') && l.includes('db is StandAlone on node-b')).length;
    const before = refusals();
    await new Promise((r) => setTimeout(r, 1500));
    expect(refusals() - before, 'a refused link is dialed ever more slowly').to.be.within(1, 5);
    // A link refused at the connect handshake is no connection lost: the counter stays (it went 1 -> 5 before).
    expect(a.peers.get('node-b')?.status().disconnects).to.equal(drops);
    expect(b.peers.get('node-a')?.connection).to.equal('StandAlone');
    // The disk is fixed: connect, and the missed write is resynced.
    disk.write = write;
    disk.writeInline = inline;
    b.connect();
    expect(b.status().suspended).to.equal(false);
    await established(c, 'node-a', 'node-b');
    await waitFor('in sync', async () => b.diskState === 'UpToDate' && (a.peers.get('node-b')?.status().out_of_sync_bytes ?? 1) === 0, 10000);
    await sameImages(c, 'node-a', 'node-b');
  });

  it('a request wider than the activity log (al_extents 7: 28 MiB) is written in parts, not refused: 40 MiB of data, 64 MiB of zeroes', async () => {
    await primaryPair({ size: 96 * MiB, alExtents: 7 });
    const a = c.get('node-a');
    const data = pattern(7, 40 * MiB);
    await a.io().write(3 * MiB + 4096, data, false); // unaligned to the extents
    await a.io().writeZeroes(44 * MiB, 52 * MiB, true);
    await a.flush();
    const img = await c.image('node-a');
    expect(img.subarray(3 * MiB + 4096, 43 * MiB + 4096).equals(data)).to.equal(true);
    expect(img.subarray(44 * MiB, 96 * MiB).every((x) => x === 0)).to.equal(true);
    await sameImages(c, 'node-a', 'node-b');
  });

  it('secondary is refused while an NBD client is connected (the device is in use); forced, it cuts the client', async () => {
    await primaryPair();
    const a = c.get('node-a');
    const client = createConnection(c.config('node-a').nbd.socket as string);
    const closed = new Promise<void>((res) => client.on('close', () => res()));
    client.on('error', () => undefined);
    client.resume(); // read the greeting, so the end is seen
    await waitFor('client seen', async () => a.status().nbd?.clients === 1, 5000);
    const refused = await a.demote(false).then(() => null, (e: Error & { code?: string }) => e);
    expect(refused?.code).to.equal('DEMOTE_REFUSED');
    expect(refused?.message).to.equal('db: 1 NBD client(s) connected, so the volume is in use; stop them first, or --force cuts them');
    expect(a.role).to.equal('Primary');
    await a.demote(true);
    expect(a.role).to.equal('Secondary');
    await closed;
    expect(c.logs).to.include('node-a warn db: becoming Secondary with 1 NBD client(s) connected: they are cut');
  });

  it('after a disconnect only the dirty blocks are resynced', async () => {
    await primaryPair({ size: 32 * MiB });
    await c.stop('node-b');
    const a = c.get('node-a');
    await waitFor('disconnected', async () => !a.peers.get('node-b')?.connected, 10000);
    const io = a.io();
    for (let i = 0; i < 10; i++) await io.write(i * 2 * MiB, pattern(100 + i, 8192), false);
    expect(a.peers.get('node-b')?.status().out_of_sync_bytes).to.equal(10 * 8192);
    const gen = a.generations;
    expect(Object.keys(gen.bitmap)).to.deep.equal(['node-b']);
    c.events.length = 0;
    await c.start('node-b');
    await established(c, 'node-a', 'node-b');
    await waitFor('resync finished', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-a'), 10000);
    const fin = c.events.find((e) => e.type === 'replica.resync.finished' && e.node === 'node-b');
    expect(fin?.fields.direction).to.equal('SyncTarget');
    expect(fin?.fields.bytes).to.equal(10 * 8192);
    await sameImages(c, 'node-a', 'node-b');
    expect(a.peers.get('node-b')?.status().out_of_sync_bytes).to.equal(0);
    expect(a.generations.bitmap).to.deep.equal({});
  });

  it('a split brain is detected, logged and not merged; discard-my-data resolves it', async () => {
    await primaryPair();
    const a = c.get('node-a');
    await a.io().write(0, pattern(1, 4096), false);
    c.logs.length = 0;
    await c.disconnect2();
    const b = c.get('node-b');
    // The operator's disconnect is counted, and is no error.
    const st = a.peers.get('node-b')?.status();
    expect(st?.connection).to.equal('StandAlone');
    expect(st?.last_error?.detail ?? '', JSON.stringify(st?.last_error)).not.to.include('disconnect');
    const closes = c.logs.filter((l) => l.includes('connection to'));
    expect(closes.length, c.logs.join('\n')).to.be.greaterThan(0);
    // The side that closed says why; the other saw its peer close, which it cannot tell from a failure.
    expect(closes.some((l) => l.includes(' info db: connection to') && l.includes('closed (local-close: disconnected by tandem replica disconnect)')), c.logs.join('\n')).to.equal(true);
    await b.promote(false);
    await a.io().write(4096, pattern(2, 4096), false);
    await b.io().write(8192, pattern(3, 4096), false);
    const imgA = await c.image('node-a');
    const imgB = await c.image('node-b');
    expect(imgA.equals(imgB)).to.equal(false);
    a.connect();
    b.connect();
    await waitFor('split brain logged', async () => c.logs.some((l) => l.includes('Split-Brain detected, dropping connection!')), 10000);
    await waitFor('both StandAlone', async () => a.peers.get('node-b')?.connection === 'StandAlone' && b.peers.get('node-a')?.connection === 'StandAlone', 10000);
    expect(a.peers.get('node-b')?.status().split_brain).to.equal(true);
    expect(a.peers.get('node-b')?.status().last_error?.detail, 'a refused connect is an error').to.include('Split-Brain');
    expect((await c.image('node-a')).equals(imgA)).to.equal(true);
    expect((await c.image('node-b')).equals(imgB)).to.equal(true);
    // Manual recovery (DRBD guide): the victim becomes Secondary and connects with --discard-my-data.
    await b.demote();
    b.discardMyData();
    a.connect();
    await established(c, 'node-a', 'node-b');
    await sameImages(c, 'node-a', 'node-b');
    expect((await c.image('node-b')).subarray(8192, 12288).equals(imgA.subarray(8192, 12288))).to.equal(true);
  });

  it('a daemon that stops closes its links saying so, not as an operator\'s disconnect; the peer shows that reason', async () => {
    await primaryPair();
    const a = c.get('node-a');
    c.logs.length = 0;
    await c.stop('node-b');
    await waitFor('a sees b gone', async () => a.peers.get('node-b')?.status().last_error !== null, 10000);
    expect(a.peers.get('node-b')?.status().last_error?.detail).to.equal('tandem on node-b is stopping');
    expect(c.logs.some((l) => l.startsWith('node-b info db: connection to node-a closed (local-close: tandem on node-b is stopping)')), c.logs.join('\n')).to.equal(true);
    expect(c.logs.join('\n')).not.to.include('tandem replica disconnect');
  });

  it('a Primary whose peer was Primary meanwhile (a stalled node): the link waits paused and the Primary refuses writes, so no after-sb policy discards the peer\'s; it resyncs once it demotes', async () => {
    for (const policy of ['disconnect', 'discard-secondary'] as const) {
      await primaryPair({ afterSb: { after_sb_1pri: policy } });
      const a = c.get('node-a');
      const b = c.get('node-b');
      await c.disconnect2(); // node-a stalls: node-b sees it gone and takes over
      await b.promote(false);
      await b.io().write(MiB, pattern(5, 8192), false);
      await b.demote(); // node-a comes back with the higher priority
      c.events.length = 0;
      a.connect();
      b.connect();
      await waitFor('paused both ways', async () => a.peers.get('node-b')?.replication === 'PausedSyncT' && b.peers.get('node-a')?.replication === 'PausedSyncS', 10000);
      expect(a.peers.get('node-b')?.status().resync_suspended).to.equal("node-b's data is to replace node-a's, which is Primary and in use: the resync waits until node-a is Secondary");
      expect(c.events.filter((e) => e.type === 'replica.peer-newer').map((e) => e.node), 'only the Primary is told').to.deep.equal(['node-a']);
      const imgA = await c.image('node-a');
      const imgB = await c.image('node-b');
      // A write here would start a generation of its own, a split brain that discard-secondary would resolve by dropping node-b's writes.
      const err = await a.io().write(2 * MiB, pattern(6, 4096), false).then(() => null, (e: Error & { code?: string }) => e);
      expect(err?.code, policy).to.equal('EIO');
      expect(err?.message).to.match(/^db: writes refused: node-b's data is to replace node-a's, .*make this node Secondary \(it then resyncs from node-b\), or `tandem replica disconnect db` to write on this node's own data/);
      expect((await c.image('node-a')).equals(imgA), 'nothing written').to.equal(true);
      expect(a.peers.get('node-b')?.replication, 'still paused, no split brain').to.equal('PausedSyncT');
      await a.demote(); // what an HA node does (ha-node.ts): the paused link decides again
      await waitFor('node-a resynced from node-b', async () => a.peers.get('node-b')?.replication === 'Established' && a.diskState === 'UpToDate', 15000);
      const started = c.events.find((e) => e.type === 'replica.resync.started' && e.node === 'node-a');
      expect(started?.fields, 'a bitmap resync, not a full one').to.include({ full: false });
      expect((await c.image('node-a')).equals(imgB)).to.equal(true);
      await c.destroy();
    }
  });

  it('writes stay refused when the paused link drops or decides again, until this node demotes or its operator disconnects; a peer promoted meanwhile without a write counts too', async () => {
    await primaryPair();
    const a = c.get('node-a');
    const b = c.get('node-b');
    await c.disconnect2();
    await b.promote(false); // no write: no bits prove nothing (a full-sync verdict or a directory would have none either)
    await b.demote();
    a.connect();
    b.connect();
    await waitFor('paused', async () => a.peers.get('node-b')?.replication === 'PausedSyncT', 10000);
    const write = (at: number): Promise<string> => a.io().write(at, pattern(8, 4096), false).then(() => 'written', (e: Error & { code?: string }) => String(e.code));
    expect(await write(0)).to.equal('EIO');
    await b.disconnect(); // the link drops: before, writes were taken again until the next handshake
    await waitFor('link gone', async () => a.peers.get('node-b')?.connected === false, 10000);
    expect(await write(0), 'still refused with the link down').to.equal('EIO');
    await a.disconnect(); // the operator chooses this node's own data
    expect(await write(0)).to.equal('written');
    expect(c.logs.some((l) => l.includes('node-a info db: writes taken again (tandem replica disconnect)'))).to.equal(true);
  });

  it('two Primaries that meet (one still hands over) are refused for now, not left StandAlone: once one demotes, they decide again', async () => {
    await primaryPair();
    const a = c.get('node-a');
    const b = c.get('node-b');
    await c.disconnect2();
    await b.promote(false);
    await b.io().write(MiB, pattern(5, 8192), false);
    c.logs.length = 0;
    c.events.length = 0;
    a.connect();
    b.connect();
    await waitFor('refused', async () => c.logs.some((l) => l.includes('refusing node-b: both sides are Primary (one Primary per volume); trying again until one is Secondary')), 10000);
    expect(a.peers.get('node-b')?.connection, 'dialed again, not StandAlone').to.not.equal('StandAlone');
    expect(b.peers.get('node-a')?.connection).to.not.equal('StandAlone');
    // node-a is the stale one of the two: it takes no writes meanwhile, and an HA node would step down on the event.
    await waitFor('node-a told', async () => c.events.some((e) => e.type === 'replica.peer-newer' && e.node === 'node-a'), 10000);
    expect(c.events.some((e) => e.type === 'replica.peer-newer' && e.node === 'node-b')).to.equal(false);
    expect(await a.io().write(2 * MiB, pattern(6, 4096), false).then(() => 'written', (e: Error & { code?: string }) => String(e.code))).to.equal('EIO');
    await b.demote(); // node-b's leave steps reach its demotion
    await waitFor('the link decided again: node-a waits for its own demotion', async () => a.peers.get('node-b')?.replication === 'PausedSyncT', 20000);
  });

  it('discard-my-data counts only for the next connect with a peer that is not connected: refused while connected, dropped by a promotion', async () => {
    await primaryPair();
    const a = c.get('node-a');
    const b = c.get('node-b');
    // Connected: no split brain waits, so it is refused (before, it stayed armed and resolved a later one unasked).
    expect(() => b.discardMyData()).to.throw(/every peer is connected/);
    expect(b.peers.get('node-a')?.status().discard_my_data).to.equal(false);
    await c.disconnect2();
    b.discardMyData();
    expect(b.peers.get('node-a')?.status().discard_my_data, 'armed for the StandAlone peer').to.equal(true);
    await b.disconnect(); // the operator changes their mind: b is promoted and written instead
    await b.promote(false);
    expect(b.peers.get('node-a')?.status().discard_my_data, 'a promotion drops it').to.equal(false);
    await b.io().write(8192, pattern(3, 4096), false);
    await a.io().write(4096, pattern(2, 4096), false);
    await b.demote();
    const imgA = await c.image('node-a');
    const imgB = await c.image('node-b');
    c.logs.length = 0;
    a.connect();
    b.connect();
    await waitFor('split brain logged', async () => c.logs.some((l) => l.includes('Split-Brain detected, dropping connection!')), 10000);
    await waitFor('both StandAlone', async () => a.peers.get('node-b')?.connection === 'StandAlone' && b.peers.get('node-a')?.connection === 'StandAlone', 10000);
    expect(c.logs.join('\n')).not.to.include('resolved by discard-my-data');
    expect((await c.image('node-a')).equals(imgA)).to.equal(true);
    expect((await c.image('node-b')).equals(imgB), 'node-b\'s changes are kept').to.equal(true);
  });

  it('discard-my-data given while a link is in its handshake starts that handshake again with it, so it is not left armed on a connected peer', async () => {
    c = await Cluster.create();
    const a = await c.start('node-a');
    const s = a.peers.get('node-b');
    await c.start('node-b');
    while (!(s?.connection === 'Connected' && !s.connected && s.status().bytes_sent > 0)) await new Promise((r) => setImmediate(r));
    a.discardMyData(); // our STATE, without the flag, has left already
    await waitFor('connected', async () => s?.connected === true && s.replication === 'Established', 10000);
    expect(s?.status().discard_my_data, 'used up by the connect it was given for').to.equal(false);
  });

  it('invalidate is refused while the only peer is in its connect handshake: it may be the one needing our data', async () => {
    c = await Cluster.create();
    const a = await c.start('node-a');
    const b = await c.start('node-b');
    await waitFor('connected', async () => a.peers.get('node-b')?.connected === true, 10000);
    await a.promote(true);
    await established(c, 'node-a', 'node-b');
    await a.demote();
    await c.disconnect2();
    await b.invalidate(); // node-b Inconsistent: node-a holds the only good copy
    const s = a.peers.get('node-b');
    a.connect();
    b.connect();
    while (!(s?.connection === 'Connected' && !s.connected)) await new Promise((r) => setImmediate(r));
    const refused = await a.invalidate().then(() => null, (e: Error) => e.message);
    expect(refused).to.equal('db is in its connect handshake with node-b: try again once that has decided (tandem replica status)');
    await waitFor('node-b synced from node-a', async () => b.diskState === 'UpToDate', 15000);
    expect(a.diskState).to.equal('UpToDate');
  });

  it('invalidate replaces the Secondary\'s data by a full sync from the Primary', async () => {
    await primaryPair();
    const fh = await open(c.config('node-b').device, 'r+');
    await fh.write(Buffer.alloc(4096, 0x99), 0, 4096, 3 * MiB);
    await fh.close();
    c.events.length = 0;
    let refused = '';
    await c.get('node-a').invalidate().catch((e: Error) => (refused = e.message));
    expect(refused).to.match(/Primary/);
    c.logs.length = 0;
    await c.get('node-b').invalidate();
    await waitFor('full resync', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-b'), 15000);
    // b dropped the link on purpose: no error, an info line; a saw its peer close it.
    expect(c.get('node-b').peers.get('node-a')?.status().last_error).to.equal(null);
    expect(c.logs).to.include('node-b info db: connection to node-a closed (local-close: invalidate: full resync from the peer)');
    const fin = c.events.find((e) => e.type === 'replica.resync.finished' && e.node === 'node-b');
    expect(fin?.fields.bytes).to.equal(8 * MiB);
    await established(c, 'node-a', 'node-b');
    await sameImages(c, 'node-a', 'node-b');
  });

  it('invalidate is refused on the SyncSource of a running resync: the last good copy is not dropped (both Inconsistent before)', async () => {
    await primaryPair({ resyncMaxRate: 2 * MiB }); // 8 MiB take about 4 s
    const a = c.get('node-a');
    const b = c.get('node-b');
    await a.demote();
    await waitFor('both see a Secondary peer', async () => b.peers.get('node-a')?.peerRole === 'Secondary', 5000);
    // A connect handshake still running would refuse the invalidate (invalidate-check.ts): wait for a settled link.
    await waitFor('node-a Established with node-b', async () => a.peers.get('node-b')?.connected === true && a.peers.get('node-b')?.replication === 'Established', 10000);
    await a.invalidate();
    await waitFor('b is SyncSource', async () => b.peers.get('node-a')?.replication === 'SyncSource', 10000);
    let refused = '';
    await b.invalidate().catch((e: Error) => (refused = e.message));
    expect(refused).to.equal('db has a resync or verify running with node-a (SyncSource): invalidate once it has ended');
    expect(b.diskState).to.equal('UpToDate');
    refused = '';
    // b turns SyncSource before a has left its side of the handshake (which refuses too, for another reason).
    await waitFor('a is SyncTarget', async () => a.peers.get('node-b')?.replication === 'SyncTarget', 10000);
    await a.invalidate().catch((e: Error) => (refused = e.message));
    expect(refused, 'the SyncTarget too').to.include('(SyncTarget)');
    await waitFor('resync finished', async () => a.diskState === 'UpToDate' && a.peers.get('node-b')?.replication === 'Established', 20000);
    await sameImages(c, 'node-a', 'node-b');
  });

  it('after-sb-0pri discard-zero-changes: the side that wrote nothing is resynced, the other keeps its data', async () => {
    await primaryPair({ afterSb: { after_sb_0pri: 'discard-zero-changes' } });
    const a = c.get('node-a');
    const b = c.get('node-b');
    await c.disconnect2();
    await a.io().write(MiB, pattern(7, 8192), false);
    await a.demote();
    await b.promote(false); // a new generation on b too, but no write
    await b.demote();
    const imgA = await c.image('node-a');
    a.connect();
    b.connect();
    await established(c, 'node-a', 'node-b');
    expect(c.logs.some((l) => /Split-Brain detected, resolved by discard-zero-changes: node-b discards its changes/.test(l))).to.equal(true);
    await sameImages(c, 'node-a', 'node-b');
    expect((await c.image('node-a')).equals(imgA)).to.equal(true);
  });

  it('after-sb-1pri discard-secondary: the Secondary\'s changes are replaced by the Primary\'s', async () => {
    await primaryPair({ afterSb: { after_sb_1pri: 'discard-secondary' } });
    const a = c.get('node-a');
    const b = c.get('node-b');
    await c.disconnect2();
    await a.io().write(0, pattern(8, 4096), false);
    await b.promote(false);
    await b.io().write(2 * MiB, pattern(9, 4096), false);
    await b.demote();
    const imgA = await c.image('node-a');
    a.connect();
    b.connect();
    await established(c, 'node-a', 'node-b');
    expect(c.logs.some((l) => /resolved by discard-secondary: node-b discards its changes/.test(l))).to.equal(true);
    await sameImages(c, 'node-a', 'node-b');
    expect((await c.image('node-b')).equals(imgA)).to.equal(true);
    expect(a.role).to.equal('Primary');
  });

  it('a wrong secret is refused and nothing is replicated', async () => {
    c = await Cluster.create();
    const a = await c.start('node-a');
    await c.start('node-b', Buffer.from('another secret'));
    await waitFor('auth failure logged', async () => c.logs.some((l) => /auth/i.test(l) && l.includes('warn')), 10000);
    await waitFor('StandAlone', async () => a.peers.get('node-b')?.connection === 'StandAlone', 10000);
    expect(a.peers.get('node-b')?.connected).to.equal(false);
    expect(c.get('node-b').peers.get('node-a')?.connected).to.equal(false);
    // The accepting side (b: node-a dials) shows it too.
    await waitFor('b shows the failure', async () => c.get('node-b').peers.get('node-a')?.status().last_error?.reason === 'auth-failed', 5000);
    // Once named (its code was in the detail too), and with what to check.
    expect(c.get('node-b').peers.get('node-a')?.status().last_error?.detail).to.match(/^response from "node-a" does not verify \(32 bytes\) \(a link from 127\.0\.0\.1:\d+; check that both nodes' replication\.secret_file hold the same secret\)$/);
    expect(a.peers.get('node-b')?.status().last_error?.detail).to.match(/; check that both nodes' replication\.secret_file hold the same secret$/);
  });

  it('a congestion_control the kernel does not have is logged once per node, not at every redial; the links run on the host\'s', async () => {
    c = await Cluster.create();
    c.congestionControl = 'no_such_cc';
    await c.start('node-a');
    const b = await c.start('node-b');
    await waitFor('connected', async () => c.get('node-a').peers.get('node-b')?.connected === true, 10000);
    const disconnects = b.status().peers[0]?.disconnects ?? 0;
    b.peers.get('node-a')?.reconnect('test: a second link');
    await waitFor('the second link', async () => (b.status().peers[0]?.disconnects ?? 0) > disconnects && b.status().peers[0]?.replication === 'Established', 15000);
    const host = readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
    expect(b.status().peers[0]?.tcp_congestion).to.equal(host);
    for (const n of ['node-a', 'node-b']) {
      const lines = c.logs.filter((l) => l.startsWith(`${n} warn db: replication.congestion_control no_such_cc not set on its links`));
      expect(lines, n).to.have.length(1);
      expect(lines[0]).to.include('(the kernel has no congestion control algorithm "no_such_cc" (loaded: ').and.include('they use the host\'s default');
    }
  });

  it('another node answering at a peer\'s address (a typo in peers[].address or node.name) shows in that peer\'s status', async () => {
    c = await Cluster.create();
    const wrong = new PeerListener({
      host: '127.0.0.1', port: c.config('node-b').listen.port,
      link: { node: 'node-x', volume: 'db', secret: SECRET, heartbeat: { intervalMs: 200, timeoutMs: 2000 } }, onLink: () => {},
    });
    await wrong.start();
    try {
      const a = await c.start('node-a'); // node-a dials node-b's address
      await waitFor('the refusal in status', async () => a.peers.get('node-b')?.status().last_error?.reason === 'unknown-peer', 10000);
      expect(a.peers.get('node-b')?.status().last_error?.detail).to.match(/^peer calls itself "node-x", expected "node-b" \(dialing 127\.0\.0\.1:\d+\)$/);
      expect(a.peers.get('node-b')?.connection, 'it keeps trying').to.equal('Connecting');
    } finally {
      await wrong.stop();
    }
  });

  it('online verify finds blocks changed behind the volume and marks them out of sync', async () => {
    await primaryPair();
    const fh = await open(c.config('node-b').device, 'r+');
    await fh.write(Buffer.alloc(100, 0xee), 0, 100, 5 * 4096 + 7);
    await fh.write(Buffer.alloc(4096, 0xdd), 0, 4096, 40 * 4096);
    await fh.close();
    c.get('node-a').verify();
    await waitFor('verify done', async () => c.events.some((e) => e.type === 'replica.verify.finished' && e.node === 'node-a'), 15000);
    const ev = c.events.find((e) => e.type === 'replica.verify.finished' && e.node === 'node-a');
    expect(ev?.fields.mismatched_bytes).to.equal(2 * 4096);
    expect(c.get('node-a').peers.get('node-b')?.status().out_of_sync_bytes).to.equal(2 * 4096);
    expect(c.logs).to.include('node-a info db: Online verify with node-b done: 8192 bytes out of sync (marked in the bitmap; they resync from node-a, the Primary, at the next connect (tandem replica disconnect db, then connect))');
    // VerifyT finishes as the last answer reaches it, which may be a moment after VerifyS did.
    const onB = 'node-b info db: Online verify with node-a done: 8192 bytes out of sync (marked in the bitmap; they resync from node-a, the Primary, at the next connect (tandem replica disconnect db, then connect))';
    await waitFor('VerifyT says the same', async () => c.logs.includes(onB), 10000);
  });

  it('a verify between two Secondaries says the marks move once one of them is Primary (it promised the next connect)', async () => {
    const { a } = await twoSecondaries();
    const fh = await open(c.config('node-b').device, 'r+');
    await fh.write(Buffer.alloc(4096, 0xdd), 0, 4096, 40 * 4096);
    await fh.close();
    a.verify();
    await waitFor('verify done', async () => c.events.some((e) => e.type === 'replica.verify.finished' && e.node === 'node-a'), 15000);
    expect(c.logs).to.include('node-a info db: Online verify with node-b done: 4096 bytes out of sync (marked in the bitmap; neither side is Primary, so they move once one of the two is (its copy wins), or invalidate the side that is wrong)');
  });
});
