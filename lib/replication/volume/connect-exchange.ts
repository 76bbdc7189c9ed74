// What the two sides of one new link tell each other before anything else
// (DRBD's P_SYNC_PARAM / P_UUIDS / P_BITMAP exchange): each sends its STATE,
// then its out-of-sync BITMAP for the other, from a snapshot taken with
// writes frozen. Once ours is out and theirs is in, decideConnect() decides.
// Anything else in this phase, or twice, is a protocol error. From link
// protocol 5 the bitmap travels as BITMAP pieces (bitmap-chunks.ts); a link
// at 3 or 4 carries it whole in one BITMAP (volumes up to about 256 GiB at
// 4 KiB blocks, the frame limit).
import { Bitmap } from '../block/bitmap.js';
import type { Frame } from '../link/frame.js';
import { BitmapAssembly, encodeBitmapPieces } from './bitmap-chunks.js';
import { decodeState, encodeState, type PeerState } from './wire.js';

export const PIECES_SINCE = 5; // the link protocol version that sends the bitmap in pieces

export class ConnectExchange {
  sent: PeerState | null = null;
  sentBitmap: Bitmap | null = null;
  received: PeerState | null = null;
  receivedBitmap: Bitmap | null = null;
  private readonly pieces: BitmapAssembly | null; // the peer's bitmap as its pieces arrive (protocol 5 on)
  private otherGeometry = false; // the peer's STATE names another size or block size: decideConnect refuses it

  // `version`: the link protocol version both sides speak.
  constructor(private readonly size: number, private readonly blockSize: number, version: number) {
    this.pieces = version >= PIECES_SINCE ? new BitmapAssembly(size, blockSize) : null;
  }

  // Our snapshot: the frames to send, in order.
  ours(state: PeerState, bitmap: Bitmap): Array<{ type: 'STATE' | 'BITMAP'; payload: Buffer }> {
    this.sent = state;
    this.sentBitmap = bitmap;
    const bitmaps = this.pieces === null ? [bitmap.serialize()] : encodeBitmapPieces(bitmap);
    return [{ type: 'STATE', payload: encodeState(state) }, ...bitmaps.map((payload) => ({ type: 'BITMAP' as const, payload }))];
  }

  // One of the peer's frames: null when accepted, else why the link must drop.
  receive(f: Frame): string | null {
    if (f.type === 'STATE' && this.received === null) {
      const s = decodeState(f.payload);
      if (!s.ok) return s.detail;
      this.received = s.value;
      // Its bitmap cannot be read against ours; the decision refuses the peer by name, StandAlone, instead of a
      // protocol error on every redial (an empty stand-in completes the exchange).
      if (s.value.size !== this.size || s.value.blockSize !== this.blockSize) {
        this.otherGeometry = true;
        this.receivedBitmap = new Bitmap(this.size, this.blockSize);
      }
      return null;
    }
    if (f.type === 'BITMAP' && this.otherGeometry) return null; // not read, see above
    if (f.type === 'BITMAP' && this.received !== null && this.receivedBitmap === null && this.pieces !== null) {
      const error = this.pieces.add(f.payload);
      if (error !== null) return `BITMAP: ${error}`;
      if (this.pieces.complete) this.receivedBitmap = this.pieces.bitmap;
      return null;
    }
    if (f.type === 'BITMAP' && this.received !== null && this.receivedBitmap === null) {
      const b = Bitmap.deserialize(f.payload);
      if (!b.ok) return `BITMAP: ${b.reason}: ${b.detail}`;
      if (b.bitmap.volumeSize !== this.size || b.bitmap.granularity !== this.blockSize) {
        return `BITMAP geometry ${b.bitmap.volumeSize}/${b.bitmap.granularity} is not the volume's ${this.size}/${this.blockSize}`;
      }
      this.receivedBitmap = b.bitmap;
      return null;
    }
    return `${f.type} during the connect handshake (want STATE, then BITMAP)`;
  }

  // Both snapshots are here: the peer's state and bitmap, and ours.
  complete(): { sent: PeerState; sentBitmap: Bitmap; received: PeerState; receivedBitmap: Bitmap } | null {
    const { sent, sentBitmap, received, receivedBitmap } = this;
    if (sent === null || sentBitmap === null || received === null || receivedBitmap === null) return null;
    return { sent, sentBitmap, received, receivedBitmap };
  }

  // The blocks a resync must move: both sides' out-of-sync blocks, or all of them.
  resyncSet(full: boolean): Bitmap {
    const union = this.sentBitmap?.clone() ?? new Bitmap(this.size, this.blockSize);
    if (full) union.setAll();
    else if (this.receivedBitmap !== null) union.merge(this.receivedBitmap);
    return union;
  }
}
