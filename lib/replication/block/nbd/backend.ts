// What the NBD server needs from a volume. The file backend implements it
// now; the replicated volume will implement it next (its flush then also
// covers the peers under protocol C).
import type { NbdErrnoName } from './constants.js';

export interface BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  // True when flush() makes every completed write durable, whichever
  // connection sent it: then the server may advertise CAN_MULTI_CONN.
  readonly flushCoversAllConnections: boolean;
  read(offset: number, length: number): Promise<Buffer>;
  // fua: resolve only once the data is on stable storage.
  write(offset: number, data: Buffer, fua: boolean): Promise<void>;
  // write() without a promise, where the backend can: false, having done
  // nothing, when this write needs write(); else `done` gets null or the
  // error once the write may be answered (possibly before this returns).
  writeNow?(offset: number, data: Buffer, fua: boolean, done: (err: unknown) => void): boolean;
  // Every write that resolved before this call is on stable storage when it resolves.
  flush(): Promise<void>;
  // A hint: may discard, or do nothing (proto.md "NBD_CMD_TRIM").
  trim(offset: number, length: number, fua: boolean): Promise<void>;
  writeZeroes(offset: number, length: number, fua: boolean): Promise<void>;
  close(): Promise<void>;
}

// proto.md "Error values": ENOSPC also for EDQUOT and EFBIG; EPERM for a
// read-only target; everything else the client can only see as EIO.
export function nbdErrnoFor(err: unknown): NbdErrnoName {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return 'ENOSPC';
    case 'EROFS':
    case 'EPERM':
    case 'EACCES':
      return 'EPERM';
    case 'EINVAL':
      return 'EINVAL';
    case 'ENOMEM':
      return 'ENOMEM';
    case 'ESHUTDOWN':
      return 'ESHUTDOWN';
    default:
      return 'EIO';
  }
}
