// A running service's stdout and stderr to the daemon's log (stdout as info,
// stderr as warn): by line, each line capped (output-lines.ts).
import type { Readable } from 'node:stream';
import { LineSplitter } from './output-lines.js';

export type OutputLog = (level: 'info' | 'warn', line: string) => void;

export function logOutput(name: string, stdout: Readable | null, stderr: Readable | null, log: OutputLog): void {
  for (const [stream, level] of [[stdout, 'info'], [stderr, 'warn']] as const) {
    if (stream === null) continue;
    const lines = new LineSplitter((line) => log(level, `${name}: ${line}`));
    stream.on('data', (chunk: Buffer) => lines.push(chunk));
    stream.on('error', () => {}); // a read error ends the stream; 'close' follows
    stream.once('close', () => lines.end());
  }
}
