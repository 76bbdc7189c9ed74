// The activity log's own file: its payload codec (every malformed payload
// refused with a reason) and the store on real files (created when missing,
// newest slot wins, a torn save falls back, a bad payload is refused).
import { expect } from 'chai';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activityLogPath } from '../../../lib/replication/block/activity-log.js';
import { ActivityLogStore, type AlStoreOpen, decodeLogged, encodeLogged } from '../../../lib/replication/block/activity-log-store.js';
import { encodeSlot, readSlots } from '../../../lib/replication/block/metadata-slot.js';

const EXTENT = 4 << 20;

function opened(r: AlStoreOpen): Extract<AlStoreOpen, { ok: true }> {
  if (!r.ok) return expect.fail(`${r.reason}: ${r.error.message}`);
  return r;
}

describe('replication/block activity log file', () => {
  describe('payload codec', () => {
    it('encodes extent size, count and the extents ascending, once each', () => {
      const buf = encodeLogged(EXTENT, [7, 2, 7, 0x01020304]);
      expect(buf.toString('hex')).to.equal('00004000' + '03000000' + '02000000' + '07000000' + '04030201');
      const d = decodeLogged(buf);
      expect(d).to.deep.equal({ ok: true, value: { extentSize: EXTENT, extents: [2, 7, 0x01020304] } });
      expect(decodeLogged(encodeLogged(4096, []))).to.deep.equal({ ok: true, value: { extentSize: 4096, extents: [] } });
    });

    it('refuses to encode an extent size or number that cannot be stored', () => {
      expect(() => encodeLogged(3000, [1])).to.throw(RangeError, /power of two/);
      expect(() => encodeLogged(2 ** 31, [1])).to.throw(RangeError, /power of two/);
      expect(() => encodeLogged(EXTENT, [2 ** 32])).to.throw(RangeError, /not a u32/);
      expect(() => encodeLogged(EXTENT, [-1])).to.throw(RangeError, /not a u32/);
    });

    it('refuses every malformed payload with what is wrong, never throwing', () => {
      const good = encodeLogged(EXTENT, [1, 2, 3]);
      const cases: Array<[string, Buffer, RegExp]> = [
        ['empty', Buffer.alloc(0), /0 bytes, the header has 8/],
        ['short header', good.subarray(0, 7), /7 bytes/],
        ['extent size 0', Buffer.concat([Buffer.alloc(4), good.subarray(4)]), /extent size 0 is not a power of two/],
        ['extent size not a power of two', Buffer.concat([Buffer.from('01004000', 'hex'), good.subarray(4)]), /not a power of two/],
        ['count past the end', Buffer.concat([good.subarray(0, 4), Buffer.from('04000000', 'hex'), good.subarray(8)]), /20 bytes for 4 extents/],
        ['bytes past the count', Buffer.concat([good, Buffer.alloc(4)]), /24 bytes for 3 extents/],
        ['a duplicate', encodeWith([1, 1]), /extent 1 after 1: not ascending/],
        ['descending', encodeWith([5, 4]), /extent 4 after 5/],
      ];
      for (const [what, bytes, why] of cases) {
        const d = decodeLogged(bytes);
        expect(d.ok, what).to.equal(false);
        if (!d.ok) expect(d.detail, what).to.match(why);
      }
    });
  });

  describe('store', () => {
    let dir: string;
    let path: string;
    const stores: ActivityLogStore[] = [];
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tandem-al-'));
      path = activityLogPath(join(dir, 'db.meta'));
    });
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });
    const keep = (r: AlStoreOpen): Extract<AlStoreOpen, { ok: true }> => {
      const o = opened(r);
      stores.push(o.store);
      return o;
    };

    it('is <metadata>.al, created empty when missing (logged null), and read back empty after', async () => {
      expect(path).to.equal(join(dir, 'db.meta.al'));
      const first = keep(await ActivityLogStore.open(path, EXTENT));
      expect(first.logged).to.equal(null);
      await first.store.close();
      const again = keep(await ActivityLogStore.open(path, EXTENT));
      expect(again.logged).to.deep.equal({ extentSize: EXTENT, extents: [] });
    });

    it('every save reaches the disk; open returns the newest; a burst is coalesced', async () => {
      const o = keep(await ActivityLogStore.open(path, EXTENT));
      await o.store.save(() => ({ extentSize: EXTENT, extents: [3, 1] }));
      expect(o.store.sequence).to.equal(2);
      const burst = [];
      for (let i = 0; i < 20; i++) burst.push(o.store.save(() => ({ extentSize: EXTENT, extents: [i, 100] })));
      await Promise.all(burst);
      expect(o.store.sequence).to.be.within(3, 4); // the first of the burst, then the last
      await o.store.close();
      const r = keep(await ActivityLogStore.open(path, EXTENT));
      expect(r.logged).to.deep.equal({ extentSize: EXTENT, extents: [19, 100] });
    });

    it('a torn newest slot falls back to the list saved before it', async () => {
      const o = keep(await ActivityLogStore.open(path, EXTENT));
      await o.store.save(() => ({ extentSize: EXTENT, extents: [1, 2] }));
      await o.store.save(() => ({ extentSize: EXTENT, extents: [1, 2, 9] }));
      await o.store.close();
      const v = readSlots(await readFile(path));
      const capacity = v.capacity as number;
      const newest = v.newest as 0 | 1;
      // A crash in the middle of the newest save: its payload half old, half garbage.
      const fd = await open(path, 'r+');
      await fd.write(Buffer.alloc(8, 0xee), 0, 8, newest * capacity + 32 + 8);
      await fd.close();
      const r = keep(await ActivityLogStore.open(path, EXTENT));
      expect(r.logged?.extents).to.deep.equal([1, 2]);
    });

    it('a checksum-valid slot whose payload is malformed is refused as invalid, naming the file and the fault', async () => {
      const o = keep(await ActivityLogStore.open(path, EXTENT));
      await o.store.close();
      const capacity = readSlots(await readFile(path)).capacity as number;
      const fd = await open(path, 'r+');
      const slot = encodeSlot(9, capacity, encodeWith([4, 3]));
      await fd.write(slot, 0, slot.length, capacity);
      await fd.close();
      const r = await ActivityLogStore.open(path, EXTENT);
      expect(r.ok).to.equal(false);
      if (!r.ok) {
        expect(r.error.code).to.equal('METADATA_INVALID');
        expect(r.error.message).to.contain(path).and.to.contain('slot B (sequence 9): extent 3 after 4: not ascending');
      }
    });
  });
});

// A payload with the extents in the order given (encodeLogged sorts them).
function encodeWith(extents: number[]): Buffer {
  const b = Buffer.alloc(8 + 4 * extents.length);
  b.writeUInt32LE(EXTENT, 0);
  b.writeUInt32LE(extents.length, 4);
  extents.forEach((e, i) => b.writeUInt32LE(e, 8 + 4 * i));
  return b;
}
