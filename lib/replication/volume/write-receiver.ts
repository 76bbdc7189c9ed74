// The Secondary's side of one link's stream: everything the Primary sends is
// applied in stream order (applier.ts), and writes are acknowledged as the
// protocol asks: B, a cumulative "received" ack as frames arrive; A and C, a
// cumulative ON_DISK ack as the applied prefix grows (the Primary's protocol A
// uses it only to bound what is unacknowledged). One per link.
import type { ReplicationProtocol } from '../../config/types.js';
import { payloadPool } from '../../net/buffer-pool.js';
import type { FileBackend } from '../block/nbd/file-backend.js';
import { FLAG_ON_DISK } from '../link/frame-types.js';
import type { PeerLink } from '../link/peer-link.js';
import { OrderedApplier, type ApplyJob } from './applier.js';
import type { ApplyWrite } from './secondary-log.js';
import { encodeU64 } from './wire.js';
import { MAX_WRITE_FRAME } from './write-sender.js';

const APPLY_IN_FLIGHT = 32; // concurrent non-overlapping writes
const APPLY_BACKLOG_MAX = 1024; // frames waiting to apply before we stop reading the link
const APP_BUSY_MS = 200; // a write this recent means the application is using the link

export class WriteReceiver {
  private readonly applier: OrderedApplier;
  private writeSeqs: bigint[] = []; // WRITE sequence numbers not yet acknowledged ON_DISK
  private ackScheduled = false;
  private receivedAckScheduled = false;
  private lastReceivedWrite = -1n;
  private lastWriteAt = 0;
  private watermark = -1n;
  private stopped = false;

  constructor(
    private readonly link: PeerLink,
    private readonly disk: FileBackend,
    private readonly protocol: ReplicationProtocol,
    // Writes under the volume's activity log (secondary-log.ts).
    private readonly logged: (offset: number, length: number, write: ApplyWrite) => Promise<void> | void,
    onError: (err: unknown) => void,
  ) {
    this.applier = new OrderedApplier(APPLY_IN_FLIGHT, (seq) => this.onWatermark(seq), onError);
  }

  // More is waiting than the applier should hold: stop reading the link until it is idle.
  get overloaded(): boolean {
    return this.applier.backlog > APPLY_BACKLOG_MAX;
  }

  // Whether the application wrote through the Primary within the last moments (resync yields to it).
  appBusy(now: number): boolean {
    return now - this.lastWriteAt < APP_BUSY_MS;
  }

  idle(): Promise<void> {
    return this.applier.idle();
  }

  // Nothing more is applied or acknowledged (the link ended or failed). A write already started but still
  // waiting for its activity-log save writes nothing: the Primary counts it unacknowledged, and a lost
  // Primary's reconcile (taken now) must cover every write that reaches our disk.
  stop(): void {
    this.stopped = true;
    this.applier.stop();
  }

  // Anything else in stream order: a fence when `range` is null.
  inOrder(job: ApplyJob): void {
    this.applier.push(job);
  }

  write(seq: bigint, offset: number, length: number, data: Buffer | null, fua: boolean, now: number): void {
    this.lastWriteAt = now;
    this.writeSeqs.push(seq);
    this.lastReceivedWrite = seq;
    if (this.protocol === 'B') this.scheduleReceivedAck();
    const disk = this.disk;
    // One part, or several when our log is smaller than the Primary's (secondary-log.ts).
    const write: ApplyWrite = (o, l) => {
      if (this.stopped) return;
      const part = data === null || l === length ? data : data.subarray(o - offset, o - offset + l);
      if (part === null) return disk.writeZeroes(o, l, fua);
      // Inline whatever its size: under protocol C the Primary's reply waits for it, and a hop through the
      // thread pool and back adds a wake-up on a busy machine (1 MiB benchmark: +6 % median in 11 A/B rounds).
      if (fua || !disk.writeInline(o, part, MAX_WRITE_FRAME)) return disk.write(o, part, fua);
    };
    this.applier.push({
      seq, range: { offset, length },
      // The frame's buffer goes back to the pool once written; nothing else holds a WRITE payload.
      run: () => {
        const r = this.logged(offset, length, write);
        if (data === null) return r;
        if (r === undefined) return payloadPool.release(data);
        return r.finally(() => payloadPool.release(data));
      },
    });
  }

  // Everything before the barrier goes to stable storage, then BARRIER_ACK.
  barrier(seq: bigint, id: bigint): void {
    this.applier.push({
      seq, range: null, run: async () => {
        await this.disk.flush();
        if (this.link.state === 'established') this.link.send({ type: 'BARRIER_ACK', payload: encodeU64(id) });
      },
    });
  }

  private onWatermark(seq: bigint): void {
    this.watermark = seq;
    let acked = false;
    while (this.writeSeqs.length > 0 && (this.writeSeqs[0] as bigint) <= seq) {
      this.writeSeqs.shift();
      acked = true;
    }
    if (!acked || this.ackScheduled) return;
    this.ackScheduled = true;
    // One cumulative ack for everything applied in this burst (nextTick runs once the microtasks of the burst are done).
    process.nextTick(() => {
      this.ackScheduled = false;
      if (this.link.state === 'established') this.link.send({ type: 'WRITE_ACK', flags: FLAG_ON_DISK, payload: encodeU64(this.watermark) });
    });
  }

  private scheduleReceivedAck(): void {
    if (this.receivedAckScheduled) return;
    this.receivedAckScheduled = true;
    process.nextTick(() => {
      this.receivedAckScheduled = false;
      if (this.link.state === 'established') this.link.send({ type: 'WRITE_ACK', payload: encodeU64(this.lastReceivedWrite) });
    });
  }
}
