// An authenticated peer driven by hand: it knows the secret and a configured
// peer's name, connects to a volume's replication port and sends whatever
// frames a test wants, well-formed or not (the hostile tests' attacker).
import net from 'node:net';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import type { Frame } from '../../../lib/replication/link/frame.js';
import type { FrameType } from '../../../lib/replication/link/frame-types.js';
import { PeerLink } from '../../../lib/replication/link/peer-link.js';
import { encodeBitmapPieces } from '../../../lib/replication/volume/bitmap-chunks.js';
import { encodeState, type PeerState } from '../../../lib/replication/volume/wire.js';
import { waitFor } from '../../helpers/env.js';
import { SECRET } from './pair-harness.js';

export class Impostor {
  readonly frames: Frame[] = [];
  readonly logs: string[] = [];
  private constructor(readonly link: PeerLink) {}

  // Connects as `node` to the volume (default 'db') listening on `port`, expecting `victim` there.
  static async connect(port: number, node = 'node-a', victim = 'node-b', secret: Buffer = SECRET, volume = 'db'): Promise<Impostor> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((res, rej) => {
      socket.once('connect', res);
      socket.once('error', rej);
    });
    let self: Impostor | null = null;
    const link = new PeerLink(socket, {
      node, volume, secret, expectedPeer: victim,
      heartbeat: { intervalMs: 200, timeoutMs: 5000 },
      log: (level, m) => (self ? self.logs.push(`${level} ${m}`) : undefined),
    });
    const impostor = new Impostor(link);
    self = impostor;
    link.deliver((f) => impostor.frames.push(f));
    await link.ready;
    return self;
  }

  send(type: FrameType, payload: Buffer = Buffer.alloc(0), flags = 0): bigint {
    return this.link.send({ type, flags, payload });
  }

  // The first frame of `type` received (after the first `skip` of that type).
  async frame(type: FrameType, skip = 0, timeoutMs = 10000): Promise<Frame> {
    return waitFor(`a ${type} frame from the victim`, async () => this.frames.filter((f) => f.type === type)[skip], timeoutMs);
  }

  // The connect handshake as a peer would run it: wait for the victim's STATE and
  // BITMAP, then send ours (an empty bitmap unless given), in pieces as link protocol 5 does.
  async hello(state: PeerState, bitmap?: Bitmap): Promise<void> {
    await this.frame('STATE');
    await this.frame('BITMAP');
    this.send('STATE', encodeState(state));
    for (const piece of encodeBitmapPieces(bitmap ?? new Bitmap(state.size, state.blockSize))) this.send('BITMAP', piece);
  }

  async close(): Promise<void> {
    if (this.link.state !== 'closed') this.link.close('test done');
    await this.link.closed;
  }
}
