// `tandem replica status` for a directory volume: the same layout as block
// volumes (format-replica.ts), with file counters instead of block ones:
// files sent / received, pending files and bytes, and the lag (the age of
// the oldest change not yet replicated). Pure: `now` is an argument.
import type { DirectoryVolumeStatus, DirPeerStatus } from '../replication/files/dir-status.js';
import { humanSize, lastAt, shortDuration, suspendedLines, troubleLines } from './format-replica.js';

function peerLines(volume: string, p: DirPeerStatus, now: Date): string[] {
  const out = [
    `  ${p.name} connection:${p.connection} replication:${p.replication} role:${p.role} peer-disk:${p.disk} address:${p.address}`,
    '    ' +
      [
        `sent:${humanSize(p.bytes_sent)}`,
        `received:${humanSize(p.bytes_received)}`,
        `files-sent:${p.files_sent}`,
        `files-received:${p.files_received}`,
        `pending:${p.pending_files}`,
        `pending-bytes:${humanSize(p.pending_bytes)}`,
        // The age of the oldest change is known only while connected; changes counted for an absent peer have none.
        `lag:${p.oldest_pending_s !== null ? shortDuration(p.oldest_pending_s) : p.pending_files > 0 ? '?' : '0s'}`,
        `disconnects:${p.disconnects}`,
        ...(p.uptime_s === null ? [] : [`uptime:${shortDuration(p.uptime_s)}`]),
        ...(p.tcp_congestion === null ? [] : [`tcp:${p.tcp_congestion}`]),
        `last-sent:${lastAt(p.last_sent_at, now)}`,
        `last-received:${lastAt(p.last_received_at, now)}`,
      ].join(' '),
  ];
  out.push(...suspendedLines(p), ...troubleLines(volume, p, now));
  return out;
}

export function formatDirectoryVolume(v: DirectoryVolumeStatus, now: Date): string {
  const out = [
    `${v.name} role:${v.role} disk:${v.disk} protocol:${v.protocol} type:directory`,
    `  path:${v.path}${v.watcher === null ? '' : ` watcher-events:${v.watcher.events} watcher-errors:${v.watcher.errors}`}`,
  ];
  if (v.divergence.count > 0) {
    out.push(`  divergence: ${v.divergence.count} local change(s) on this Secondary, e.g. ${v.divergence.recent.slice(-3).map((p) => JSON.stringify(p)).join(', ')} (the Primary's copy replaces them at the next compare)`);
  }
  if (v.lacking.count > 0) {
    out.push(`  lacking: ${v.lacking.count} change(s) from the Primary not applied here, first ${v.lacking.first ?? '?'} (tried again; promotion refused without --force until they land)`);
  }
  if (v.problems.count > 0) {
    const last = v.problems.recent[v.problems.recent.length - 1];
    out.push(`  problems: ${v.problems.count}${last === undefined ? '' : `, last: ${JSON.stringify(last.path)} ${last.code}: ${last.message}`}`);
  }
  for (const p of v.peers) out.push(...peerLines(v.name, p, now));
  return out.join('\n');
}
