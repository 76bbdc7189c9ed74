// Counters users read per peer (replication.md "Status users read"; the
// issue's per-peer status). Times are wall-clock milliseconds since the epoch.
// One LinkStats may outlive several connections (PeerConnector shares one).

export class LinkStats {
  connected = false; // an authenticated link is up
  connectedSince: number | null = null;
  bytesSent = 0;
  bytesReceived = 0;
  framesSent = 0;
  framesReceived = 0;
  lastSentAt: number | null = null;
  lastReceivedAt: number | null = null;
  disconnects = 0; // authenticated links that ended
  lastError: { reason: string; detail: string; at: number } | null = null;

  toJSON(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this));
  }
}
