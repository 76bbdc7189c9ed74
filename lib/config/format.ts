// Issues as lines for people: one issue per line, prefixed by the source
// (usually the file path) so editors and grep can find it.
import { describeValue } from './issues.js';
import type { ConfigIssue } from './types.js';

// `<source>: vrrp.instances[0].priority: 300 is not allowed: must be an integer 1..255 (line 7)`
export function formatIssues(issues: readonly ConfigIssue[], source: string): string {
  return issues.map((i) => `${source}: ${i.path}: ${body(i, ' is not allowed: ')}${where(i)}`).join('\n');
}

// `<source>: warning: vrrp.instances[0].nopreempt: true: nopreempt is meant for ...`
export function formatWarnings(warnings: readonly ConfigIssue[], source: string): string {
  return warnings.map((i) => `${source}: warning: ${i.path}: ${body(i, ': ')}${where(i)}`).join('\n');
}

// A missing value (or a pseudo path such as "(yaml)") has a self-contained message.
function body(i: ConfigIssue, verdict: string): string {
  if (i.value === undefined) return i.message;
  return `${describeValue(i.value)}${verdict}${i.message}`;
}

function where(i: ConfigIssue): string {
  if (i.line === undefined || i.path.startsWith('(yaml)')) return '';
  return ` (line ${i.line})`;
}
