// Generation identifiers of one volume (DRBD 9 guide "DRBD Internals >
// Generation identifiers"): immutable values and pure transitions; the
// randomness that mints a new identifier is injected.
import { randomBytes } from 'node:crypto';
import { TandemError } from '../errors.js';

// A 64-bit identifier as 16 lowercase hex digits; all zeros means "none".
export type Uuid = string;
export const ZERO_UUID: Uuid = '0000000000000000';
export const isUuid = (v: unknown): v is Uuid => typeof v === 'string' && /^[0-9a-f]{16}$/.test(v);

// How many ancestors of the current generation are kept (DRBD keeps a short history too).
export const HISTORY_LENGTH = 4;

// Where this node's data split off from one peer's: the peer's data is
// generation `uuid`; our changes since are tracked in the block bitmap.
export interface BitmapEntry {
  readonly uuid: Uuid;
  // We were Primary when the split began (the older primary of a split brain):
  // what discard-younger/older-primary compare (drbd.conf(5) after-sb-0pri).
  readonly primaryAtSplit: boolean;
  // Set by onResyncStarted while we are SyncSource: `uuid` is where the target
  // stood when the resync began, and it may have finished since (its RESYNC_DONE lost).
  readonly resync?: true;
}

export interface Generations {
  readonly current: Uuid;
  // A new volume that was never promoted nor synced: its current describes no data.
  readonly fresh: boolean;
  // Per peer name; a missing peer is in sync with us (DRBD's bitmap UUID 0).
  readonly bitmap: Readonly<Record<string, BitmapEntry>>;
  // Ancestors of `current`, newest first, at most HISTORY_LENGTH.
  readonly history: readonly Uuid[];
}

export type Mint = () => Uuid;

// 64 random bits; zero is "none", so never minted.
export function randomUuid(): Uuid {
  for (;;) {
    const hex = randomBytes(8).toString('hex');
    if (hex !== ZERO_UUID) return hex;
  }
}

export function bitmapEntry(g: Generations, peer: string): BitmapEntry | undefined {
  return Object.hasOwn(g.bitmap, peer) ? g.bitmap[peer] : undefined;
}

// DRBD's per-peer bitmap UUID: ZERO_UUID while in sync with that peer.
export const bitmapUuid = (g: Generations, peer: string): Uuid => bitmapEntry(g, peer)?.uuid ?? ZERO_UUID;

// A plain copy of an entry; `resync` only when set, so records without a resync under way read and encode as before.
export const entryOf = (e: BitmapEntry): BitmapEntry => ({ uuid: e.uuid, primaryAtSplit: e.primaryAtSplit, ...(e.resync === true ? { resync: true as const } : {}) });

export function freeze(g: Generations): Generations {
  const bitmap: Record<string, BitmapEntry> = Object.fromEntries(Object.entries(g.bitmap).map(([peer, e]) => [peer, Object.freeze(entryOf(e))]));
  return Object.freeze({ current: g.current, fresh: g.fresh, bitmap: Object.freeze(bitmap), history: Object.freeze([...g.history]) });
}

// Every identifier this record knows; a new one must collide with none.
export function knownUuids(g: Generations): Set<Uuid> {
  return new Set([g.current, ...Object.values(g.bitmap).map((e) => e.uuid), ...g.history]);
}

const MINT_ATTEMPTS = 8;

function mintNew(g: Generations | null, mint: Mint): Uuid {
  const known = g === null ? new Set<Uuid>() : knownUuids(g);
  for (let i = 0; i < MINT_ATTEMPTS; i++) {
    const u = mint();
    if (!isUuid(u)) throw new TandemError('GENERATION_MINT', `the UUID source returned ${JSON.stringify(u)}, not 16 lowercase hex digits`);
    if (u !== ZERO_UUID && !known.has(u)) return u;
  }
  throw new TandemError('GENERATION_MINT', `the UUID source returned zero or a known UUID ${MINT_ATTEMPTS} times`);
}

const pushHistory = (history: readonly Uuid[], u: Uuid): Uuid[] => [u, ...history.filter((h) => h !== u)].slice(0, HISTORY_LENGTH);

