// One application write on the Primary, from its frames to every peer to the
// NBD reply: the reply waits for what the protocol asks (DRBD's completion
// semantics: A, nothing; B, every frame received or lost; C, every frame on
// the peer's disk or lost), and `finished` runs once every frame is settled,
// whatever the protocol, to unpin the write's activity-log extents. Counters
// instead of a promise per frame: this is every write's path.
import type { ReplicationProtocol } from '../../config/types.js';
import type { AckWaiter } from './pending.js';

export class WriteCompletion implements AckWaiter {
  private unreceived = 0;
  private undone = 0;
  private open = true; // frames may still be added
  private answer: (() => void) | null = null;

  constructor(private readonly protocol: ReplicationProtocol, private readonly finished: () => void) {}

  // One more frame sent to a peer.
  expect(): void {
    this.unreceived++;
    this.undone++;
  }

  // Every frame is sent: null when the reply may go now, else resolves when it may.
  close(): Promise<void> | null {
    let now = false;
    let resolve: (() => void) | null = null;
    this.closeWith(() => (resolve === null ? (now = true) : resolve()));
    return now ? null : new Promise((res) => (resolve = res));
  }

  // Every frame is sent: `answer` runs when the reply may go, before this
  // returns if it may go now (the write path without promises).
  closeWith(answer: () => void): void {
    this.open = false;
    if (this.undone === 0) this.finished();
    if (this.answered()) return answer();
    this.answer = answer;
  }

  received(): void {
    this.unreceived--;
    this.wake();
  }

  // Lost or written is the same here: a lost frame's blocks are in the bitmap by now.
  done(_acked: boolean): void {
    this.undone--;
    if (!this.open && this.undone === 0) this.finished();
    this.wake();
  }

  private answered(): boolean {
    if (this.protocol === 'A') return true;
    return (this.protocol === 'B' ? this.unreceived : this.undone) === 0;
  }

  private wake(): void {
    if (this.open || this.answer === null || !this.answered()) return;
    const a = this.answer;
    this.answer = null;
    a();
  }
}
