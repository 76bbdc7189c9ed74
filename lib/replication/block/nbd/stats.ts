// Counters one NBD server keeps: what a status command shows and what tests assert.
import type { CommandName, NbdErrnoName } from './constants.js';
import { isCleanClose, type CloseReason } from './protocol.js';

export interface NbdStats {
  connections: { total: number; active: number; refused: number };
  requests: Partial<Record<CommandName, number>>;
  errors: Partial<Record<NbdErrnoName, number>>;
  closes: Partial<Record<CloseReason | 'peer-closed' | 'socket-error' | 'server-stop', number>>;
  protocolErrors: number;
  bytesRead: number;
  bytesWritten: number;
}

export function emptyStats(): NbdStats {
  return { connections: { total: 0, active: 0, refused: 0 }, requests: {}, errors: {}, closes: {}, protocolErrors: 0, bytesRead: 0, bytesWritten: 0 };
}

export function countClose(s: NbdStats, reason: CloseReason | 'peer-closed' | 'socket-error' | 'server-stop'): void {
  s.closes[reason] = (s.closes[reason] ?? 0) + 1;
  if (reason !== 'peer-closed' && reason !== 'socket-error' && reason !== 'server-stop' && !isCleanClose(reason)) s.protocolErrors++;
}

export function countRequest(s: NbdStats, command: CommandName): void {
  s.requests[command] = (s.requests[command] ?? 0) + 1;
}

export function countError(s: NbdStats, errno: NbdErrnoName): void {
  s.errors[errno] = (s.errors[errno] ?? 0) + 1;
}

export function cloneStats(s: NbdStats): NbdStats {
  return structuredClone(s);
}
