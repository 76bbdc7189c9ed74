// Whether a process runs: alive and not a zombie (an orphan's zombie waits
// for a PID 1 that may not reap it, and kill(pid, 0) still finds it).
import { readFileSync } from 'node:fs';

export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
