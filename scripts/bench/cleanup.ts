// Tears a lab down and checks that nothing of it is left: no namespace of
// this process, no process that lived in its namespaces or mentions its
// directory. A benchmark that leaks would skew the runs after it.
import { execFileSync } from 'node:child_process';
import { leftoverNamespaces, type Lab } from '../lab/lab.js';
import { sleep } from './daemons.js';
import { alive, processesMentioning } from './procfs.js';

function pidsIn(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // namespace not there
  }
}

export async function destroyAndCheck(lab: Lab): Promise<void> {
  const inLab = [...lab.hosts, lab.client].flatMap((h) => pidsIn(h.ns));
  await lab.destroy();
  let left: string[] = [];
  // Orphans (keepalived's child) are reaped by init a moment after the kill.
  for (let i = 0; i < 50; i++) {
    left = [
      ...leftoverNamespaces().map((n) => `namespace ${n}`),
      ...inLab.filter(alive).map((p) => `pid ${p}`),
      ...processesMentioning(lab.root).map((p) => `pid ${p} (mentions ${lab.root})`),
    ];
    if (left.length === 0) return;
    await sleep(20);
  }
  throw new Error(`lab ${lab.prefix} left behind: ${left.join(', ')}`);
}
