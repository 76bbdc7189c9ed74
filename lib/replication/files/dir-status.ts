// What `tandem replica status` reports for a directory volume and its peers
// (issue 4 "Status and events"): DRBD's state names, plus the file counters
// users of rsync / lsyncd read: pending files and bytes, and the replication
// lag as the age of the oldest change not yet replicated.
import type { DiskState } from '../states.js';
import type { SessionFields } from '../volume/session-base.js';

export interface DirPeerStatus extends SessionFields {
  files_sent: number; // changes this peer acknowledged as applied
  files_received: number; // changes applied here from this peer
  pending_files: number; // changes not yet acknowledged (connected) or made since the link dropped
  pending_bytes: number; // file bytes sent and not yet acknowledged
  oldest_pending_s: number | null; // replication lag: age of the oldest pending change
}

export interface FileProblem {
  path: string;
  code: string; // errno (ENOSPC, EACCES, ENOENT ...) or FILE_HASH_MISMATCH, UNSUPPORTED_TYPE, BAD_NAME ...
  message: string;
  at: string;
}

export interface DirectoryVolumeStatus {
  name: string;
  type: 'directory';
  role: 'Primary' | 'Secondary';
  disk: DiskState;
  protocol: 'A' | 'C';
  path: string;
  generations: { current: string; history: string[]; bitmap: Record<string, string> };
  watcher: { events: number; errors: number } | null; // null while not watching
  divergence: { count: number; recent: string[] }; // local changes seen on a Secondary
  problems: { count: number; recent: FileProblem[] }; // files that could not be read, sent or applied
  lacking: { count: number; first: string | null }; // as Secondary: the Primary's changes that could not be applied here yet
  peers: DirPeerStatus[];
}
