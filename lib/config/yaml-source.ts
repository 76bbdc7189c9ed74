// YAML text -> ConfigResult. Syntax errors become issues with line and column;
// validation issues get the line of the key they are about, when it is found.
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { parsePath, renderPath, type Segment } from './path.js';
import type { ValidateOptions } from './section.js';
import type { ConfigIssue } from './types.js';
import { validateConfig, type ConfigResult } from './validate.js';

export const YAML_PATH = '(yaml)';

export function parseConfigText(text: string, options: ValidateOptions = {}): ConfigResult {
  const lines = new LineCounter();
  // merge: `<<: *defaults` lets instances share settings, as YAML 1.1 users expect.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const syntax = [...doc.errors, ...doc.warnings].map((e): ConfigIssue => {
    const { line, col } = lines.linePos(e.pos[0]);
    const first = e.code === 'MULTIPLE_DOCS'
      ? 'a configuration is one YAML document: remove the second "---" and what follows, or merge them'
      : (e.message.split('\n')[0] ?? e.message);
    return { path: YAML_PATH, value: undefined, message: `line ${line}, column ${col}: ${first}`, line, column: col };
  });
  if (syntax.length > 0) return { ok: false, issues: syntax };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias bomb or an unresolvable alias: refuse the file, never throw.
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, issues: [{ path: YAML_PATH, value: undefined, message }] };
  }
  const tagged = taggedValues(raw, []);
  if (tagged.length > 0) return { ok: false, issues: tagged.map((i) => locate(doc, lines, i)) };
  const result = validateConfig(raw, options);
  const place = (i: ConfigIssue): ConfigIssue => locate(doc, lines, i);
  return result.ok
    ? { ...result, warnings: byLine((result.warnings ?? []).map(place)) }
    : { ok: false, issues: byLine(result.issues.map(place)) };
}

// YAML's extra types (!!omap, !!set, !!timestamp, !!binary) come out of the parser as Map, Set, Date or
// bytes, which no key of this file takes: refused where they are, instead of read as an empty mapping.
const TAGGED: Array<[(v: object) => boolean, string]> = [
  [(v) => v instanceof Map, 'an ordered mapping (!!omap)'],
  [(v) => v instanceof Set, 'a set (!!set)'],
  [(v) => v instanceof Date, 'a timestamp (!!timestamp)'],
  [(v) => v instanceof Uint8Array, 'binary data (!!binary)'],
];

// `seen`: an alias may contain itself; each object is looked at once.
function taggedValues(v: unknown, at: Segment[], seen = new Set<object>()): ConfigIssue[] {
  if (typeof v !== 'object' || v === null || seen.has(v)) return [];
  seen.add(v);
  const hit = TAGGED.find(([is]) => is(v));
  if (hit !== undefined) {
    return [{ path: renderPath(at), value: undefined, message: `is ${hit[1]}, which this file does not use: write a plain mapping, list or (quoted) string` }];
  }
  const entries: Array<[Segment, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return entries.flatMap(([k, x]) => taggedValues(x, [...at, k], seen));
}

// Reading order for people; issues without a line keep their place at the end.
function byLine(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || (a.issue.column ?? 0) - (b.issue.column ?? 0) || a.i - b.i)
    .map(({ issue }) => issue);
}

// Adds line/column: of the key itself, or of the closest enclosing node found.
function locate(doc: Document, lines: LineCounter, issue: ConfigIssue): ConfigIssue {
  const path = parsePath(issue.path);
  if (path === null) return issue;
  const offset = findOffset(doc, path);
  if (offset === undefined) return issue;
  const { line, col } = lines.linePos(offset);
  return { ...issue, line, column: col };
}

function findOffset(doc: Document, path: readonly Segment[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) return offset;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      offset = rangeStart(node) ?? offset;
    } else return offset;
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[0] : undefined;
}
