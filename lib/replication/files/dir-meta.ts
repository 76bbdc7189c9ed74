// The metadata of a directory volume: its generation identifiers, disk state,
// last role and, per peer, how many paths changed while the peer was away
// (what discard-least-changes and discard-zero-changes weigh) and what fencing
// made of it while it is away; as Secondary, whether it lacks changes of the
// Primary's (lacking.ts). Small, so it
// is rewritten whole: new file, fsync, rename, fsync the directory; a crash
// leaves the old record or the new one (issue 3 "Metadata updates never leave
// it half-written").
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { TandemError } from '../../errors.js';
import { syncDir } from '../block/fs-sync.js';
import { encodeGenerations, parseGenerations } from '../generations-json.js';
import { onNewVolume, type Generations } from '../generations.js';
import { decodeFencedPeers, fencedPeersJson, type FencedPeers } from '../fencing.js';
import { isDiskState, type DiskState } from '../states.js';
import type { LackingRecord } from './lacking.js';

const FORMAT = 'tandem-directory-volume/1';
const MAX_BYTES = 256 * 1024;
const MAX_FIRST = 8192; // a path near PATH_MAX, quoted, and its reason

export interface DirMeta {
  generations: Generations;
  disk: DiskState; // UpToDate, Inconsistent (new, or a resync target that has not finished), Outdated, Consistent (fencing.ts)
  lastRole: 'Primary' | 'Secondary';
  changed: Record<string, number>; // per peer: paths changed since it was last in sync
  fenced: FencedPeers; // what fencing made of absent peers (fencing.ts)
  lacking: LackingRecord | null; // as Secondary: the Primary's changes not applied here (lacking.ts)
}

export const freshDirMeta = (): DirMeta => ({ generations: onNewVolume(), disk: 'Inconsistent', lastRole: 'Secondary', changed: {}, fenced: new Map(), lacking: null });

export function encodeDirMeta(m: DirMeta): string {
  return JSON.stringify({ format: FORMAT, generations: JSON.parse(encodeGenerations(m.generations)) as unknown, disk: m.disk, lastRole: m.lastRole, changed: m.changed, fencedPeers: fencedPeersJson(m.fenced), lacking: m.lacking });
}

export function decodeDirMeta(text: string): { ok: true; meta: DirMeta } | { ok: false; reason: string } {
  if (text.length > MAX_BYTES) return { ok: false, reason: `longer than ${MAX_BYTES} bytes` };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  if (typeof o !== 'object' || o === null || o.format !== FORMAT) return { ok: false, reason: `not a ${FORMAT} record` };
  const g = parseGenerations(o.generations);
  if (!g.ok) return { ok: false, reason: `generations: ${g.reason}` };
  if (!isDiskState(o.disk) || (o.lastRole !== 'Primary' && o.lastRole !== 'Secondary')) return { ok: false, reason: 'disk or lastRole is not a known state' };
  const changed: Record<string, number> = {};
  if (typeof o.changed !== 'object' || o.changed === null) return { ok: false, reason: 'changed is not an object' };
  for (const [k, v] of Object.entries(o.changed)) {
    if (!Number.isSafeInteger(v) || (v as number) < 0) return { ok: false, reason: `changed.${k} is not a count` };
    changed[k] = v as number;
  }
  const fenced = decodeFencedPeers(o.fencedPeers);
  if (!fenced.ok) return { ok: false, reason: fenced.detail };
  const lacking = decodeLacking(o.lacking);
  if (lacking === undefined) return { ok: false, reason: 'lacking is not null or { count, first }' };
  return { ok: true, meta: { generations: g.generations, disk: o.disk, lastRole: o.lastRole, changed, fenced: fenced.value, lacking } };
}

// Absent in records of builds before it was kept: nothing lacking. Undefined when malformed.
function decodeLacking(v: unknown): LackingRecord | null | undefined {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object') return undefined;
  const { count, first } = v as Record<string, unknown>;
  if (!Number.isSafeInteger(count) || (count as number) < 1 || typeof first !== 'string' || first.length > MAX_FIRST) return undefined;
  return { count: count as number, first };
}

export async function loadDirMeta(path: string): Promise<DirMeta | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TandemError('METADATA_UNREADABLE', `${path}: ${(e as Error).message}`, { cause: e });
  }
  const d = decodeDirMeta(text);
  if (!d.ok) throw new TandemError('METADATA_INVALID', `${path}: ${d.reason}; move it away to start this volume as new (Inconsistent, full sync from a peer)`);
  return d.meta;
}

export async function saveDirMeta(path: string, m: DirMeta): Promise<void> {
  const tmp = `${path}.new`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(encodeDirMeta(m));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(path);
}
