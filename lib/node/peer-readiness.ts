// What a hand-over (switchover, maintenance on) checks of the peer, from the
// volumes' status: whether it could take over now, and whether it serves.
// Pure; the VIP's ping is the caller's.
import type { AnyVolumeStatus } from '../replication/volume/status-types.js';

export interface Readiness {
  ready: boolean;
  why: string; // what is missing, or what was checked
}

// The peer could take over now: every volume connected to it, its disk UpToDate, no resync running.
export function peerReadyFrom(vols: readonly AnyVolumeStatus[]): Readiness {
  if (vols.length === 0) return { ready: false, why: 'no replicated volume links this node to the peer, so its readiness cannot be checked' };
  for (const v of vols) {
    const p = v.peers.find((x) => x.connected);
    if (p === undefined) return { ready: false, why: `volume ${v.name} is not connected to the peer` };
    if (p.disk !== 'UpToDate') return { ready: false, why: `volume ${v.name} on ${p.name} is ${p.disk}, not UpToDate` };
    if (p.replication !== 'Established') return { ready: false, why: `volume ${v.name}: ${p.replication} with ${p.name} is running` };
  }
  return { ready: true, why: vols.map((v) => `${v.name} UpToDate on the peer`).join(', ') };
}

// The volumes' part of "the peer serves": Primary there. A volume whose link is down (a forced hand-over,
// or a link cut meanwhile) cannot tell, and is left to the VRRP master and the VIP's answer.
export function peerPrimaryFrom(vols: readonly AnyVolumeStatus[]): Readiness {
  const parts: string[] = [];
  for (const v of vols) {
    if (!v.peers.some((p) => p.connected)) parts.push(`${v.name} not checked (not connected to the peer)`);
    else if (v.peers.some((p) => p.connected && p.role === 'Primary')) parts.push(`${v.name} Primary on the peer`);
    else return { ready: false, why: `volume ${v.name} is not Primary on the peer yet` };
  }
  return { ready: true, why: parts.join(', ') };
}
