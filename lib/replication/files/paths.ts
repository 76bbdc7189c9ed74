// Path safety for directory replication: a path received from the wire is
// checked as text first, then resolved under the volume root without ever
// following a symlink among its parents (issue 4, "Safety").
import { lstat } from 'node:fs/promises';
import path from 'node:path';

export const MAX_SEGMENT_BYTES = 255; // NAME_MAX on Linux
export const MAX_PATH_BYTES = 4096; // PATH_MAX on Linux

export type WirePathCheck = { ok: true; path: string } | { ok: false; reason: string };
// noSuchEntry: a parent is a symlink or not a directory, so no entry of that name is in the tree.
export type ResolveResult = { ok: true; abs: string } | { ok: false; reason: string; noSuchEntry?: true };

const ALLOWED = 'allowed: a relative path of non-empty segments separated by single "/", none "." or "..", '
  + `each at most ${MAX_SEGMENT_BYTES} bytes, the whole at most ${MAX_PATH_BYTES} bytes of valid UTF-8 without NUL`;

const refuse = (what: string): { ok: false; reason: string } => ({ ok: false, reason: `${what}; ${ALLOWED}` });

// Pure: decides on the text alone. Backslashes are ordinary characters on Linux.
export function checkWirePath(p: string): WirePathCheck {
  if (typeof p !== 'string') return refuse('path is not a string');
  if (p.length === 0) return refuse('path is empty');
  // A lone surrogate would be written to disk as U+FFFD: a different name than the one sent.
  if (Buffer.from(p, 'utf8').toString('utf8') !== p) return refuse('path is not valid UTF-8 (lone surrogate)');
  if (p.includes('\0')) return refuse('path contains a NUL byte');
  const total = Buffer.byteLength(p, 'utf8');
  if (total > MAX_PATH_BYTES) return refuse(`path is ${total} bytes long`);
  if (p.startsWith('/')) return refuse('path is absolute');
  const segments = p.split('/');
  for (const [i, seg] of segments.entries()) {
    if (seg === '') return refuse(`segment ${i + 1} is empty (leading, trailing or doubled "/")`);
    if (seg === '.' || seg === '..') return refuse(`segment ${i + 1} is "${seg}"`);
    const bytes = Buffer.byteLength(seg, 'utf8');
    if (bytes > MAX_SEGMENT_BYTES) return refuse(`segment ${i + 1} is ${bytes} bytes long`);
  }
  return { ok: true, path: p };
}

// Joins `rel` under `root` after checkWirePath and lstat()s every existing
// parent below root: a symlink or non-directory among them is refused, so no
// write can land outside root. A missing parent is fine (the caller creates
// it). The last component is not inspected: it is replaced, never followed.
// The check and the later write are not one atomic step; that holds because
// nothing but the applier writes a secondary's tree (issue 4).
export async function resolveInside(root: string, rel: string): Promise<ResolveResult> {
  if (!path.isAbsolute(root)) return { ok: false, reason: `root "${root}" is not an absolute path` };
  const checked = checkWirePath(rel);
  if (!checked.ok) return { ok: false, reason: `"${printable(rel)}": ${checked.reason}` };
  const base = path.resolve(root);
  const segments = checked.path.split('/');
  let dir = base;
  for (const seg of segments.slice(0, -1)) {
    dir = path.join(dir, seg);
    let st;
    try {
      st = await lstat(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') break; // the rest is created below a real directory
      return { ok: false, reason: `"${rel}": cannot inspect parent "${path.relative(base, dir)}": ${(err as Error).message}` };
    }
    if (st.isSymbolicLink()) return { ok: false, reason: `"${rel}": parent "${path.relative(base, dir)}" is a symlink; parents must be real directories`, noSuchEntry: true };
    if (!st.isDirectory()) return { ok: false, reason: `"${rel}": parent "${path.relative(base, dir)}" is not a directory`, noSuchEntry: true };
  }
  return { ok: true, abs: path.join(base, ...segments) };
}

// For messages: shows control characters and lone surrogates escaped.
export function printable(p: string): string {
  return JSON.stringify(p).slice(1, -1).slice(0, 300);
}