// Our next change is the first `peer` misses: no bitmap UUID yet, or one a
// resync towards the peer set (onResyncStarted): that resync may have ended on
// the peer's side, which then holds our current, so only a new generation
// keeps a split brain detectable.
export function splitsNow(g: Generations, peer: string): boolean {
  const e = bitmapEntry(g, peer);
  return !g.fresh && (e === undefined || e.resync === true);
}

// A new data generation begins (DRBD 9 guide "Generation identifiers > start
// of a new data generation"): the old current becomes an ancestor, and each
// absent peer that was in sync now lags at the old current.
function newGeneration(g: Generations, current: Uuid, absentPeers: readonly string[], primaryAtSplit: boolean): Generations {
  if (g.fresh) return freeze({ current, fresh: false, bitmap: {}, history: [] }); // the fresh UUID names no data
  // A peer already lagging keeps its older split point: the bitmap holds all changes since. One cut off
  // mid-resync keeps where the resync began (its bitmap holds the rest) and is a split now.
  const lagging = absentPeers.filter((peer) => splitsNow(g, peer)).map((peer) => [peer, { uuid: bitmapEntry(g, peer)?.uuid ?? g.current, primaryAtSplit }]);
  // fromEntries defines own keys, so a peer named "__proto__" stays a name.
  const bitmap: Record<string, BitmapEntry> = Object.fromEntries([...Object.entries(g.bitmap), ...lagging]);
  return freeze({ current, fresh: false, bitmap, history: pushHistory(g.history, g.current) });
}

// A new volume: a random current flagged fresh. Both sides of a new pair are
// fresh and Inconsistent, so nothing syncs until one is promoted with --force;
// that one becomes the initial sync source (DRBD 9 guide "Initial device synchronization").
export function onNewVolume(mint: Mint = randomUuid): Generations {
  return freeze({ current: mintNew(null, mint), fresh: true, bitmap: {}, history: [] });
}

// Promotion while some peers are not connected starts a new generation; so
// does the forced first promotion of a fresh volume, connected or not.
export function onPromoteWhileDisconnected(g: Generations, absentPeers: readonly string[], mint: Mint = randomUuid): Generations {
  return newGeneration(g, mintNew(g, mint), absentPeers, false);
}

// The first write of a Primary after it lost one or more peers (call once per
// loss, replication.md "Generation identifiers"): we were Primary at the split.
export function onFirstWriteWhileDisconnected(g: Generations, absentPeers: string | readonly string[], mint: Mint = randomUuid): Generations {
  return newGeneration(g, mintNew(g, mint), typeof absentPeers === 'string' ? [absentPeers] : absentPeers, true);
}

// A connected Secondary of a directory volume follows a new current minted by
// its Primary (because some other peer is absent); peers absent here now lag
// too. Block volumes follow with followPrimary, which mirrors the Primary's entries.
export function onPeerStartedGeneration(g: Generations, current: Uuid, absentPeers: readonly string[]): Generations {
  if (!isUuid(current) || current === ZERO_UUID) throw new TandemError('GENERATION_INVALID', `a peer's new current UUID ${JSON.stringify(current)} is not a non-zero UUID`);
  if (current === g.current) return g;
  return newGeneration(g, current, absentPeers, false);
}

// Connected with nothing to sync, or a resync to/from `peer` finished as
// source: that peer now holds our current (bitmap UUID back to 0).
export function onConnectedAndSynced(g: Generations, peer: string): Generations {
  if (bitmapEntry(g, peer) === undefined) return g;
  const bitmap = Object.fromEntries(Object.entries(g.bitmap).filter(([p]) => p !== peer));
  return freeze({ ...g, bitmap });
}

// A resync towards `peer` starts with us as SyncSource (DRBD's P_SYNC_UUID
// does the same job): our bitmap UUID for the peer names the peer's current,
// and our bitmap then holds every block it lacks, so a link lost mid-resync
// finds the resume rule at the next connect instead of starting over.
export function onResyncStarted(g: Generations, peer: string, peerCurrent: Uuid): Generations {
  if (g.fresh || !isUuid(peerCurrent) || peerCurrent === ZERO_UUID) return g; // a fresh record is never a source
  const had = bitmapEntry(g, peer);
  if (had?.uuid === peerCurrent && had.resync === true) return g;
  const bitmap: Record<string, BitmapEntry> = Object.fromEntries([...Object.entries(g.bitmap).filter(([p]) => p !== peer), [peer, { uuid: peerCurrent, primaryAtSplit: had?.primaryAtSplit ?? false, resync: true }]]);
  return freeze({ ...g, bitmap });
}

