// Key paths as users read them ("vrrp.instances[0].priority") and back. User
// chosen keys that are not plain identifiers (a script named "chk.web") are
// written as ["chk.web"] so that the text form stays unambiguous and can be
// walked again to find the key's line in the YAML source.

export type Segment = string | number;
export type KeyPath = readonly Segment[];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function renderPath(path: KeyPath): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

// The inverse of renderPath; null for a pseudo path such as "(yaml)".
export function parsePath(text: string): Segment[] | null {
  if (text.startsWith('(')) return text === '(root)' ? [] : null;
  const out: Segment[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '.') {
      i++;
      continue;
    }
    if (c === '[') {
      const end = closingBracket(text, i);
      if (end < 0) return null;
      const inner = text.slice(i + 1, end);
      if (/^\d+$/.test(inner)) out.push(Number(inner));
      else {
        try {
          const key: unknown = JSON.parse(inner);
          if (typeof key !== 'string') return null;
          out.push(key);
        } catch {
          return null;
        }
      }
      i = end + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (m === null) return null;
    out.push(m[0]);
    i += m[0].length;
  }
  return out;
}

// The "]" that closes the bracket at `open`, skipping over a JSON string.
function closingBracket(text: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ']') return i;
  }
  return -1;
}
