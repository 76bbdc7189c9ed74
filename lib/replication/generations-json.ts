// The generation record as JSON in the volume's metadata file. Decoding never
// throws: bad input is a typed rejection with a reason (style.md habit 1);
// `loadGenerations` turns that into a TandemError for the metadata loader.
import { TandemError } from '../errors.js';
import { entryOf, freeze, HISTORY_LENGTH, isUuid, ZERO_UUID, type BitmapEntry, type Generations } from './generations.js';

export const GENERATIONS_FORMAT = 1;
export const MAX_JSON_BYTES = 64 * 1024;
export const MAX_PEERS = 32;
// Same rule as config object names (lib/config/names.ts): safe as a record key.
const PEER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export type GenerationsDecode = { ok: true; generations: Generations } | { ok: false; reason: string };

export function encodeGenerations(g: Generations): string {
  const bitmap = Object.fromEntries(Object.keys(g.bitmap).sort().map((p) => [p, entryOf(g.bitmap[p] as BitmapEntry)]));
  return JSON.stringify({ format: GENERATIONS_FORMAT, current: g.current, fresh: g.fresh, bitmap, history: g.history });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(o: Record<string, unknown>, keys: readonly string[], what: string): string | null {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  return extra.length === 0 ? null : `${what} has unknown key ${JSON.stringify(extra[0])}`;
}

const fail = (reason: string): GenerationsDecode => ({ ok: false, reason });

export function decodeGenerations(text: string): GenerationsDecode {
  if (Buffer.byteLength(text) > MAX_JSON_BYTES) return fail(`longer than ${MAX_JSON_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`not JSON: ${(err as Error).message}`);
  }
  return parseGenerations(raw);
}

export function parseGenerations(raw: unknown): GenerationsDecode {
  if (!isPlainObject(raw)) return fail('not a JSON object');
  const extra = onlyKeys(raw, ['format', 'current', 'fresh', 'bitmap', 'history'], 'the record');
  if (extra !== null) return fail(extra);
  if (raw.format !== GENERATIONS_FORMAT) return fail(`format ${JSON.stringify(raw.format)} is not ${GENERATIONS_FORMAT}`);
  const { current, fresh, bitmap, history } = raw;
  if (!isUuid(current) || current === ZERO_UUID) return fail(`current ${JSON.stringify(current)} is not a non-zero UUID (16 lowercase hex digits)`);
  if (typeof fresh !== 'boolean') return fail('fresh is not a boolean');
  if (!isPlainObject(bitmap)) return fail('bitmap is not an object');
  const peers = Object.keys(bitmap);
  if (peers.length > MAX_PEERS) return fail(`bitmap has ${peers.length} peers, more than ${MAX_PEERS}`);
  const entries: [string, BitmapEntry][] = [];
  for (const peer of peers) {
    if (!PEER_NAME.test(peer)) return fail(`bitmap peer name ${JSON.stringify(peer)} is not 1..64 characters from A-Z a-z 0-9 _ . -`);
    const e = bitmap[peer];
    if (!isPlainObject(e)) return fail(`bitmap.${peer} is not an object`);
    const extraE = onlyKeys(e, ['uuid', 'primaryAtSplit', 'resync'], `bitmap.${peer}`);
    if (extraE !== null) return fail(extraE);
    // A peer in sync is absent, never zero: one spelling per state.
    if (!isUuid(e.uuid) || e.uuid === ZERO_UUID) return fail(`bitmap.${peer}.uuid ${JSON.stringify(e.uuid)} is not a non-zero UUID`);
    if (typeof e.primaryAtSplit !== 'boolean') return fail(`bitmap.${peer}.primaryAtSplit is not a boolean`);
    if (e.resync !== undefined && e.resync !== true) return fail(`bitmap.${peer}.resync is ${JSON.stringify(e.resync)}, only true (or absent)`);
    entries.push([peer, { uuid: e.uuid, primaryAtSplit: e.primaryAtSplit, ...(e.resync === true ? { resync: true as const } : {}) }]);
  }
  if (!Array.isArray(history)) return fail('history is not an array');
  if (history.length > HISTORY_LENGTH) return fail(`history has ${history.length} entries, more than ${HISTORY_LENGTH}`);
  for (const [i, h] of history.entries()) {
    if (!isUuid(h) || h === ZERO_UUID) return fail(`history[${i}] ${JSON.stringify(h)} is not a non-zero UUID`);
    if (h === current) return fail(`history[${i}] repeats the current UUID`);
    if (history.indexOf(h) !== i) return fail(`history[${i}] repeats history[${history.indexOf(h)}]`);
  }
  if (fresh && (entries.length > 0 || history.length > 0)) return fail('a fresh record has no bitmap entries and no history');
  return { ok: true, generations: freeze({ current, fresh, bitmap: Object.fromEntries(entries), history: history as string[] }) };
}

export function loadGenerations(text: string, source = 'metadata'): Generations {
  const r = decodeGenerations(text);
  if (!r.ok) throw new TandemError('METADATA_GENERATIONS_INVALID', `${source}: generation identifiers are invalid: ${r.reason}`);
  return r.generations;
}

// The generations as `replica status` shows them: bitmap UUIDs by peer.
export function generationsStatus(g: Generations): { current: string; history: string[]; bitmap: Record<string, string> } {
  return { current: g.current, history: [...g.history], bitmap: Object.fromEntries(Object.entries(g.bitmap).map(([p, e]) => [p, e.uuid])) };
}
