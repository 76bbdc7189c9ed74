// `npm run bench:failover`: failover time of tandem and of keepalived in
// network namespaces (kill -9 and SIGTERM of the MASTER, advert_int 1 s and
// 0.1 s, median of N runs each, seen from a client pinging the VIP), then
// the idle CPU and memory of each with 50 instances at advert_int 0.1 s.
// Progress goes to stderr, the markdown tables to stdout. Needs root.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IMPLS, type StopSignal } from './daemons.js';
import { failoverRun, type FailoverSample } from './failover-run.js';
import { idleRun, type IdleResult } from './idle.js';
import { ms } from './stats.js';
import { breakdownTable, failoverTable, idleTable, type Cell } from './tables.js';

const progress = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      only: { type: 'string', default: 'all' }, // all | failover | idle
      'advert-int': { type: 'string', default: '1,0.1' },
      'idle-seconds': { type: 'string', default: '25' },
      'idle-instances': { type: 'string', default: '50' },
      'keep-logs': { type: 'string' },
    },
  });
  const only = values.only;
  if (only !== 'all' && only !== 'failover' && only !== 'idle') throw new Error(`--only: all, failover or idle, not ${only}`);
  return {
    runs: Number(values.runs),
    only,
    advertInts: values['advert-int'].split(',').map(Number),
    idleSeconds: Number(values['idle-seconds']),
    idleInstances: Number(values['idle-instances']),
    keepLogs: values['keep-logs'],
  };
}

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error('the benchmark builds network namespaces and needs root');
  for (const tool of ['keepalived', 'tcpdump', 'ping', 'arping', 'ip']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is not installed (run scripts/setup.sh)`);
    }
  }
}

function describe(s: FailoverSample): string {
  if (s.error !== undefined) return `FAILED: ${s.error}`;
  return `reply ${ms(s.replyMs)} ms (new advert ${ms(s.advertMs)}, GARP ${ms(s.garpMs)}, old last advert ${ms(s.lastAdvertMs)}, prio 0 ${ms(s.prio0Ms)}, old last reply ${ms(s.oldReplyMs)}${Number.isFinite(s.portDownMs) ? `, port down ${ms(s.portDownMs)}` : ''}; old MASTER ${s.oldEnd})`;
}

async function failoverMatrix(o: ReturnType<typeof options>): Promise<Cell[]> {
  const signals: StopSignal[] = ['SIGKILL', 'SIGTERM'];
  const cells: Cell[] = [];
  for (const advertInt of o.advertInts) for (const signal of signals) for (const impl of IMPLS) cells.push({ advertInt, signal, impl, samples: [] });
  const total = cells.length * o.runs;
  let done = 0;
  for (const advertInt of o.advertInts) {
    for (const signal of signals) {
      for (let run = 0; run < o.runs; run++) {
        // Alternate who goes first, so a drift in machine load hits both alike.
        const order = run % 2 === 0 ? IMPLS : [...IMPLS].reverse();
        for (const impl of order) {
          const keepLogsIn = o.keepLogs === undefined ? undefined : join(o.keepLogs, `${impl}-${advertInt}-${signal}-${run + 1}`);
          if (keepLogsIn !== undefined) mkdirSync(keepLogsIn, { recursive: true });
          const s = await failoverRun({ impl, advertInt, signal, phase: (run + 0.5) / o.runs, keepLogsIn });
          if (s.error !== undefined) s.replyMs = Number.NaN;
          cells.find((c) => c.advertInt === advertInt && c.signal === signal && c.impl === impl)?.samples.push(s);
          progress(`[${++done}/${total}] ${impl} advert_int ${advertInt} s ${signal} run ${run + 1} (phase ${((run + 0.5) / o.runs).toFixed(2)}): ${describe(s)}`);
        }
      }
    }
  }
  return cells;
}

async function main(): Promise<void> {
  const o = options();
  preflight();
  const started = Date.now();
  const out: string[] = [];
  if (o.only !== 'idle') {
    const cells = await failoverMatrix(o);
    out.push(
      `### Failover: time from the signal to the first echo reply from the new MASTER at the client (ms, ${o.runs} runs each)`,
      '',
      failoverTable(cells),
      '',
      '### Where the time goes (medians, ms after the signal, as seen on the client\'s wire)',
      '',
      breakdownTable(cells),
      '',
    );
  }
  if (o.only !== 'failover') {
    const results: IdleResult[] = [];
    for (const impl of IMPLS) {
      progress(`idle: ${impl}, ${o.idleInstances} instances at advert_int 0.1 s, ${o.idleSeconds} s`);
      const r = await idleRun({ impl, instances: o.idleInstances, advertInt: 0.1, seconds: o.idleSeconds }, progress);
      progress(`idle: ${impl}: MASTER ${r.master.cpuPct.toFixed(1)} % CPU, ${r.master.rssMiB.toFixed(1)} MiB RSS; BACKUP ${r.backup.cpuPct.toFixed(1)} % CPU, ${r.backup.rssMiB.toFixed(1)} MiB RSS`);
      results.push(r);
    }
    out.push(`### Idle: ${o.idleInstances} instances at advert_int 0.1 s, over ${o.idleSeconds} s (CPU % of one core)`, '', idleTable(results), '');
  }
  progress(`done in ${Math.round((Date.now() - started) / 1000)} s; every lab was torn down and checked`);
  process.stdout.write(out.join('\n'));
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exitCode = 1;
});
