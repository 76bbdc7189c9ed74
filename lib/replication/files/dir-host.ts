// What a directory peer session needs from its volume: one interface, so
// dir-peer.ts never reaches into the volume's fields (as volume/host.ts).
import type { DirectoryVolumeConfig } from '../../config/types.js';
import type { Generations } from '../generations.js';
import type { DiskState } from '../states.js';
import type { VolumeLog } from '../volume/host.js';
import type { SessionHost } from '../volume/session-base.js';
import type { PeerState } from '../volume/wire.js';
import type { Feed } from '../volume/one-source.js';
import type { ExcludeMatcher } from './exclude.js';
import type { ReceiverEvents } from './receiver.js';
import type { SenderEvents } from './sender.js';

export interface DirHost extends SessionHost {
  readonly node: string;
  readonly cfg: DirectoryVolumeConfig;
  readonly exclude: ExcludeMatcher;
  readonly log: VolumeLog;
  readonly role: 'Primary' | 'Secondary';
  readonly generations: Generations;
  readonly diskState: DiskState;
  emit(type: string, fields: Record<string, unknown>): void;
  stateFor(peer: string): PeerState;
  receiverEvents(peer: string, synced: () => Promise<void>): ReceiverEvents;
  senderEvents(peer: string, reconciled: (changes: number) => Promise<void>): SenderEvents;
  // Paths `peer` may lack (changed while it was away); the first starts a new generation.
  markChanged(peer: string, paths: readonly string[]): Promise<void>;
  changedCount(peer: string): number;
  connectedInSync(peer: string, peerDisk: DiskState): Promise<void>;
  resyncTargetStarted(peer: string): Promise<void>;
  resyncFinished(peer: string, asTarget: boolean, source: Generations, sourceDisk: DiskState): Promise<void>;
  followPeerGeneration(peer: string, current: string): Promise<void>;
  // Our links other than `peer`'s that move changes into us or from us (one source at a time).
  feedsFor(peer: string): Feed[];
  // This session's part of the feeds may have changed: the other peers hear it (a paused link decides again).
  feedsChanged(peer: string): void;
  // Settles once every change the other links' receivers hold now is applied.
  othersApplying(peer: string): Promise<void>;
  // Save the metadata now (what fencing knows of the peers included).
  persist(): Promise<void>;
  standAlone(peer: string): void;
}