export interface FollowedPrimary {
  readonly generations: Generations;
}

// A Secondary in step with Primary `primary` (at the generation it last told
// us) takes the Primary's generations `pg` and mirrors its entries for third
// peers. The Primary forwards every range such a peer misses
// (PEER_OUT_OF_SYNC, the job DRBD 9's peer-acks do), so from the split on our
// bitmap for that peer holds what it lacks, provided we held the generation
// it split at: then the entry is ours too, and after a failover that peer
// resyncs from us by bitmap. Any other entry is dropped: we cannot vouch for
// its bits, and the peer is matched through the history (a full sync).
// `forwarded`: this Primary forwards misses (link protocol 6).
export function followPrimary(g: Generations, self: string, primary: string, pg: Generations, forwarded: boolean): FollowedPrimary {
  const moved = pg.current !== g.current;
  if (moved && (!isUuid(pg.current) || pg.current === ZERO_UUID)) throw new TandemError('GENERATION_INVALID', `a peer's new current UUID ${JSON.stringify(pg.current)} is not a non-zero UUID`);
  const kept: [string, BitmapEntry][] = [];
  // The generations we held in step: ours, and those the Primary started since (two splits between two STATEs).
  const since = pg.history.indexOf(g.current);
  const held = new Set(moved && !g.fresh ? [g.current, ...(since > 0 ? pg.history.slice(0, since) : [])] : []);
  for (const p of new Set([...Object.keys(g.bitmap), ...Object.keys(pg.bitmap)])) {
    const mine = bitmapEntry(g, p);
    // Where the Primary itself stands is ours to say; its entry for us is its own business.
    if (p === primary || p === self) {
      if (mine !== undefined) kept.push([p, mine]);
      continue;
    }
    const theirs = bitmapEntry(pg, p);
    // No entry there (the peer holds the Primary's data; third-peer-marks.ts clears our bits), or no marks sent: ours goes.
    if (theirs === undefined || !forwarded) continue;
    if (mine !== undefined && mine.resync !== true && mine.uuid === theirs.uuid) {
      kept.push([p, mine]); // tracked since that split
    } else if (held.has(theirs.uuid)) {
      kept.push([p, { uuid: theirs.uuid, primaryAtSplit: false }]); // it split at a generation we held
    }
  }
  const same = !moved && kept.length === Object.keys(g.bitmap).length && kept.every(([p, e]) => bitmapEntry(g, p) === e);
  if (same) return { generations: g };
  const bitmap: Record<string, BitmapEntry> = Object.fromEntries(kept);
  if (!moved) return { generations: freeze({ ...g, bitmap }) };
  // Two generations the Primary started between two STATEs (two peers split at once) are both ours: take its history.
  const history = g.fresh ? [] : pg.history.includes(g.current) ? pg.history.slice(0, HISTORY_LENGTH) : pushHistory(g.history, g.current);
  return { generations: freeze({ current: pg.current, fresh: false, bitmap, history }) };
}

// Forget where `peers` stand (a record whose bitmaps may miss marks: a
// Secondary that tracked third peers and did not shut down cleanly); a later
// connect finds them through the history instead (a full sync).
export function withoutBitmapEntries(g: Generations, peers: readonly string[]): Generations {
  if (!peers.some((p) => bitmapEntry(g, p) !== undefined)) return g;
  return freeze({ ...g, bitmap: Object.fromEntries(Object.entries(g.bitmap).filter(([p]) => !peers.includes(p))) });
}

export type ResyncOutcome = { asTarget: false } | { asTarget: true; source: Generations };

// DRBD 9 guide "Generation identifiers > completion of resynchronization": the
// target adopts the source's current and history. It drops its bitmap entries
// for third peers: those tracked changes of data that is gone, and a third
// peer is then matched through the history (full sync) instead.
export function onResyncFinished(g: Generations, peer: string, outcome: ResyncOutcome): Generations {
  if (!outcome.asTarget) return onConnectedAndSynced(g, peer);
  const s = outcome.source;
  return freeze({ current: s.current, fresh: false, bitmap: {}, history: s.history.slice(0, HISTORY_LENGTH) });
}
