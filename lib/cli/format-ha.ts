// The resource-group part of `tandem status`: role, boot gate, maintenance,
// each volume and service, and the recent transitions with their durations
// (every step of each with --v, as escadm status --v).
import type { HaStatus } from '../node/ha-node.js';
import type { VolumeSummary } from '../node/status.js';


export function formatVolumes(vols: readonly VolumeSummary[]): string[] {
  return vols.map((v) => {
    const peers = v.peers.map((p) => `${p.name} ${p.connection}${p.connection === 'Connected' ? ` ${p.replication} ${p.role}/${p.disk}` : ''}${p.sync_percent !== null ? ` ${p.sync_percent}% synced` : ''}`);
    return `  volume ${v.name} (${v.type}): ${v.role}/${v.disk}; peer ${peers.join(', ') || 'none'}`;
  });
}

export function formatHa(h: HaStatus, verbose: boolean): string[] {
  const out = [`resource group ${h.group}: ${h.role}${h.serving ? ', serving' : ''}${h.handing_over ? ', handing over' : ''}${h.maintenance ? ', in maintenance' : ''}`];
  out.push(`  boot ${h.boot.state}: ${h.boot.reason}`);
  for (const s of h.services) {
    const pg = s.pgid !== null ? ` (pgid ${s.pgid})` : '';
    const health = s.health === 'none' ? '' : `, health ${s.health}`;
    const since = s.since !== null ? ` since ${s.since}` : '';
    out.push(`  service ${s.name}: ${s.state}${pg}${health}${since}, restarts ${s.restarts}${s.last_problem ? `; last problem: ${s.last_problem.reason}` : ''}`);
  }
  const recent = verbose ? h.transitions : h.transitions.slice(-3);
  if (recent.length > 0) out.push(verbose ? '  transitions:' : '  recent transitions (--v for all, with steps):');
  for (const t of recent) {
    out.push(`    ${t.at} ${t.from} -> ${t.to} ${t.ms === null ? 'running' : `${t.result} in ${(t.ms / 1000).toFixed(2)} s`} (${t.reason})`);
    if (verbose) for (const st of t.steps) out.push(`      ${st.ok ? 'ok    ' : 'FAILED'} ${(st.ms / 1000).toFixed(2).padStart(7)} s  ${st.step}${st.error ? `: ${st.error}` : ''}`);
  }
  return out;
}
