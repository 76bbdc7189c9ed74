// The markdown tables `npm run bench:failover` prints on stdout.
import type { Impl, StopSignal } from './daemons.js';
import type { FailoverSample } from './failover-run.js';
import type { IdleResult } from './idle.js';
import { finiteCount, fixed, median, medianWithRange, ms, ratio } from './stats.js';

export interface Cell {
  advertInt: number;
  signal: StopSignal;
  impl: Impl;
  samples: FailoverSample[];
}

const stopName = (s: StopSignal): string => (s === 'SIGKILL' ? 'kill -9 (+ port down)' : 'SIGTERM');

function find(cells: Cell[], advertInt: number, signal: StopSignal, impl: Impl): FailoverSample[] {
  return cells.find((c) => c.advertInt === advertInt && c.signal === signal && c.impl === impl)?.samples ?? [];
}

function keys(cells: Cell[]): { advertInt: number; signal: StopSignal }[] {
  const seen = new Map<string, { advertInt: number; signal: StopSignal }>();
  for (const c of cells) seen.set(`${c.advertInt}/${c.signal}`, { advertInt: c.advertInt, signal: c.signal });
  return [...seen.values()];
}

export function failoverTable(cells: Cell[]): string {
  const rows = [
    '| advert_int | stop | tandem ms, median (min-max) | keepalived ms, median (min-max) | tandem / keepalived | runs ok (t / k) |',
    '|---|---|---|---|---|---|',
  ];
  for (const { advertInt, signal } of keys(cells)) {
    const t = find(cells, advertInt, signal, 'tandem').map((s) => s.replyMs);
    const k = find(cells, advertInt, signal, 'keepalived').map((s) => s.replyMs);
    rows.push(
      `| ${advertInt} s | ${stopName(signal)} | ${medianWithRange(t)} | ${medianWithRange(k)} | ${ratio(median(t), median(k))} | ${finiteCount(t)}/${t.length} / ${finiteCount(k)}/${k.length} |`,
    );
  }
  return rows.join('\n');
}

// Where the time goes, as the client saw it on the wire (medians, ms after time zero).
export function breakdownTable(cells: Cell[]): string {
  const rows = [
    '| advert_int | stop | daemon | old MASTER last advert | priority 0 sent | old MASTER last reply | new MASTER 1st advert | 1st GARP | 1st reply | reply - old last advert | old MASTER process at the reply |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { advertInt, signal } of keys(cells)) {
    for (const impl of ['tandem', 'keepalived'] as const) {
      const s = find(cells, advertInt, signal, impl);
      const m = (f: (x: FailoverSample) => number): string => ms(median(s.map(f)));
      const prio0 = signal === 'SIGTERM' ? `${finiteCount(s.map((x) => x.prio0Ms))}/${s.length}` : '-';
      rows.push(
        `| ${advertInt} s | ${stopName(signal)} | ${impl} | ${m((x) => x.lastAdvertMs)} | ${prio0} | ${m((x) => x.oldReplyMs)} | ${m((x) => x.advertMs)} | ${m((x) => x.garpMs)} | ${m((x) => x.replyMs)} | ${m((x) => x.replyMs - x.lastAdvertMs)} | ${tally(s.map((x) => x.oldEnd))} |`,
      );
    }
  }
  return rows.join('\n');
}

// "exit 0 x4, still running x1"
function tally(xs: string[]): string {
  const n = new Map<string, number>();
  for (const x of xs) n.set(x, (n.get(x) ?? 0) + 1);
  return [...n].map(([k, c]) => `${k} x${c}`).join(', ');
}

export function idleTable(results: IdleResult[]): string {
  const rows = [
    '| daemon | instances, advert_int | MASTER CPU % | MASTER RSS / PSS MiB | BACKUP CPU % | BACKUP RSS / PSS MiB | processes measured per node |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const mem = (u: IdleResult['master']): string => `${fixed(u.rssMiB, 1)} / ${fixed(u.pssMiB, 1)}`;
    rows.push(
      `| ${r.spec.impl} | ${r.spec.instances}, ${r.spec.advertInt} s | ${fixed(r.master.cpuPct, 1)} | ${mem(r.master)} | ${fixed(r.backup.cpuPct, 1)} | ${mem(r.backup)} | ${r.master.procs} |`,
    );
  }
  return rows.join('\n');
}
