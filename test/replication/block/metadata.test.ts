// Metadata record payload and slot codecs: round trips, exact slot bytes,
// every rejection by name, and decoders that never throw.
import { expect } from 'chai';
import { crc32 } from 'node:zlib';
import { ActivityLog } from '../../../lib/replication/block/activity-log.js';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import { type MetadataRecord, crashedWhilePrimary, decodeRecord, encodeRecord, encodeRecordParts, markActivityLogOutOfSync } from '../../../lib/replication/block/metadata.js';
import { SLOT_ALIGN, SLOT_HEADER_LEN, decodeSlot, encodeSlot, encodeSlotParts, readSlots, slotCapacityFor } from '../../../lib/replication/block/metadata-slot.js';
import { rng } from '../../helpers/random.js';

export function sampleRecord(volumeSize = 64 * 4096 + 512, peers = ['node-b', 'node-c']): MetadataRecord {
  const bitmaps = new Map<string, Bitmap>();
  peers.forEach((p, i) => {
    const bm = new Bitmap(volumeSize, 4096);
    bm.setRange(i * 8192, 10000);
    bitmaps.set(p, bm);
  });
  const al = new ActivityLog(7, 1 << 16);
  al.touch(0, 1);
  al.touch(3 << 16, 1);
  return {
    volumeSize,
    blockSize: 4096,
    generations: { current: 'a1b2c3d4e5f60718', bitmap: { 'node-b': '0' }, history: ['1122334455667788'] },
    bitmaps,
    activityLog: al,
    lastRole: 'Primary',
    diskState: 'UpToDate',
    cleanShutdown: false,
    fencedPeers: new Map(),
    staleBitsFor: new Set(),
    marksOnly: new Map(),
  };
}

export function sameRecord(a: MetadataRecord, b: MetadataRecord): void {
  expect(a.volumeSize).to.equal(b.volumeSize);
  expect(a.blockSize).to.equal(b.blockSize);
  expect(a.generations).to.deep.equal(b.generations);
  expect(a.lastRole).to.equal(b.lastRole);
  expect(a.diskState).to.equal(b.diskState);
  expect(a.cleanShutdown).to.equal(b.cleanShutdown);
  expect([...a.bitmaps.keys()]).to.deep.equal([...b.bitmaps.keys()]);
  for (const [peer, bm] of a.bitmaps) expect(bm.equals(b.bitmaps.get(peer) as Bitmap), peer).to.equal(true);
  expect(a.activityLog.extents()).to.deep.equal(b.activityLog.extents());
  expect(a.activityLog.capacity).to.equal(b.activityLog.capacity);
  expect([...a.fencedPeers]).to.deep.equal([...b.fencedPeers]);
  expect([...a.marksOnly.keys()]).to.deep.equal([...b.marksOnly.keys()]);
  for (const [peer, bm] of a.marksOnly) expect(bm.equals(b.marksOnly.get(peer) as Bitmap), `marks-only ${peer}`).to.equal(true);
}

// The record's bytes with its JSON part edited, never longer (padded, so the blob offsets hold).
function editedJson(rec: MetadataRecord, edit: (doc: Record<string, unknown>) => void): Buffer {
  const bytes = encodeRecord(rec);
  const len = bytes.readUInt32LE(0);
  const doc = JSON.parse(bytes.subarray(4, 4 + len).toString('utf8')) as Record<string, unknown>;
  edit(doc);
  const json = Buffer.from(JSON.stringify(doc).padEnd(len, ' '));
  expect(json.length, 'the edit keeps the blob offsets').to.equal(len);
  return Buffer.concat([bytes.subarray(0, 4), json, bytes.subarray(4 + len)]);
}

