// `tandem health`: ESC's health.sh for a tandem node (issue 5;
// ha-policies.md "Cisco ESC HA"). One line per component, then PASSED or
// FAILED. Health means "this node does what its role requires": a MASTER
// runs its services and holds its volumes Primary; a BACKUP has them stopped
// and Secondary, and keeps a copy it could take over with (UpToDate and
// connected), and passes. Pure: the caller maps the daemon's status in.

// BY_COMMAND: no election on this node (no VRRP instance): each volume's role is set by `tandem replica`, judged on its own.
export type HealthRole = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'INIT' | 'WAITING' | 'STARTING' | 'STOPPING' | 'BY_COMMAND';

export interface HealthInput {
  role: HealthRole; // the node's HA state (WAITING: booted, the peer not heard yet; STARTING / STOPPING: the daemon is)
  replication: 'block' | 'directory' | 'both' | 'none'; // what the header names
  // state: the supervisor's (running, stopped, starting, restarting, stopping, failed), so a line says what it is doing
  services: Array<{ name: string; state: string; pgid: number | null }>;
  // A MASTER whose takeover steps have all run (VIPs up): false while they run. Absent: no resource group.
  serving?: boolean;
  handingOver?: boolean; // a MASTER letting go before it steps down
  // resync: percent done while this node's disk is being synced, else null
  // connection: a peer's state when none is Connected (Connecting, StandAlone), as replica status shows it; null with no peers
  // suspended: every Connected peer's link waits for another source (PausedSyncS / PausedSyncT): why, as replica status says
  volumes: Array<{
    name: string; role: 'Primary' | 'Secondary'; disk: string; connected: boolean; connection?: string | null; resync: number | null;
    suspended?: string | null;
  }>;
  // A node without a resource group (VRRP only): each instance, judged on its own; `why`: its fault reasons.
  instances?: Array<{ name: string; state: string; why: string[] }>;
}

export interface HealthReport {
  lines: string[];
  passed: boolean;
}

const ROLE_TEXT: Partial<Record<HealthRole, string>> = { BY_COMMAND: 'roles set by command' };

const REPLICATION_TEXT: Record<HealthInput['replication'], string> = {
  block: 'with DRBD-style replication',
  directory: 'with directory replication',
  both: 'with DRBD-style and directory replication',
  none: 'without replication',
};

export function healthReport(h: HealthInput): HealthReport {
  const lines = [`============== TANDEM HA (${ROLE_TEXT[h.role] ?? h.role}) ${REPLICATION_TEXT[h.replication]} ==============`];
  const problems: string[] = [];
  const master = h.role === 'MASTER';
  const byCommand = h.role === 'BY_COMMAND';
  for (const s of h.services) {
    const pgid = s.pgid === null ? '' : ` (pgid ${s.pgid})`;
    lines.push(`${s.name}${s.state === 'stopped' ? '' : pgid} is ${s.state}`);
    // Only 'running' serves and only 'stopped' is let go: a service stopping may still hold its volume.
    const now = s.state === 'running' || s.state === 'stopped' ? '' : ` (it is ${s.state})`;
    if (master && s.state !== 'running') problems.push(`${s.name} should be running on the MASTER${now}`);
    if (!master && s.state !== 'stopped') problems.push(`${s.name} should be stopped on a ${h.role}${now}`);
  }
  if (master && h.handingOver === true) problems.push('the MASTER is handing over: it lets go of everything before it steps down');
  else if (master && h.serving === false) problems.push('the MASTER is not serving yet: its takeover steps are still running');
  for (const v of h.volumes) {
    const role = v.role === 'Primary' ? 'primary' : 'secondary';
    const disk = v.resync === null ? v.disk : `${v.disk} (resync ${v.resync.toFixed(1)}% done)`;
    const away = v.connection === undefined || v.connection === null ? '' : ` (${v.connection})`;
    const waits = v.suspended === undefined || v.suspended === null ? '' : `, resync suspended (${v.suspended})`;
    lines.push(`${v.name} is ${role}, disk ${disk}, peer ${v.connected ? 'connected' : `disconnected${away}`}${waits}`);
    // With no election, the volume's own role says what it must do: a Primary serves, a Secondary stands by.
    const serving = master || (byCommand && v.role === 'Primary');
    const standby = h.role === 'BACKUP' ? 'this BACKUP' : byCommand && v.role === 'Secondary' ? 'this Secondary' : null;
    if (master && v.role !== 'Primary') problems.push(`${v.name} should be primary on the MASTER`);
    if (!master && !byCommand && v.role === 'Primary') problems.push(`${v.name} should be secondary on a ${h.role}`);
    if (serving && v.disk !== 'UpToDate') problems.push(`${v.name}'s disk is ${v.disk}, not UpToDate`);
    // A standby that could not take over, or whose copy falls behind, fails the role it is there for.
    if (standby !== null && v.disk !== 'UpToDate') problems.push(`${v.name}'s disk is ${disk}, not UpToDate: ${standby} cannot take over with it`);
    if (standby !== null && !v.connected) problems.push(`${v.name} is connected to no peer: ${standby}'s copy is not kept current`);
    // Connected, but every link waits for another source (a partial mesh: the Primary out of reach): nothing arrives.
    else if (standby !== null && waits !== '') problems.push(`${v.name} takes data from no peer (resync suspended: ${v.suspended}): ${standby}'s copy is not kept current`);
  }
  for (const i of h.instances ?? []) {
    const why = i.why.length > 0 ? ` (${i.why.join('; ')})` : '';
    lines.push(`VRRP instance ${i.name} is ${i.state}${why}`);
    if (i.state !== 'MASTER' && i.state !== 'BACKUP') problems.push(`VRRP instance ${i.name} is ${i.state}${why}`);
  }
  // A node that is neither MASTER nor BACKUP is not doing a role's work, whatever runs (per instance when listed).
  if (!master && !byCommand && h.role !== 'BACKUP' && (h.instances === undefined || ['WAITING', 'STARTING', 'STOPPING'].includes(h.role))) problems.push(`the node is ${h.role}`);
  for (const p of problems) lines.push(`problem: ${p}`);
  const passed = problems.length === 0;
  lines.push(passed ? 'TANDEM HEALTH PASSED' : 'TANDEM HEALTH FAILED');
  return { lines, passed };
}
