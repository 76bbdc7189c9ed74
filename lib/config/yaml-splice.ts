// Edits values of one block mapping in a YAML file's text, in place: each
// changed value's bytes are replaced, a missing key becomes a line at the end
// of the mapping, and every other byte stays as the user wrote it (comments,
// their columns, quoting, flow or block style, spacing, line length). A
// re-print by the YAML library would lay the whole file out its own way.
// Returns null when an edit does not fit (a flow mapping, text that would not
// read back as the values asked for): the caller re-prints instead. Pure.
import { isMap, isSeq, parseDocument, stringify, type Node } from 'yaml';

export interface ValueEdit {
  key: string;
  value: unknown; // a scalar, a list of scalars or of flat mappings
}

type Path = ReadonlyArray<string | number>;

export function spliceValues(source: string, base: Path, edits: readonly ValueEdit[]): string | null {
  const doc = parseDocument(source);
  if (doc.errors.length > 0) return null;
  const map = doc.getIn(base, true);
  if (!isMap(map) || map.flow === true || map.range == null) return null;
  const firstKey = map.items[0]?.key as Node | undefined;
  const indent = firstKey?.range == null ? null : columnOf(source, firstKey.range[0]);
  const eol = source.includes('\r\n') ? '\r\n' : '\n'; // a CRLF file stays one
  const splices: Array<{ at: number; end: number; text: string }> = [];
  let added = '';
  for (const e of edits) {
    const node = doc.getIn([...base, e.key], true) as Node | undefined;
    if (node === undefined || node === null) {
      if (indent === null) return null;
      added += `${' '.repeat(indent)}${e.key}: ${valueText(e.value)}${eol}`;
      continue;
    }
    if (node.range == null) return null;
    const [at, end] = node.range;
    if (isSeq(node) && node.flow !== true && Array.isArray(e.value)) {
      // A block list stays one: its items at the column of the first (the range ends after the last item's line).
      const col = columnOf(source, at);
      const kept = itemLines(source, node.items as Node[]);
      const line = (v: unknown): string => {
        // An item the list keeps keeps its line as written, comment and all.
        const i = kept.findIndex((k) => k !== null && k.json === JSON.stringify(v));
        const k = i < 0 ? null : kept[i];
        if (k == null) return `- ${itemText(v)}`;
        kept[i] = null;
        return k.text;
      };
      splices.push({ at, end, text: e.value.map((v, i) => `${i === 0 ? '' : ' '.repeat(col)}${line(v)}${eol}`).join('') });
    } else {
      splices.push({ at, end, text: valueText(e.value) });
    }
  }
  // A mapping that ends the file without a line end gets one before the added lines.
  const at = map.range[1];
  if (added !== '') splices.push({ at, end: at, text: at > 0 && source[at - 1] !== '\n' ? `${eol}${added}` : added });
  let out = source;
  for (const s of splices.sort((x, y) => y.at - x.at)) out = out.slice(0, s.at) + s.text + out.slice(s.end);
  // The text must read back as asked, or the re-print is used.
  const check = parseDocument(out);
  if (check.errors.length > 0) return null;
  for (const e of edits) if (JSON.stringify(toJs(check.getIn([...base, e.key]))) !== JSON.stringify(e.value)) return null;
  return out;
}

// Each block-list item alone on its line: its value, and its line from the dash to the line end (a comment
// included); null for one that shares or spans lines.
function itemLines(source: string, items: readonly Node[]): Array<{ json: string; text: string } | null> {
  return items.map((item, i) => {
    if (item.range == null) return null;
    const [start, valueEnd] = item.range;
    const lineStart = source.lastIndexOf('\n', start - 1) + 1;
    const nl = source.indexOf('\n', start);
    const lineEnd = nl < 0 ? source.length : source[nl - 1] === '\r' ? nl - 1 : nl;
    const dash = source.slice(lineStart, start);
    const next = items[i + 1]?.range?.[0];
    if (!/^\s*-\s+$/.test(dash) || valueEnd > lineEnd || (next !== undefined && next < lineEnd)) return null;
    return { json: JSON.stringify(toJs(item)), text: source.slice(lineStart + dash.indexOf('-'), lineEnd).trimEnd() };
  });
}

function toJs(v: unknown): unknown {
  return v !== null && typeof v === 'object' && 'toJSON' in v ? (v as { toJSON(): unknown }).toJSON() : v;
}

function columnOf(source: string, offset: number): number {
  return offset - (source.lastIndexOf('\n', offset - 1) + 1);
}

// A scalar as YAML writes it: plain when it reads back the same, else quoted.
function scalarText(v: unknown): string {
  return stringify(v, { lineWidth: 0 }).trimEnd();
}

function itemText(v: unknown): string {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${scalarText(x)}`).join(', ')} }`;
  }
  return scalarText(v);
}

function valueText(v: unknown): string {
  return Array.isArray(v) ? `[${v.map(itemText).join(', ')}]` : itemText(v);
}
