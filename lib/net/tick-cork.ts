// Writes made to a socket in one turn of the event loop leave together in one
// writev: corked at the first write, uncorked once the turn's callbacks and
// microtasks are done. One syscall for a burst of frames, acks or replies.
import type { Writable } from 'node:stream';

export class TickCork {
  private corked = false;

  constructor(private readonly stream: Writable) {}

  // Call before each write.
  hold(): void {
    if (this.corked) return;
    this.corked = true;
    this.stream.cork();
    process.nextTick(() => {
      this.corked = false;
      this.stream.uncork();
    });
  }
}
