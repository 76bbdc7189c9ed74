// `tandem status` for people: one block per VRRP instance, the counters that
// matter first, drop reasons only when non-zero.
import type { NodeStatus } from '../node/status.js';
import { formatHa, formatVolumes } from './format-ha.js';

function duration(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${d > 0 ? `${d}d ` : ''}${h > 0 || d > 0 ? `${h}h ` : ''}${m}m ${s % 60}s`;
}

function nonZero(rec: Record<string, number>): string {
  const parts = Object.entries(rec)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

export function formatStatus(s: NodeStatus, verbose = false): string {
  const phase = s.daemon === 'running' ? '' : `, ${s.daemon}`; // starting: the volumes and the resource group are not up yet
  const out = [`node ${s.node} (pid ${s.pid}, up ${duration(s.uptime_s)}${phase})`];
  if (s.vrrp.length === 0) out.push('VRRP: no instances configured');
  for (const i of s.vrrp) {
    const master = i.state === 'MASTER' ? `${i.source_ip} (this node)` : (i.master_ip ?? 'unknown');
    out.push(
      `${i.name}: ${i.state}`,
      `  interface ${i.interface}, VRID ${i.virtual_router_id}, VRRPv${i.version} IPv${i.family}${i.sync_group ? `, sync group ${i.sync_group}` : ''}`,
      `  priority ${i.priority} (effective ${i.effective_priority}), master ${master}`,
      `  VIPs ${i.vips.join(' ')}`,
    );
    if (i.fault_reasons.length > 0) out.push(`  fault: ${i.fault_reasons.join('; ')}`);
    if (i.hold_reasons.length > 0) out.push(`  held out of MASTER: ${i.hold_reasons.join('; ')}`);
    if (i.yielding) out.push('  yielding: stepped down, does not preempt until MASTER again');
    const st = i.stats;
    out.push(
      `  adverts received ${st.advert_rcvd}, sent ${st.advert_sent}; became MASTER ${st.become_master}, released ${st.release_master}; priority 0 received ${st.pri_zero_rcvd}, sent ${st.pri_zero_sent}`,
      `  dropped: ${nonZero(st.dropped)}; warnings: ${nonZero(st.warnings)}${st.send_errors > 0 ? `; send errors ${st.send_errors}` : ''}`,
    );
  }
  if (s.ha !== null) out.push(...formatHa(s.ha, verbose));
  if (s.volumes.length > 0) out.push('volumes:', ...formatVolumes(s.volumes));
  const sd = nonZero(s.vrrp_socket_drops);
  if (sd !== 'none') out.push(`packets for no instance: ${sd}`);
  return out.join('\n');
}
