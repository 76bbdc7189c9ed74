// Online verify with one peer, in either role: as VerifyS it runs a
// VerifySource over the link; as VerifyT it hashes its own blocks for each
// VERIFY_REQUEST (in stream order, so both sides hash the same generation)
// and answers which differ. Both sides mark the differing blocks out of sync
// towards the peer. The peer session owns the link; the verify moves its
// replication state between Established and VerifyS / VerifyT.
import type { Frame } from '../link/frame.js';
import type { PeerLink } from '../link/peer-link.js';
import type { ReplicationState, Role } from '../states.js';
import type { PeerPart } from './peer-part.js';
import type { VerifyProgress } from './status-types.js';
import { VerifySource, blockRanges, differingBlocks, hashBlocks } from './verify.js';
import { decodeVerifyReply, decodeVerifyRequest, encodeVerifyReply } from './wire.js';

// What the verify needs from its peer session, beyond any part's.
export interface VerifySession extends PeerPart {
  peerRole(): Role;
  replication(): ReplicationState;
  setReplication(r: ReplicationState): void;
}

interface Tally {
  total: number;
  done: number;
  mismatched: number;
}

export class PeerVerify {
  private source: VerifySource | null = null;
  private target: Tally | null = null;

  constructor(private readonly s: VerifySession) {}

  // `tandem replica verify`, on an Established link (the session checked): VerifyS hashes and sends every range.
  startSource(link: PeerLink): void {
    const { host } = this.s;
    const { size, blockSize } = host.cfg;
    this.s.setReplication('VerifyS');
    this.source = new VerifySource({
      link, disk: host.disk, lock: host.lock, size, blockSize, onMismatch: (o, l) => this.markOutOfSync(o, l),
      onDone: (mismatched) => {
        this.source = null;
        if (!this.s.isCurrent(link)) return;
        this.s.setReplication('Established');
        if (link.state === 'established') link.send({ type: 'VERIFY_DONE', payload: Buffer.of(1) });
        this.finished(mismatched);
      },
    });
    this.source.start();
  }

  // VERIFY_REPLY: VerifyS learns which blocks of a range differ.
  onReply(link: PeerLink, f: Frame): void {
    const r = decodeVerifyReply(f.payload, this.s.host.cfg.blockSize);
    if (!r.ok) return this.s.drop(link, r.detail);
    if (this.source === null) return this.s.drop(link, 'VERIFY_REPLY without a verify running');
    if (!this.source.onReply(r.value)) this.s.drop(link, `VERIFY_REPLY ${r.value.offset}+${r.value.length} was not requested`);
  }

  // VERIFY_REQUEST: VerifyT begins with the first one, and answers each in stream order.
  onRequest(link: PeerLink, f: Frame): void {
    const { host } = this.s;
    const r = decodeVerifyRequest(f.payload, host.cfg.blockSize);
    if (!r.ok) return this.s.drop(link, r.detail);
    const { offset, length, hashes } = r.value;
    if (offset + length > host.cfg.size) return this.s.drop(link, `VERIFY_REQUEST ${offset}+${length} ends past the volume`);
    if (this.s.replication() === 'Established') {
      this.s.setReplication('VerifyT');
      this.target = { total: host.cfg.size, done: 0, mismatched: 0 };
    }
    // A Secondary's pages serve no reader; a Primary's do, so it reads through its cache.
    this.s.receiver()?.inOrder({ seq: f.seq, range: null, run: () => this.answer(link, offset, length, hashes, host.role !== 'Primary') });
  }

  // VERIFY_DONE: VerifyT is over.
  onDone(): void {
    if (this.s.replication() !== 'VerifyT') return;
    this.s.setReplication('Established');
    const t = this.target;
    this.target = null;
    this.finished(t?.mismatched ?? 0);
  }

  // The link ended: whatever ran is over.
  stop(): void {
    this.source?.stop();
    this.source = null;
    this.target = null;
  }

  status(): VerifyProgress | null {
    const v = this.source?.progress() ?? (this.target === null ? null : { ...this.target });
    if (v === null) return null;
    return {
      direction: this.source !== null ? 'VerifyS' : 'VerifyT', total_bytes: v.total, done_bytes: v.done,
      percent: v.total === 0 ? 100 : Math.floor((1000 * v.done) / v.total) / 10, mismatched_bytes: v.mismatched,
    };
  }

  // One VERIFY_REQUEST, run in stream order: our hashes against theirs, and the answer.
  private async answer(link: PeerLink, offset: number, length: number, theirs: Buffer, uncached: boolean): Promise<void> {
    const { disk, cfg } = this.s.host;
    const data = await (uncached ? disk.readUncached(offset, length) : disk.read(offset, length));
    const bad = differingBlocks(hashBlocks(data, cfg.blockSize), theirs);
    for (const m of blockRanges(offset, length, cfg.blockSize, bad)) {
      this.markOutOfSync(m.offset, m.length);
      if (this.target) this.target.mismatched += m.length;
    }
    if (this.target) this.target.done += length;
    if (link.state === 'established') link.send({ type: 'VERIFY_REPLY', payload: encodeVerifyReply(offset, length, bad) });
  }

  private markOutOfSync(offset: number, length: number): void {
    this.s.host.bitmapFor(this.s.peer).setRange(offset, length);
  }

  private finished(mismatched: number): void {
    const { host, peer } = this.s;
    const v = host.cfg.name;
    // Marked on both sides: at the next connect the Primary's copy wins; between two Secondaries nothing decides which.
    const primary = host.role === 'Primary' ? host.node : this.s.peerRole() === 'Primary' ? peer : null;
    const next = primary !== null
      ? `they resync from ${primary}, the Primary, at the next connect (tandem replica disconnect ${v}, then connect)`
      : `neither side is Primary, so they move once one of the two is (its copy wins), or invalidate the side that is wrong`;
    host.log.info(`${v}: Online verify with ${peer} done: ${mismatched} bytes out of sync${mismatched > 0 ? ` (marked in the bitmap; ${next})` : ''}`);
    host.emit('replica.verify.finished', { volume: v, peer, mismatched_bytes: mismatched });
    this.s.background(host.persist(), 'saving the verify result');
  }
}
