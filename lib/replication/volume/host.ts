// What a peer session needs from its volume: the disk, the range lock, the
// generation record and bitmaps, and the few state changes a connection
// makes. One interface, so peer.ts never reaches into the volume's fields.
import type { Bitmap } from '../block/bitmap.js';
import type { FileBackend } from '../block/nbd/file-backend.js';
import type { Generations } from '../generations.js';
import type { DiskState } from '../states.js';
import type { BlockVolumeConfig } from '../../config/types.js';
import type { RangeLock } from './range-lock.js';
import type { SyncedRange } from './resync-target.js';
import type { ApplyWrite } from './secondary-log.js';
import type { SessionHost } from './session-base.js';
import type { Feed } from './one-source.js';
import type { PeerState } from './wire.js';

export interface VolumeLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface VolumeHost extends SessionHost {
  readonly node: string;
  readonly cfg: BlockVolumeConfig;
  readonly disk: FileBackend;
  readonly lock: RangeLock;
  readonly log: VolumeLog;
  readonly role: 'Primary' | 'Secondary';
  readonly diskState: DiskState;
  readonly generations: Generations;
  emit(type: string, fields: Record<string, unknown>): void;
  // What we tell `peer` about ourselves now.
  stateFor(peer: string): PeerState;
  // Our out-of-sync bitmap towards `peer` (live; a copy is sent at connect).
  bitmapFor(peer: string): Bitmap;
  // Our bits for `peer` are marks of our own crash as Secondary (record.staleBitsFor): at one generation its copy wins.
  bitsStale(peer: string): boolean;
  // Blocks `peer` may lack because a write to it was not acknowledged.
  markOutOfSync(peer: string, offset: number, length: number): Promise<void>;
  // Hold application writes until the returned release is called (connect handshake).
  freezeWrites(): Promise<() => void>;
  // The connect handshake found nothing to sync: the peer holds our current generation.
  connectedInSync(peer: string, peerDisk: DiskState): Promise<void>;
  // A resync with `peer` starts; `blocks` is what it moves, kept in our bitmap for `peer` (cleared as the
  // blocks are sent, or once they are on stable storage here) so a cut link resumes. As SyncTarget our disk
  // is Inconsistent until done; as SyncSource our bitmap UUID for `peer` names `peerCurrent`.
  resyncStarted(peer: string, direction: 'SyncSource' | 'SyncTarget', blocks: Bitmap, peerCurrent: string): Promise<void>;
  // As SyncTarget of `peer`: these resynced ranges are written; once they are on stable storage, clear them.
  resyncProgress(peer: string, ranges: readonly SyncedRange[]): Promise<void>;
  // A resync with `peer` completed; as target, adopt the source's generations (and no better disk state than its).
  resyncFinished(peer: string, asTarget: boolean, source: Generations, sourceDisk: DiskState): Promise<void>;
  // Our links other than `peer`'s that move data into us or from us (one-source.ts).
  feedsFor(peer: string): Feed[];
  // As a new Primary: resync what is out of sync with `peer`, now at our generation (a lost Primary's last extents).
  reconcile(peer: string): void;
  // As Secondary: a write of the Primary's stream, written by `write` once our activity log holds its extents (secondary-log.ts).
  applyReceived(offset: number, length: number, write: ApplyWrite): Promise<void> | void;
  // Our Primary `peer`'s link ended while it was Primary: its last extents go out of sync towards the others.
  primaryLost(peer: string): Promise<void>;
  // `peer`'s session started or stopped moving data (one-source.ts): the other peers hear our new feeds.
  feedsChanged(peer: string): void;
  // In step with Primary `peer`, at the generation it last told us or at its new one: take its generation and
  // mirror its entries for third peers (generations.ts followPrimary). `forwarded`: it sends PEER_OUT_OF_SYNC.
  followPrimary(peer: string, state: PeerState, forwarded: boolean): Promise<void>;
  // Our Primary `primary` says its peer `peer` missed this range (PEER_OUT_OF_SYNC): mark it here too.
  thirdPeerMissed(primary: string, peer: string, offset: number, length: number): Promise<void>;
  // A new link's handshake, before our STATE: while we hold entries for third peers, the record says unclean.
  beforeStream(): Promise<void>;
  // The connect with `peer` decided: `why` its data is to replace ours, a Primary's (writes are refused until we
  // demote), or null when the decision settled how the two relate (a resync, in step, a split brain).
  peerDataNewer(peer: string, why: string | null): void;
  // Bits of a verify, or fencing's verdicts: persist the record.
  persist(): Promise<void>;
  // Writing replicated data here failed (ENOSPC, EIO): status says so until `connect`.
  localDiskFailed(detail: string): void;
  // The session went StandAlone: stop dialing it until `connect`.
  standAlone(peer: string): void;
}
