// `tandem replica status` for people, in the layout of `drbdsetup status
// --verbose --statistics`: one block per volume, one line per peer, then its
// counters and whatever is in progress or wrong. Pure: `now` is an argument.
import type { AnyVolumeStatus, PeerStatus, ReplicaStatus, VolumeStatus } from '../replication/volume/status-types.js';
import { formatDirectoryVolume } from './format-replica-dir.js';
import { INTO_PRIMARY_WAIT } from '../replication/volume/handshake-decision.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

// Binary units with one decimal (10.0GiB); whole bytes below 1 KiB.
export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Number.isFinite(bytes) ? Math.max(0, Math.round(bytes)) : '?'}B`;
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  // 1023.96 KiB would round to "1024.0KiB"; show it as the next unit instead.
  if (Number(v.toFixed(1)) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)}${UNITS[u]}`;
}

// Compact, space-free, two largest units: 45s, 3m05s, 2h07m, 4d03h.
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}

// A remaining time as a clock, like drbdsetup's "finish": 0:13, 12:05, 1:02:03.
export function clock(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const pad = (n: number): string => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

// How long ago an ISO 8601 time was; null if it does not parse.
function age(iso: string, now: Date): string | null {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : shortDuration((now.getTime() - t) / 1000);
}

// One token for the statistics line: "3m05s-ago" or "never".
export function lastAt(iso: string | null, now: Date): string {
  if (iso === null) return 'never';
  const a = age(iso, now);
  return a === null ? iso : `${a}-ago`;
}

function peerLines(volume: string, p: PeerStatus, now: Date): string[] {
  const out = [
    `  ${p.name} connection:${p.connection} replication:${p.replication} role:${p.role} peer-disk:${p.disk} address:${p.address}`,
    '    ' +
      [
        `sent:${humanSize(p.bytes_sent)}`,
        `received:${humanSize(p.bytes_received)}`,
        `writes-sent:${p.writes_sent}`,
        `writes-received:${p.writes_received}`,
        `out-of-sync:${humanSize(p.out_of_sync_bytes)}`,
        `pending:${p.pending}`,
        `unacked:${p.unacked}`,
        `disconnects:${p.disconnects}`,
        ...(p.uptime_s === null ? [] : [`uptime:${shortDuration(p.uptime_s)}`]),
        ...(p.tcp_congestion === null ? [] : [`tcp:${p.tcp_congestion}`]),
        `last-sent:${lastAt(p.last_sent_at, now)}`,
        `last-received:${lastAt(p.last_received_at, now)}`,
      ].join(' '),
  ];
  const r = p.resync;
  if (r !== null) {
    const left = humanSize(Math.max(0, r.total_bytes - r.done_bytes));
    const eta = r.eta_s === null ? '?' : clock(r.eta_s);
    const cap = r.max_rate_bytes_per_s === null ? '' : ` (max ${humanSize(r.max_rate_bytes_per_s)}/s)`;
    out.push(`    sync'ed: ${r.percent.toFixed(1)}% (${left} left) ${humanSize(r.rate_bytes_per_s)}/s${cap} eta ${eta}${r.full ? ' full-sync' : ''}`);
  }
  out.push(...suspendedLines(p));
  if (p.stale_bits) out.push(`    stale-bits: the out-of-sync blocks are marks of this node's crash as Secondary: they resync from ${p.name}, not to it (unless its are stale too)`);
  const v = p.verify;
  if (v !== null) {
    const left = humanSize(Math.max(0, v.total_bytes - v.done_bytes));
    out.push(`    verified: ${v.percent.toFixed(1)}% (${left} left) mismatched:${humanSize(v.mismatched_bytes)}`);
  }
  out.push(...troubleLines(volume, p, now));
  return out;
}

// A link that waits for another source, for either kind of volume (PausedSyncS / PausedSyncT), or whose bits
// wait while both sides take one Primary's writes.
export function suspendedLines(p: { resync_suspended: string | null; resync_held: string | null }): string[] {
  // A resync into a Primary waits for its demote, which its text says; the rest wait for another source.
  if (p.resync_suspended !== null) return [`    resync-suspended: ${p.resync_suspended}${p.resync_suspended.includes(INTO_PRIMARY_WAIT) ? '' : ' (one source at a time)'}`];
  return p.resync_held === null ? [] : [`    resync-held: both sides take ${p.resync_held}'s writes; the out-of-sync blocks move once that ends`];
}

// What is wrong with a peer, for either kind of volume: a split brain (and how to resolve it), the last error.
export function troubleLines(
  volume: string,
  p: { split_brain: boolean; discard_my_data: boolean; uptime_s: number | null; last_error: { reason: string; detail: string; at: string } | null },
  now: Date,
): string[] {
  const out: string[] = [];
  if (p.discard_my_data) out.push('    discard-my-data: at the next connect with this peer, a split brain resolves against this node (its changes are dropped)');
  if (p.split_brain) {
    // replication.md "Split brain": manual recovery is secondary + discard-my-data on the victim.
    out.push(
      `    split-brain: both nodes changed the data while apart; on the node whose changes to drop run ` +
        `"tandem replica secondary ${volume}" then "tandem replica discard-my-data ${volume}"`,
    );
  }
  const e = p.last_error;
  if (e !== null) {
    const a = age(e.at, now);
    // Its advice (a secret to check, a peer to start) was followed or no longer applies: the link came up since.
    const over = p.uptime_s !== null && now.getTime() - Date.parse(e.at) > p.uptime_s * 1000;
    out.push(`    last-error${over ? ' (before this connection)' : ''}: ${e.reason}: ${e.detail} (${a === null ? '' : `${a} ago, `}${e.at})`);
  }
  return out;
}

export function formatVolume(v: AnyVolumeStatus, now: Date): string {
  return v.type === 'directory' ? formatDirectoryVolume(v, now) : formatBlockVolume(v, now);
}

function formatBlockVolume(v: VolumeStatus, now: Date): string {
  const out = [
    `${v.name} role:${v.role} disk:${v.disk} protocol:${v.protocol} size:${humanSize(v.size_bytes)}${v.suspended ? ' suspended:disk-error' : ''}`,
    `  device:${v.device}`,
  ];
  if (v.nbd !== null) {
    const parts = [
      ...(v.nbd.tcp === null ? [] : [`tcp:${v.nbd.tcp}`]),
      ...(v.nbd.socket === null ? [] : [`socket:${v.nbd.socket}`]),
      `clients:${v.nbd.clients}`,
    ];
    out.push(`  nbd ${parts.join(' ')}`);
  }
  for (const p of v.peers) out.push(...peerLines(v.name, p, now));
  return out.join('\n');
}

export function formatReplicaStatus(s: ReplicaStatus, now: Date): string {
  if (s.volumes.length === 0) return `node ${s.node}: no replicated volumes`;
  return s.volumes.map((v) => formatVolume(v, now)).join('\n\n');
}

// The one line a replica command prints on success: where the volume ended up.
export function formatVolumeSummary(v: AnyVolumeStatus): string {
  const peers = v.peers.map((p) => {
    const parts = [`peer ${p.name} ${p.connection}`];
    if (p.connection === 'Connected') parts.push(p.replication);
    if ('resync' in p && p.resync !== null) parts.push(`${p.resync.percent.toFixed(1)}%`);
    else if ('verify' in p && p.verify !== null) parts.push(`${p.verify.percent.toFixed(1)}%`);
    else if ('pending_files' in p && p.pending_files > 0) parts.push(`${p.pending_files} pending`);
    if (p.split_brain) parts.push('split-brain');
    return parts.join(' ');
  });
  const suspended = v.type === 'block' && v.suspended;
  return [`${v.name}: ${v.role}, disk ${v.disk}${suspended ? ', suspended' : ''}`, ...peers].join('; ');
}
