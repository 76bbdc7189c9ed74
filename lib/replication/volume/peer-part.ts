// What a part of a peer session (its resync, its verify) needs from the
// session: the volume, the link it may still act on, the link's in-order
// apply queue, and the session's ways to end a link or run work aside.
import type { PeerLink } from '../link/peer-link.js';
import type { VolumeHost } from './host.js';
import type { WriteReceiver } from './write-receiver.js';

export interface PeerPart {
  readonly host: VolumeHost;
  readonly peer: string;
  isCurrent(link: PeerLink): boolean; // still the session's link
  receiver(): WriteReceiver | null;
  drop(link: PeerLink, detail: string): void;
  // A failure is logged (and drops `link`), never an unhandled rejection.
  background(p: Promise<unknown>, what: string, link?: PeerLink): void;
}
