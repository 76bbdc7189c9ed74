// An authenticated but misbehaving peer (it has the secret and a configured
// peer's name) against a real volume over loopback: every bad frame drops the
// link with a log line naming why, nothing reaches the disk, and the volume
// keeps working. The victim is node-b; the impostor calls itself node-a (node-b
// only accepts from node-a, since "node-a" sorts first), and the real node-a is
// not started until a test wants a genuine peer.
import { expect } from 'chai';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import { FLAG_ON_DISK, FLAG_ZEROES } from '../../../lib/replication/link/frame-types.js';
import { onFirstWriteWhileDisconnected, type Generations } from '../../../lib/replication/generations.js';
import type { PeerSession } from '../../../lib/replication/volume/peer.js';
import type { ReplicatedVolume } from '../../../lib/replication/volume/volume.js';
import { hashBlocks } from '../../../lib/replication/volume/verify.js';
import { encodeBitmapPieces } from '../../../lib/replication/volume/bitmap-chunks.js';
import {
  encodePeerOutOfSync, encodeResyncDataHeader, encodeResyncRequest, encodeState, encodeU64, encodeVerifyReply, encodeVerifyRequest, encodeWriteHeader,
  encodeZeroes, type PeerState,
} from '../../../lib/replication/volume/wire.js';
import { sleep, waitFor } from '../../helpers/env.js';
import { decodePromoteReply, encodePromoteReply } from '../../../lib/replication/volume/promote-wire.js';
import { Impostor } from './impostor.js';
import { MiB, pattern } from './pair-checks.js';
import { Cluster } from './pair-harness.js';

const SIZE = 8 * MiB;
const BS = 4096;

