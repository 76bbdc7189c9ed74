// A running service's stdout and stderr to the daemon's log (stdout as info,
// stderr as warn): by line, each line capped (output-lines.ts), at most
// OUTPUT_LINES_PER_SECOND lines a second with a count of the rest
// (output-budget.ts). The one timer here reports a suppressed count when its
// window ends and goes when both streams have closed.
import type { Readable } from 'node:stream';
import { OUTPUT_LINES_PER_SECOND, OutputBudget } from './output-budget.js';
import { LineSplitter, MAX_LINE_BYTES } from './output-lines.js';

export type OutputLog = (level: 'info' | 'warn', line: string) => void;

export function logOutput(name: string, stdout: Readable | null, stderr: Readable | null, log: OutputLog, now: () => number = Date.now): void {
  const budget = new OutputBudget();
  let timer: NodeJS.Timeout | null = null;
  let open = 0;
  const report = (n: number): void => {
    if (n > 0) log('warn', `${name}: ${n} lines of output suppressed (more than ${OUTPUT_LINES_PER_SECOND} a second)`);
  };
  // Whether the next line is logged; the first one suppressed arms the timer that reports the count.
  const wanted = (): boolean => {
    const a = budget.admit(now());
    report(a.report);
    if (a.log || timer !== null) return a.log;
    timer = setTimeout(() => {
      timer = null;
      report(budget.take());
    }, Math.max(0, budget.windowEnd - now()));
    timer.unref();
    return false;
  };
  for (const [stream, level] of [[stdout, 'info'], [stderr, 'warn']] as const) {
    if (stream === null) continue;
    open++;
    const lines = new LineSplitter((line) => log(level, `${name}: ${line}`), MAX_LINE_BYTES, wanted);
    stream.on('data', (chunk: Buffer) => lines.push(chunk));
    stream.on('error', () => {}); // a read error ends the stream; 'close' follows
    stream.once('close', () => {
      lines.end();
      if (--open > 0) return;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      report(budget.take());
    });
  }
}
