// A peer's link counters across reconnects, as `replica status` shows them
// for either kind of volume: totals of the closed links plus the current
// link's growth since it was adopted, the last error, the last traffic.
import type { LinkCloseInfo, PeerLink } from '../link/peer-link.js';

export interface LinkCounterFields {
  uptime_s: number | null;
  tcp_congestion: string | null; // the link's TCP congestion control as the kernel reports it; null unless connected
  bytes_sent: number;
  bytes_received: number;
  last_sent_at: string | null;
  last_received_at: string | null;
  disconnects: number;
  last_error: { reason: string; detail: string; at: string } | null;
}

const iso = (t: number | null | undefined): string | null => (t === null || t === undefined ? null : new Date(t).toISOString());

export class LinkCounters {
  private readonly totals = { bytesSent: 0, bytesReceived: 0, disconnects: 0 };
  private baseline = { bytesSent: 0, bytesReceived: 0 };
  private lastError: { reason: string; detail: string; at: number } | null = null;
  private lastSentAt: number | null = null;
  private lastReceivedAt: number | null = null;

  adopted(link: PeerLink): void {
    this.baseline = { bytesSent: link.stats.bytesSent, bytesReceived: link.stats.bytesReceived };
  }

  // `onPurpose`: closed here on the operator's word, which is no error. `connected`: the link got past the connect
  // handshake; one refused there (the peer StandAlone, a split brain) is no connection lost, however often it is redialed.
  closed(link: PeerLink, info: LinkCloseInfo, onPurpose = false, connected = true): void {
    this.totals.bytesSent += link.stats.bytesSent - this.baseline.bytesSent;
    this.totals.bytesReceived += link.stats.bytesReceived - this.baseline.bytesReceived;
    if (connected) this.totals.disconnects++;
    this.lastSentAt = link.stats.lastSentAt;
    this.lastReceivedAt = link.stats.lastReceivedAt;
    if (!onPurpose) this.noteError(info.reason, info.detail);
  }

  // A link that never got to us (authentication failed, refused) still explains why we are not connected.
  noteError(reason: string, detail: string): void {
    this.lastError = { reason, detail, at: Date.now() };
  }

  // `link`: the current one, if any; `running`: past the connect handshake.
  fields(link: PeerLink | null, running: boolean): LinkCounterFields {
    const ls = link?.stats ?? null;
    const since = ls?.connectedSince ?? null;
    const err = this.lastError;
    return {
      uptime_s: running && since !== null ? Math.round((Date.now() - since) / 1000) : null,
      tcp_congestion: running ? (link?.congestionControl ?? null) : null,
      bytes_sent: this.totals.bytesSent + (ls === null ? 0 : ls.bytesSent - this.baseline.bytesSent),
      bytes_received: this.totals.bytesReceived + (ls === null ? 0 : ls.bytesReceived - this.baseline.bytesReceived),
      last_sent_at: iso(ls?.lastSentAt ?? this.lastSentAt),
      last_received_at: iso(ls?.lastReceivedAt ?? this.lastReceivedAt),
      disconnects: this.totals.disconnects,
      last_error: err === null ? null : { reason: err.reason, detail: err.detail, at: new Date(err.at).toISOString() },
    };
  }
}