describe('replicated volume: a hostile authenticated peer', function () {
  this.timeout(60000);
  let c: Cluster;
  let v: ReplicatedVolume;
  let session: PeerSession;
  let port: number;
  const open: Impostor[] = [];

  // node-b with non-zero data, UpToDate at a generation of its own (a forced
  // promotion while node-a was away), Secondary.
  beforeEach(async () => {
    c = await Cluster.create({ size: SIZE });
    const block = pattern(7, 64 * 1024);
    await c.writeImage('node-b', Buffer.concat(Array.from({ length: SIZE / block.length }, () => block)));
    v = await c.start('node-b');
    await v.promote(true);
    await v.demote();
    session = v.peers.get('node-a') as PeerSession;
    port = c.config('node-b').listen.port;
  });

  afterEach(async function () {
    if (process.env.DUMP_LOGS && this.currentTest?.state === 'failed') console.log(c.logs.join('\n'));
    for (const i of open.splice(0)) await i.close();
    await c.destroy();
  });

  // What node-a would say for a pair in sync with node-b.
  const inSync = (o: Partial<PeerState> = {}): PeerState => ({
    role: 'Secondary', disk: 'UpToDate', generations: v.generations, size: SIZE, blockSize: BS, protocol: 'C', changedBlocks: 0, discardMyData: false, ...o,
  });

  async function connect(): Promise<Impostor> {
    const i = await Impostor.connect(port);
    open.push(i);
    return i;
  }

  // An impostor past the connect handshake, Established with the victim.
  async function established(o: Partial<PeerState> = {}): Promise<Impostor> {
    const i = await connect();
    await i.hello(inSync(o));
    await waitFor('the victim Established', async () => session.connected && session.replication === 'Established', 10000);
    return i;
  }

  // The victim dropped the impostor for `why`: the impostor got an ERROR saying so,
  // the victim logged it, and the volume is back to waiting for node-a.
  async function expectDropped(i: Impostor, why: string | RegExp, role: 'Primary' | 'Secondary' = 'Secondary'): Promise<void> {
    const info = await Promise.race([i.link.closed, sleep(10000).then(() => null)]);
    expect(info, 'the victim closed the link').to.not.equal(null);
    const matches = (s: string): boolean => (typeof why === 'string' ? s.includes(why) : why.test(s));
    expect(info?.reason).to.equal('peer-error');
    expect(matches(info?.detail ?? ''), `impostor was told: ${info?.detail}`).to.equal(true);
    await waitFor(`the victim logs ${String(why)}`, async () => c.logs.some((l) => l.startsWith('node-b warn') && matches(l)), 5000);
    await waitFor('the victim session is idle again', async () => !session.connected && session.connection === 'Connecting', 5000);
    const st = v.status();
    expect(st.role).to.equal(role);
    const peer = st.peers.find((p) => p.name === 'node-a');
    expect(peer?.connected).to.equal(false);
    expect(peer?.last_error?.reason).to.equal('protocol-error');
    expect(matches(peer?.last_error?.detail ?? '')).to.equal(true);
  }

  // The image is unchanged (after anything queued had time to land), and a
  // well-behaved peer can still connect.
  async function expectUntouchedAndWorking(before: Buffer): Promise<void> {
    await sleep(100);
    expect((await c.image('node-b')).equals(before), 'the image is unchanged').to.equal(true);
    const good = await established();
    expect(v.status().peers[0]?.connected).to.equal(true);
    await good.close();
    await waitFor('idle', async () => !session.connected, 5000);
  }

  it('control: a WRITE from a peer that said it is Primary reaches the disk and is acknowledged ON_DISK', async () => {
    const i = await established({ role: 'Primary' });
    const data = Buffer.alloc(BS, 0xa5);
    const seq = i.send('WRITE', Buffer.concat([encodeWriteHeader(3 * BS), data]));
    const ack = await i.frame('WRITE_ACK');
    expect(ack.flags & FLAG_ON_DISK).to.equal(FLAG_ON_DISK);
    expect(ack.payload.readBigUInt64BE(0)).to.equal(seq);
    expect((await c.image('node-b')).subarray(3 * BS, 4 * BS).equals(data)).to.equal(true);
  });

  it('a WRITE from a peer that is not Primary', async () => {
    const before = await c.image('node-b');
    const i = await established({ role: 'Secondary' });
    i.send('WRITE', Buffer.concat([encodeWriteHeader(0), Buffer.alloc(BS, 0xee)]));
    await expectDropped(i, 'WRITE from a peer that is not Primary');
    expect(session.writesReceived).to.equal(0);
    await expectUntouchedAndWorking(before);
  });

  it('a WRITE past the end of the volume from a peer that claimed Primary (data, zeroes, offset near 2^53)', async () => {
    const before = await c.image('node-b');
    const bad: Array<[string, Buffer, number]> = [
      ['data over the end', Buffer.concat([encodeWriteHeader(SIZE - BS), Buffer.alloc(2 * BS, 1)]), 0],
      ['data after the end', Buffer.concat([encodeWriteHeader(SIZE), Buffer.alloc(1, 1)]), 0],
      ['zeroes over the end', encodeZeroes(SIZE - BS, 2 * BS), FLAG_ZEROES],
      ['zeroes of 4 GiB', encodeZeroes(0, 0xffffffff), FLAG_ZEROES],
      ['offset 2^53 - 1', Buffer.concat([encodeWriteHeader(2 ** 53 - 1), Buffer.alloc(BS, 1)]), 0],
    ];
    for (const [what, payload, flags] of bad) {
      const i = await established({ role: 'Primary' });
      i.send('WRITE', payload, flags);
      await expectDropped(i, /WRITE \d+\+\d+ ends past the volume's 8388608 bytes/);
      expect(session.writesReceived, what).to.equal(0);
      c.logs.length = 0;
    }
    await expectUntouchedAndWorking(before);
  });

  it('PEER_OUT_OF_SYNC from a peer that is not Primary, malformed, or past the end drops the link; one naming no other peer of ours is logged and ignored', async () => {
    const before = await c.image('node-b');
    const bad: Array<[Partial<PeerState>, Buffer, string | RegExp]> = [
      [{ role: 'Secondary' }, encodePeerOutOfSync({ offset: 0, length: BS, peer: 'node-c' }), 'PEER_OUT_OF_SYNC from a peer that is not Primary'],
      [{ role: 'Primary' }, Buffer.alloc(5), 'PEER_OUT_OF_SYNC payload is 5 bytes, want 12 and a name'],
      [{ role: 'Primary' }, Buffer.concat([encodePeerOutOfSync({ offset: 0, length: BS, peer: 'x' }).subarray(0, 12), Buffer.from([0xff, 0xfe])]), 'PEER_OUT_OF_SYNC peer: name is not UTF-8'],
      [{ role: 'Primary' }, encodePeerOutOfSync({ offset: SIZE - BS, length: 2 * BS, peer: 'node-c' }), /PEER_OUT_OF_SYNC \d+\+\d+ ends past the volume's 8388608 bytes/],
    ];
    for (const [state, payload, why] of bad) {
      const i = await established(state);
      i.send('PEER_OUT_OF_SYNC', payload);
      await expectDropped(i, why);
      c.logs.length = 0;
    }
    const i = await established({ role: 'Primary' });
    for (const peer of ['node-c', 'node-a']) i.send('PEER_OUT_OF_SYNC', encodePeerOutOfSync({ offset: 0, length: 64 * 1024, peer }));
    const seq = i.send('WRITE', Buffer.concat([encodeWriteHeader(0), Buffer.alloc(BS, 0x5a)]));
    expect((await i.frame('WRITE_ACK')).payload.readBigUInt64BE(0)).to.equal(seq); // the link lives on
    for (const peer of ['node-c', 'node-a']) expect(c.logs).to.include(`node-b warn db: node-a says ${peer} missed writes, but ${peer} is not another peer of ours: nothing is tracked for it here (do the configurations differ?)`);
    expect(v.bitmapFor('node-a').countSet()).to.equal(0);
    await i.close();
    await waitFor('idle', async () => !session.connected, 5000);
    expect((await c.image('node-b')).subarray(BS).equals(before.subarray(BS))).to.equal(true);
  });

  it('a WRITE offset beyond 2^53 is a decode error', async () => {
    const before = await c.image('node-b');
    const i = await established({ role: 'Primary' });
    const head = Buffer.alloc(8);
    head.writeBigUInt64BE(2n ** 63n);
    i.send('WRITE', Buffer.concat([head, Buffer.alloc(BS, 1)]));
    await expectDropped(i, 'WRITE offset beyond 2^53');
    await expectUntouchedAndWorking(before);
  });

  it('a WRITE before STATE and BITMAP (during the connect handshake)', async () => {
    const before = await c.image('node-b');
    const i = await connect();
    i.send('WRITE', Buffer.concat([encodeWriteHeader(0), Buffer.alloc(BS, 0xee)]));
    await expectDropped(i, 'WRITE during the connect handshake (want STATE, then BITMAP)');
    // Between STATE and BITMAP, even claiming Primary.
    const j = await connect();
    j.send('STATE', encodeState(inSync({ role: 'Primary' })));
    j.send('WRITE', Buffer.concat([encodeWriteHeader(0), Buffer.alloc(BS, 0xee)]));
    await expectDropped(j, 'WRITE during the connect handshake');
    expect(session.writesReceived).to.equal(0);
    await expectUntouchedAndWorking(before);
  });

  it('a STATE that is not JSON, at connect and later', async () => {
    const before = await c.image('node-b');
    const i = await connect();
    i.send('STATE', Buffer.from('{"role":"Primary",'));
    await expectDropped(i, 'STATE is not JSON');
    const j = await connect();
    j.send('STATE', Buffer.from([0xff, 0x00, 0x13]));
    await expectDropped(j, 'STATE is not JSON');
    // Valid JSON, wrong shape.
    const k = await connect();
    k.send('STATE', Buffer.from(JSON.stringify({ ...JSON.parse(encodeState(inSync()).toString()) as object, role: 'Boss' })));
    await expectDropped(k, 'STATE role "Boss" is not Primary or Secondary');
    // After the handshake.
    const l = await established({ role: 'Primary' });
    l.send('STATE', Buffer.from('not json'));
    await expectDropped(l, 'STATE is not JSON');
    await expectUntouchedAndWorking(before);
  });

  it('a BITMAP with the wrong geometry, a corrupt or whole one, pieces out of order, or one before STATE', async () => {
    const before = await c.image('node-b');
    for (const [bm, why] of [
      [new Bitmap(2 * SIZE, BS), 'BITMAP: bitmap piece geometry 16777216/4096 is not the volume\'s 8388608/4096'],
      [new Bitmap(SIZE, 512), 'BITMAP: bitmap piece geometry 8388608/512'],
    ] as const) {
      const i = await connect();
      await i.frame('BITMAP');
      i.send('STATE', encodeState(inSync({ role: 'Primary' })));
      for (const piece of encodeBitmapPieces(bm)) i.send('BITMAP', piece);
      await expectDropped(i, why);
    }
    const [good] = encodeBitmapPieces(new Bitmap(SIZE, BS));
    const bad = Buffer.from(good as Buffer);
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 1, bad.length - 1); // the crc no longer matches
    const j = await connect();
    j.send('STATE', encodeState(inSync()));
    j.send('BITMAP', bad);
    await expectDropped(j, 'BITMAP: bitmap piece: crc32 mismatch');
    const k = await connect();
    k.send('BITMAP', good as Buffer);
    await expectDropped(k, 'BITMAP during the connect handshake');
    const l = await connect();
    l.send('STATE', encodeState(inSync()));
    l.send('BITMAP', Buffer.from('TNDMBMAP'));
    await expectDropped(l, 'BITMAP: bitmap piece of 8 bytes');
    // A whole bitmap of link protocol 4 on a link that speaks 5.
    const m = await connect();
    m.send('STATE', encodeState(inSync()));
    m.send('BITMAP', new Bitmap(SIZE, BS).serialize());
    await expectDropped(m, 'BITMAP: bitmap piece coding');
    // Pieces of 32 blocks each: the second sent first.
    const pieces = encodeBitmapPieces(new Bitmap(SIZE, BS), 32);
    const n = await connect();
    n.send('STATE', encodeState(inSync()));
    n.send('BITMAP', pieces[1] as Buffer);
    await expectDropped(n, 'BITMAP: bitmap piece starts at block 32, want 0');
    await expectUntouchedAndWorking(before);
  });

  it('a STATE for another volume size or protocol makes the victim StandAlone, not corrupt', async () => {
    const before = await c.image('node-b');
    const i = await connect();
    await i.hello(inSync({ size: 2 * SIZE, role: 'Primary' })); // its bitmap is of its own size, as a real peer's (a protocol error on every redial before)
    const info = await i.link.closed;
    expect(info.detail).to.match(/its volume is 16777216 bytes/);
    expect(session.connection).to.equal('StandAlone');
    expect((await c.image('node-b')).equals(before)).to.equal(true);
    v.connect(); // the operator's `tandem replica connect`
    const j = await connect();
    await j.hello(inSync({ protocol: 'A' }));
    expect((await j.link.closed).detail).to.match(/it runs protocol A, we run C/);
    expect(session.connection).to.equal('StandAlone');
    v.connect();
    await expectUntouchedAndWorking(before);
  });

  it('a node whose name is not a configured peer is refused, and the peer at that address shows why (a typo in peers[].name)', async () => {
    const before = await c.image('node-b');
    const i = await Impostor.connect(port, 'node-x');
    open.push(i);
    const info = await i.link.closed;
    expect(info.detail).to.equal('protocol-error: node-x is not a configured peer of db (peers: node-a)');
    const last = v.status().peers.find((p) => p.name === 'node-a')?.last_error;
    expect(last?.reason).to.equal('unknown-peer');
    expect(last?.detail).to.match(/^a node calling itself "node-x" connected from 127\.0\.0\.1:\d+, and db's peers are node-a: check its node\.name and our peers\[\]\.name$/);
    await expectUntouchedAndWorking(before);
  });

  it('RESYNC_DATA that was never requested (no resync running)', async () => {
    const before = await c.image('node-b');
    const i = await established({ role: 'Primary' });
    i.send('RESYNC_DATA', Buffer.concat([encodeResyncDataHeader(0, BS, false), Buffer.alloc(BS, 0xee)]));
    await expectDropped(i, 'RESYNC_DATA while not SyncTarget');
    await expectUntouchedAndWorking(before);
  });

  describe('while the victim is SyncTarget', () => {
    // node-a ran ahead of node-b (it wrote while node-b was away): node-b's current is
    // node-a's bitmap UUID, so node-b is a bitmap-based SyncTarget for blocks 0..3.
    let ahead: Generations | null = null;
    beforeEach(() => {
      ahead = null;
    });
    const dirty = (): Bitmap => {
      const b = new Bitmap(SIZE, BS);
      b.setRange(0, 4 * BS);
      return b;
    };
    async function syncTarget(): Promise<Impostor> {
      ahead ??= onFirstWriteWhileDisconnected(v.generations, 'node-b');
      const i = await connect();
      await i.hello(inSync({ role: 'Primary', generations: ahead, changedBlocks: 4 }), dirty());
      await waitFor('the victim SyncTarget', async () => session.replication === 'SyncTarget', 10000);
      return i;
    }

    it('RESYNC_DATA for a range it did not request, or with another length', async () => {
      const before = await c.image('node-b');
      const i = await syncTarget();
      const req = await i.frame('RESYNC_REQUEST');
      expect(req.payload.equals(encodeResyncRequest(0, 4 * BS, null))).to.equal(true);
      i.send('RESYNC_DATA', Buffer.concat([encodeResyncDataHeader(MiB, BS, false), Buffer.alloc(BS, 0xee)]));
      await expectDropped(i, `RESYNC_DATA ${MiB}+${BS} was not requested`);
      const j = await syncTarget();
      await j.frame('RESYNC_REQUEST');
      j.send('RESYNC_DATA', Buffer.concat([encodeResyncDataHeader(0, BS, false), Buffer.alloc(BS, 0xee)]));
      await expectDropped(j, `RESYNC_DATA 0+${BS} was not requested`);
      await sleep(100);
      expect((await c.image('node-b')).equals(before)).to.equal(true);
      expect(v.diskState).to.equal('Inconsistent'); // the resync did not finish
      // An honest source then completes the resync: the victim is UpToDate at its generation.
      const k = await syncTarget();
      await k.frame('RESYNC_REQUEST');
      k.send('RESYNC_DATA', Buffer.concat([encodeResyncDataHeader(0, 4 * BS, false), before.subarray(0, 4 * BS)]));
      await k.frame('RESYNC_DONE');
      await waitFor('UpToDate', async () => v.diskState === 'UpToDate' && v.generations.current === ahead?.current, 5000);
      expect((await c.image('node-b')).equals(before)).to.equal(true);
    });
  });

  it('valid frame types in the wrong phase', async () => {
    const before = await c.image('node-b');
    const cases: Array<[string, (i: Impostor) => void, string]> = [
      ['RESYNC_REQUEST while Established', (i) => i.send('RESYNC_REQUEST', encodeResyncRequest(0, BS, null)), 'RESYNC_REQUEST while not SyncSource'],
      ['RESYNC_DONE while Established', (i) => i.send('RESYNC_DONE'), 'RESYNC_DONE while not SyncSource'],
      ['VERIFY_REPLY without a verify', (i) => i.send('VERIFY_REPLY', encodeVerifyReply(0, BS, [0])), 'VERIFY_REPLY without a verify running'],
      ['BITMAP after the handshake', (i) => i.send('BITMAP', new Bitmap(SIZE, BS).serialize()), 'BITMAP is not expected after the connect handshake'],
      ['WRITE_ACK with a bad payload', (i) => i.send('WRITE_ACK', Buffer.alloc(3)), 'WRITE_ACK payload is 3 bytes, want 8'],
      ['BARRIER with a bad payload', (i) => i.send('BARRIER', Buffer.alloc(0)), 'BARRIER payload is 0 bytes, want 8'],
      ['VERIFY_REQUEST past the end', (i) => i.send('VERIFY_REQUEST', encodeVerifyRequest(SIZE - BS, 2 * BS, Buffer.alloc(32))), 'VERIFY_REQUEST 8384512+8192 ends past the volume'],
    ];
    for (const [what, act, why] of cases) {
      const i = await established({ role: what.startsWith('RESYNC') ? 'Primary' : 'Secondary' });
      act(i);
      await expectDropped(i, why);
      c.logs.length = 0;
    }
    for (const [type, why] of [['BARRIER', 'BARRIER during the connect handshake'], ['VERIFY_REQUEST', 'VERIFY_REQUEST during the connect handshake'], ['RESYNC_DONE', 'RESYNC_DONE during the connect handshake']] as const) {
      const i = await connect();
      i.send(type, type === 'BARRIER' ? encodeU64(1) : type === 'VERIFY_REQUEST' ? encodeVerifyRequest(0, BS, Buffer.alloc(16)) : Buffer.alloc(0));
      await expectDropped(i, why);
    }
    // A second STATE during the handshake.
    const j = await connect();
    j.send('STATE', encodeState(inSync()));
    j.send('STATE', encodeState(inSync()));
    await expectDropped(j, 'STATE during the connect handshake');
    await expectUntouchedAndWorking(before);
  });

  it('a peer that turns Primary while the victim is Primary is dropped; the victim stays Primary', async () => {
    await v.promote(false);
    const before = await c.image('node-b');
    const i = await connect();
    await i.hello(inSync({ generations: v.generations }));
    await waitFor('Established', async () => session.connected, 10000);
    i.send('STATE', encodeState(inSync({ role: 'Primary', generations: v.generations })));
    await expectDropped(i, 'both sides are Primary: refusing two Primaries on one volume', 'Primary');
    expect(v.role).to.equal('Primary');
    await sleep(100);
    expect((await c.image('node-b')).equals(before)).to.equal(true);
  });

  it('after all that, the genuine node-a connects and is fully synced from the victim', async () => {
    const i = await established({ role: 'Secondary' });
    i.send('WRITE', Buffer.concat([encodeWriteHeader(0), Buffer.alloc(BS, 0xee)]));
    await expectDropped(i, 'WRITE from a peer that is not Primary');
    await c.start('node-a'); // fresh: node-b, UpToDate, is its full sync source
    await waitFor('synced', async () => c.events.some((e) => e.type === 'replica.resync.finished' && e.node === 'node-a'), 20000);
    expect((await c.image('node-a')).equals(await c.image('node-b'))).to.equal(true);
  });

  it('a peer that says Primary at connect while the victim is Primary is refused, and its WRITE does not land', async () => {
    await v.promote(false);
    const before = await c.image('node-b');
    const i = await connect();
    await i.hello(inSync({ role: 'Primary', generations: v.generations }));
    await sleep(300);
    if (i.link.state === 'established') i.send('WRITE', Buffer.concat([encodeWriteHeader(0), Buffer.alloc(BS, 0xee)]));
    const info = await Promise.race([i.link.closed, sleep(3000).then(() => null)]);
    expect(info, 'the link is dropped').to.not.equal(null);
    await sleep(100);
    expect((await c.image('node-b')).equals(before), 'the Primary\'s image is unchanged').to.equal(true);
  });

  it('a peer promoted right after a VERIFY_REQUEST may send WRITEs (stream order)', async () => {
    const i = await established({ role: 'Secondary' });
    const data = await c.image('node-b');
    // 4 MiB to hash: the fence is still running when the next frames arrive.
    i.send('VERIFY_REQUEST', encodeVerifyRequest(0, 4 * MiB, hashBlocks(data.subarray(0, 4 * MiB), BS)));
    i.send('STATE', encodeState(inSync({ role: 'Primary' })));
    const w = Buffer.alloc(BS, 0x5c);
    const seq = i.send('WRITE', Buffer.concat([encodeWriteHeader(5 * MiB), w]));
    const ack = await waitFor('WRITE_ACK', async () => i.frames.find((f) => f.type === 'WRITE_ACK' && f.payload.readBigUInt64BE(0) >= seq), 5000);
    expect(ack).to.not.equal(undefined);
    expect(i.link.state).to.equal('established');
    expect((await c.image('node-b')).subarray(5 * MiB, 5 * MiB + BS).equals(w)).to.equal(true);
  });

  it('frames queued behind the frame that failed the link are not handled', async () => {
    const before = await c.image('node-b');
    const i = await established({ role: 'Primary' });
    i.send('WRITE', Buffer.concat([encodeWriteHeader(SIZE), Buffer.alloc(1)]));
    i.send('WRITE', Buffer.concat([encodeWriteHeader(0), Buffer.alloc(BS, 0xee)]));
    i.send('STATE', Buffer.from('garbage'));
    i.send('WRITE', Buffer.concat([encodeWriteHeader(BS), Buffer.alloc(BS, 0xee)]));
    await expectDropped(i, 'ends past the volume');
    await sleep(200);
    expect(session.writesReceived).to.equal(0);
    expect((await c.image('node-b')).equals(before), 'the image is unchanged').to.equal(true);
  });

  it('a peer that turns Primary while the victim is Primary cannot write to the victim\'s disk', async () => {
    await v.promote(false);
    const before = await c.image('node-b');
    const i = await connect();
    await i.hello(inSync({ generations: v.generations }));
    await waitFor('Established', async () => session.connected, 10000);
    i.send('STATE', encodeState(inSync({ role: 'Primary', generations: v.generations })));
    i.send('WRITE', Buffer.concat([encodeWriteHeader(0), Buffer.alloc(BS, 0xee)]));
    await expectDropped(i, 'both sides are Primary', 'Primary');
    await sleep(200);
    expect((await c.image('node-b')).equals(before), 'the Primary\'s image is unchanged').to.equal(true);
  });

  it('a VERIFY_REPLY for a range the victim never asked about', async () => {
    const i = await established({ role: 'Secondary' });
    v.verify();
    await i.frame('VERIFY_REQUEST');
    // The victim asks about [0, 4 MiB) first; answer about the last MiB instead.
    i.send('VERIFY_REPLY', encodeVerifyReply(7 * MiB, MiB, [0]));
    await expectDropped(i, /VERIFY_REPLY .*not requested|was not requested/);
    expect(v.status().peers[0]?.out_of_sync_bytes).to.equal(0);
    expect(c.logs.some((l) => l.includes('Online verify with node-a done'))).to.equal(false);
  });

  describe('promotion agreement', () => {
    it('a PROMOTE_REPLY to no request of the victim\'s, and a PROMOTE_REQUEST of the wrong size', async () => {
      const before = await c.image('node-b');
      const i = await established();
      i.send('PROMOTE_REPLY', encodePromoteReply(77n, { grant: true }));
      await expectDropped(i, 'PROMOTE_REPLY 77 answers no request of ours');
      const j = await established();
      j.send('PROMOTE_REQUEST', Buffer.alloc(7));
      await expectDropped(j, 'PROMOTE_REQUEST payload is 7 bytes, want 8');
      await expectUntouchedAndWorking(before);
    });

    it('a Secondary grants one request and holds it: its own promotion is refused until the requester aborts', async () => {
      const i = await established();
      i.send('PROMOTE_REQUEST', encodeU64(5n));
      const reply = decodePromoteReply((await i.frame('PROMOTE_REPLY')).payload);
      expect(reply).to.deep.equal({ ok: true, value: { id: 5n, verdict: { grant: true } } });
      const refused = await v.promote(false).then(() => null, (e: Error) => e.message);
      expect(refused).to.equal('db: node-a is becoming Primary (one Primary per volume)');
      i.send('PROMOTE_ABORT', encodeU64(5n));
      await waitFor('the grant released', async () => v.promoteArbiter.holder(Date.now()) === null, 5000);
      expect(v.role).to.equal('Secondary');
      expect(session.connected, 'the link stays up').to.equal(true);
    });

    it('a Primary refuses a request and says why', async () => {
      await v.promote(true); // no peer connected: nobody to ask
      const i = await connect();
      await i.hello(inSync());
      await waitFor('Established', async () => session.connected, 10000);
      i.send('PROMOTE_REQUEST', encodeU64(9n));
      const reply = decodePromoteReply((await i.frame('PROMOTE_REPLY')).payload);
      expect(reply).to.deep.equal({ ok: true, value: { id: 9n, verdict: { grant: false, reason: 'node-b is Primary' } } });
    });

    it('a peer that never answers the victim\'s PROMOTE_REQUEST is dropped after the timeout, and the promotion goes on without it', async () => {
      await c.destroy();
      c = await Cluster.create({ size: SIZE, timeoutMs: 500 });
      v = await c.start('node-b');
      await v.promote(true);
      await v.demote();
      session = v.peers.get('node-a') as PeerSession;
      port = c.config('node-b').listen.port;
      const i = await established();
      const started = Date.now();
      await v.promote(false);
      await i.frame('PROMOTE_REQUEST'); // it was asked, and said nothing
      expect(Date.now() - started).to.be.at.least(450);
      expect(v.role).to.equal('Primary');
      expect(session.connected).to.equal(false);
      await waitFor('the drop logged', async () => c.logs.some((l) => l.includes('no answer to PROMOTE_REQUEST within 500 ms')), 5000);
    });
  });
});
