// What the supervisor needs from each kind of managed service (issue 5): a
// plain process tandem runs, a oneshot start / stop pair, or a systemd unit.
// Each kind is a thin adapter in a file of its own; policy stays in
// supervisor.ts. A run that ends on its own is reported through onEnded.

export interface ServiceDriver {
  // Starts a run; resolves once it is started (not yet healthy), rejects with the reason it could not start.
  start(signal: AbortSignal): Promise<void>;
  // Ends the run (idempotent); resolves when it has ended.
  stop(): Promise<void>;
  // The process group (health.sh's "pgid"), or null when there is no process to show.
  readonly pgid: number | null;
  // The run's cgroup (a command's, cgroup.ts), kept in the ledger for a crash of the daemon.
  readonly cgroup?: string | null;
}

export interface RunEndedInfo {
  why: string; // "exited with status 1 after 0.3 s"
}

export type OnEnded = (e: RunEndedInfo) => void;