describe('replication/block metadata codec', () => {
  it('a record round-trips: scalars, opaque generations, per-peer bitmaps, the activity log', () => {
    const rec = sampleRecord();
    const back = decodeRecord(encodeRecord(rec));
    if (!back.ok) return expect.fail(`${back.reason}: ${back.detail}`);
    sameRecord(back.record, rec);
    const none = decodeRecord(encodeRecord({ ...sampleRecord(8192, []), lastRole: 'Secondary', diskState: 'Outdated', cleanShutdown: true, generations: null }));
    if (!none.ok) return expect.fail(none.detail);
    expect(none.record.bitmaps.size).to.equal(0);
    expect(none.record.diskState).to.equal('Outdated');
  });

  it('what fencing made of absent peers round-trips; a record from before it was saved has none; a bad entry is refused', () => {
    const rec = { ...sampleRecord(), fencedPeers: new Map([['node-b', 'Outdated'], ['node_c', 'Inconsistent']] as const) };
    const back = decodeRecord(encodeRecord(rec));
    if (!back.ok) return expect.fail(back.detail);
    expect([...back.record.fencedPeers]).to.deep.equal([['node-b', 'Outdated'], ['node_c', 'Inconsistent']]);
    // Rewrite the JSON part, never longer: without the key (an older record), and with bad entries.
    const withJson = (edit: (doc: Record<string, unknown>) => void): Buffer => editedJson(rec, edit);
    const old = decodeRecord(withJson((d) => { delete d['fencedPeers']; }));
    expect(old.ok && old.record.fencedPeers.size).to.equal(0);
    for (const [bad, why] of [[{ 'node-b': 'UpToDate' }, 'not Outdated or Inconsistent'], [{ 'no/de': 'Outdated' }, 'not a node name'], [['node-b'], 'not an object']] as const) {
      const r = decodeRecord(withJson((d) => { d['fencedPeers'] = bad; }));
      expect(r.ok, why).to.equal(false);
      expect(r.ok ? '' : `${r.reason}: ${r.detail}`).to.include('field').and.include(why);
    }
    expect(() => encodeRecord({ ...rec, fencedPeers: new Map([['node-b', 'UpToDate' as 'Outdated']]) })).to.throw(RangeError);
  });

  it('the peers our bits are stale for round-trip; a record from before they were saved has none; a bad list is refused', () => {
    const rec = { ...sampleRecord(), staleBitsFor: new Set(['node_c', 'node-b']) };
    const back = decodeRecord(encodeRecord(rec));
    if (!back.ok) return expect.fail(back.detail);
    expect([...back.record.staleBitsFor]).to.deep.equal(['node-b', 'node_c']);
    const withJson = (edit: (doc: Record<string, unknown>) => void): Buffer => editedJson(rec, edit);
    const old = decodeRecord(withJson((d) => { delete d['staleBitsFor']; }));
    expect(old.ok && old.record.staleBitsFor.size).to.equal(0);
    for (const bad of [['no/de'], ['node-b', 'node-b'], 'node-b', [7]]) {
      const r = decodeRecord(withJson((d) => { d['staleBitsFor'] = bad; }));
      expect(r.ok ? '' : `${r.reason}: ${r.detail}`, JSON.stringify(bad)).to.match(/^field: staleBitsFor/);
    }
    expect(() => encodeRecord({ ...rec, staleBitsFor: new Set(['bad name!']) })).to.throw(RangeError);
  });

  it('the blocks only a lost Primary\'s marks set round-trip per peer; a record from before they were saved has none; bad ones are refused', () => {
    const only = new Bitmap(1 << 20, 4096);
    only.setRange(0, 3 * 4096);
    only.setRange(200 * 4096, 4096);
    const rec = { ...sampleRecord(1 << 20), marksOnly: new Map([['node_c', only]]) };
    const back = decodeRecord(encodeRecord(rec));
    if (!back.ok) return expect.fail(back.detail);
    sameRecord(back.record, rec);
    expect(back.record.marksOnly.get('node_c')?.countSet()).to.equal(4);
    const withJson = (edit: (doc: Record<string, unknown>) => void): Buffer => editedJson(rec, edit);
    const old = decodeRecord(withJson((d) => { delete d['marksOnly']; }));
    expect(old.ok && old.record.marksOnly.size).to.equal(0);
    const entry = (d: Record<string, unknown>): Record<string, unknown> => (d['marksOnly'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
    const cases: Array<[(d: Record<string, unknown>) => void, RegExp]> = [
      [(d) => { d['marksOnly'] = 'node_c'; }, /^field: marks-only bitmaps: not a list/],
      [(d) => { entry(d)['peer'] = 'no/de'; }, /^field: marks-only bitmap peer no\/de/],
      [(d) => { entry(d)['at'] = -1; }, /^bitmap: marks-only bitmap blob of node_c is out of bounds/],
      [(d) => { entry(d)['at'] = 4; }, /^bitmap: marks-only bitmap of node_c: /],
    ];
    for (const [edit, why] of cases) {
      const r = decodeRecord(withJson(edit));
      expect(r.ok ? '' : `${r.reason}: ${r.detail}`).to.match(why);
    }
    expect(() => encodeRecord({ ...rec, marksOnly: new Map([['node_c', new Bitmap(2 << 20, 4096)]]) })).to.throw(RangeError, /marks-only bitmap for node_c/);
  });

  it('generations pass through the owner\'s check; a refusal or a throwing check is a rejection', () => {
    const bytes = encodeRecord(sampleRecord());
    expect(decodeRecord(bytes, (g) => ((g as { current?: unknown }).current === 'a1b2c3d4e5f60718' ? null : 'bad')).ok).to.equal(true);
    const no = decodeRecord(bytes, () => 'history too long');
    expect(no).to.deep.equal({ ok: false, reason: 'generations', detail: 'history too long' });
    const boom = decodeRecord(bytes, () => {
      throw new Error('boom');
    });
    expect(boom.ok).to.equal(false);
  });

  it('encode refuses records that break their own rules (programmer errors)', () => {
    const r = sampleRecord();
    expect(() => encodeRecord({ ...r, lastRole: 'Unknown' as 'Primary' })).to.throw(RangeError);
    expect(() => encodeRecord({ ...r, diskState: 'DUnknown' as 'UpToDate' })).to.throw(RangeError);
    expect(() => encodeRecord({ ...r, bitmaps: new Map([['node-b', new Bitmap(8192)]]) })).to.throw(RangeError);
    expect(() => encodeRecord({ ...r, bitmaps: new Map([['bad name!', new Bitmap(r.volumeSize)]]) })).to.throw(RangeError);
    expect(() => encodeRecord({ ...r, blockSize: 1000 })).to.throw(RangeError);
    // Every peer name the configuration takes is a name the record takes (config/names.ts nodeName).
    for (const peer of ['_b', '.b', '-b', 'n'.repeat(63)]) {
      const back = decodeRecord(encodeRecord({ ...r, bitmaps: new Map([[peer, new Bitmap(r.volumeSize, r.blockSize)]]), fencedPeers: new Map([[peer, 'Outdated']]) }));
      expect(back.ok && [...back.record.bitmaps.keys()], peer).to.deep.equal([peer]);
    }
  });

  it('decodeRecord never throws: truncations, flips, random JSON', () => {
    const bytes = encodeRecord(sampleRecord(4096 * 40, ['p']));
    for (let n = 0; n < bytes.length; n += 7) expect(decodeRecord(bytes.subarray(0, n)).ok).to.equal(false);
    const r = rng(5);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(bytes);
      b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      decodeRecord(b); // may be ok (a digit in generations), must not throw
    }
    for (const doc of ['[]', '{"volumeSize":"x"}', '{"volumeSize":4096,"blockSize":4096,"lastRole":"Primary","diskState":"UpToDate","cleanShutdown":true,"bitmaps":[{"peer":"a","at":-1,"length":5}]}']) {
      const j = Buffer.from(doc);
      const head = Buffer.alloc(4);
      head.writeUInt32LE(j.length);
      expect(decodeRecord(Buffer.concat([head, j])).ok, doc).to.equal(false);
    }
  });
});

describe('replication/block metadata crash recovery', () => {
  it('after a Primary crash every logged extent is marked out of sync towards every peer', () => {
    const rec = sampleRecord(64 * 4096 + 512); // AL: extents 0 and 3 of 64 KiB (16 blocks each)
    expect(crashedWhilePrimary(rec)).to.equal(true);
    expect(crashedWhilePrimary({ ...rec, cleanShutdown: true })).to.equal(false);
    expect(crashedWhilePrimary({ ...rec, lastRole: 'Secondary' })).to.equal(false);
    const before = [...rec.bitmaps.values()].map((b) => b.countSet());
    const changed = markActivityLogOutOfSync(rec);
    for (const [i, bm] of [...rec.bitmaps.values()].entries()) {
      for (let b = 0; b < 16; b++) expect(bm.isSet(b), `block ${b}`).to.equal(true); // extent 0
      for (let b = 48; b < 64; b++) expect(bm.isSet(b), `block ${b}`).to.equal(true); // extent 3
      expect(bm.isSet(30) || bm.isSet(64)).to.equal(false); // outside the log: untouched
      expect(bm.countSet()).to.be.at.least(before[i] ?? 0);
    }
    expect(changed).to.equal([...rec.bitmaps.values()].reduce((n, b, i) => n + b.countSet() - (before[i] ?? 0), 0));
    expect(markActivityLogOutOfSync(rec)).to.equal(0);
  });
});

describe('replication/block metadata slots', () => {
  it('a slot is exact bytes: header, payload, crc32 over both with its field zero', () => {
    const slot = encodeSlot(258, 4096, Buffer.from('abc'));
    const head = '544e444d4d455441' + '0100' + '0000' + '00100000' + '0201000000000000' + '03000000';
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(Buffer.from(head + '00000000' + '616263', 'hex')));
    expect(slot.toString('hex')).to.equal(head + crc.toString('hex') + '616263');
    expect(decodeSlot(slot)).to.deep.equal({ ok: true, sequence: 258, capacity: 4096, payload: Buffer.from('abc') });
    expect(slotCapacityFor(100) % SLOT_ALIGN).to.equal(0);
    expect(() => encodeSlot(1, 4096, Buffer.alloc(4096))).to.throw(RangeError);
  });

  it('a payload in parts: the same bytes as whole, the parts themselves not copied, and a change to any part is caught', () => {
    const parts = [Buffer.from('head'), Buffer.alloc(5000, 1), Buffer.alloc(0), Buffer.from(new ArrayBuffer(0)), Buffer.from('tail')];
    const whole = Buffer.concat(parts);
    const slot = encodeSlotParts(9, 16384, parts);
    expect(slot.slice(1), 'the payload parts follow the header as they are').to.deep.equal(parts);
    expect(slot[1]).to.equal(parts[0]);
    expect(Buffer.concat(slot).equals(encodeSlot(9, 16384, whole))).to.equal(true);
    expect(decodeSlot(Buffer.concat(slot))).to.deep.equal({ ok: true, sequence: 9, capacity: 16384, payload: whole });
    expect(decodeSlot(encodeSlot(2, 4096, Buffer.from(new ArrayBuffer(0))))).to.include({ ok: true }); // empty, no backing store
    for (const at of [10, whole.length - 1]) { // in the second part, in the last
      const torn = Buffer.concat(slot);
      torn.writeUInt8((torn.readUInt8(SLOT_HEADER_LEN + at) ^ 1), SLOT_HEADER_LEN + at);
      expect(decodeSlot(torn)).to.include({ ok: false, reason: 'checksum' });
    }
    expect(() => encodeSlotParts(1, 4096, [Buffer.alloc(2000), Buffer.alloc(2100)])).to.throw(RangeError, '4100-byte payload in a 4096-byte slot');
  });

  it('a record in parts is the record whole, bitmaps included', () => {
    const rec = sampleRecord(4096 * 40, ['p', 'q']);
    const parts = encodeRecordParts(rec);
    expect(parts.length).to.equal(4); // the JSON head, two bitmaps, the log
    expect(Buffer.concat(parts).equals(encodeRecord(rec))).to.equal(true);
  });

  it('decodeSlot names the fault: empty, truncated, magic, version, geometry, checksum', () => {
    const good = encodeSlot(5, 8192, Buffer.alloc(100, 7));
    const cases: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(8192)],
      ['truncated', good.subarray(0, 20)],
      ['truncated', good.subarray(0, 100)],
      ['magic', Buffer.concat([Buffer.from('Z'), good.subarray(1)])],
      ['version', Buffer.from(good).fill(3, 8, 9)],
      ['geometry', Buffer.from(good).fill(1, 12, 13)],
      ['checksum', Buffer.from(good).fill(0, 60, 61)],
      ['checksum', Buffer.from(good).fill(9, 16, 17)],
    ];
    for (const [reason, b] of cases) {
      const v = decodeSlot(b);
      expect(v.ok, reason).to.equal(false);
      if (!v.ok) expect(v.reason).to.equal(reason);
    }
    const v = decodeSlot(good, 4096);
    expect(v.ok === false && v.reason).to.equal('geometry');
  });

  it('readSlots takes the valid slot with the higher sequence, and finds B by its header when A is torn', () => {
    const cap = 8192;
    const file = Buffer.alloc(2 * cap);
    encodeSlot(7, cap, Buffer.from('seven')).copy(file, 0);
    expect(readSlots(file)).to.deep.include({ newest: 0, capacity: cap });
    encodeSlot(8, cap, Buffer.from('eight')).copy(file, cap);
    expect(readSlots(file).newest).to.equal(1);
    file.fill(0xee, 33, 35); // A torn
    const v = readSlots(file);
    expect(v.newest).to.equal(1);
    expect(v.capacity).to.equal(cap);
    expect(v.slots[0].ok).to.equal(false);
    file.fill(0xee, cap + 33, cap + 34); // both torn
    expect(readSlots(file).newest).to.equal(null);
    expect(readSlots(Buffer.alloc(0)).newest).to.equal(null);
  });

  it('readSlots never throws on random files', () => {
    const r = rng(99);
    const cap = 4096;
    for (let i = 0; i < 300; i++) {
      const file = Buffer.alloc(2 * cap);
      encodeSlot(1 + i, cap, Buffer.alloc(50, i)).copy(file, 0);
      encodeSlot(2 + i, cap, Buffer.alloc(60, i)).copy(file, cap);
      for (let k = 0; k < 5; k++) file[Math.floor(r() * file.length)] = Math.floor(r() * 256);
      const v = readSlots(file.subarray(0, Math.floor(r() * file.length * 1.2)));
      if (v.newest !== null) expect(v.slots[v.newest].ok).to.equal(true);
    }
  });
});
