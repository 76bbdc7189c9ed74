// The demo client's log (one JSON line per request outcome) and its analysis:
// which ids were acknowledged, and how long writes were impossible. Pure, so
// the demo, the end-to-end tests and a person with a log file agree.
import { readFile } from 'node:fs/promises';

export interface ClientLogLine {
  id: string;
  ok: boolean;
  status?: number; // absent when no HTTP answer came (refused, reset, timeout)
  error?: string;
  t_ms: number; // wall clock when the outcome was known
  latency_ms: number;
}

// A period with no successful write: from the last success before a failure to the next success.
export interface Outage {
  from_ms: number;
  to_ms: number;
  ms: number;
}

export interface ClientLogSummary {
  acked: string[]; // in the order they were first acknowledged, each once
  attempts: number;
  failures: number;
  malformed: number; // lines that are not a log line (e.g. cut by a crash); skipped
  firstFailureAt: number | null;
  lastFailureAt: number | null;
  outages: Outage[];
  // Failures not yet followed by a success when the log ends.
  openOutage: { from_ms: number; last_failure_ms: number } | null;
}

export function parseLine(text: string): ClientLogLine | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (typeof o.id !== 'string' || typeof o.ok !== 'boolean' || !finite(o.t_ms) || !finite(o.latency_ms)) return null;
  if (o.status !== undefined && !finite(o.status)) return null;
  if (o.error !== undefined && typeof o.error !== 'string') return null;
  return o as unknown as ClientLogLine;
}

// Lines are taken in file order (the order the client wrote them), not sorted by t_ms.
export function analyzeClientLog(text: string): ClientLogSummary {
  const acked: string[] = [];
  const seen = new Set<string>();
  let attempts = 0;
  let failures = 0;
  let malformed = 0;
  let firstFailureAt: number | null = null;
  let lastFailureAt: number | null = null;
  const outages: Outage[] = [];
  let lastSuccess: number | null = null;
  let outageFrom: number | null = null;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    const line = parseLine(raw);
    if (line === null) {
      malformed++;
      continue;
    }
    attempts++;
    if (line.ok) {
      if (!seen.has(line.id)) acked.push(line.id);
      seen.add(line.id);
      if (outageFrom !== null) outages.push({ from_ms: outageFrom, to_ms: line.t_ms, ms: line.t_ms - outageFrom });
      outageFrom = null;
      lastSuccess = line.t_ms;
      continue;
    }
    failures++;
    firstFailureAt ??= line.t_ms;
    lastFailureAt = line.t_ms;
    // Failing from the very start: the outage begins when the first attempt was sent.
    outageFrom ??= lastSuccess ?? line.t_ms - line.latency_ms;
  }
  const openOutage = outageFrom !== null && lastFailureAt !== null ? { from_ms: outageFrom, last_failure_ms: lastFailureAt } : null;
  return { acked, attempts, failures, malformed, firstFailureAt, lastFailureAt, outages, openOutage };
}

export async function readClientLog(path: string): Promise<ClientLogSummary> {
  return analyzeClientLog(await readFile(path, 'utf8'));
}
