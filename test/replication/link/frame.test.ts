// Frame codec: exact hex fixtures, every rejection reason, encode's guards.
import { expect } from 'chai';
import { DEFAULT_MAX_PAYLOAD, FRAME_ERRORS, HEADER_LEN, decodeFrame, decodeHeader, encodeFrame } from '../../../lib/replication/link/frame.js';
import { ALLOWED_FLAGS, FLAG_FUA, FLAG_ON_DISK, FRAME_TYPES, type FrameType, frameTypeOf } from '../../../lib/replication/link/frame-types.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Written by hand from the header layout in frame.ts, not produced by encodeFrame.
const FIXTURES: { name: string; frame: { type: FrameType; flags: number; seq: bigint; payload: Buffer }; wire: string }[] = [
  {
    name: 'PING, seq 0, empty',
    frame: { type: 'PING', flags: 0, seq: 0n, payload: Buffer.alloc(0) },
    wire: '54444c4b 01 20 0000 0000000000000000 00000000',
  },
  {
    name: 'WRITE with FUA, seq 258, 3 bytes',
    frame: { type: 'WRITE', flags: FLAG_FUA, seq: 258n, payload: Buffer.from('abc') },
    wire: '54444c4b 01 10 0001 0000000000000102 00000003 616263',
  },
  {
    name: 'WRITE_ACK on disk, max seq',
    frame: { type: 'WRITE_ACK', flags: FLAG_ON_DISK, seq: 0xffffffffffffffffn, payload: hex('00000000000000ff') },
    wire: '54444c4b 01 11 0001 ffffffffffffffff 00000008 00000000000000ff',
  },
  {
    name: 'RESYNC_DATA, seq 2^32',
    frame: { type: 'RESYNC_DATA', flags: 0, seq: 0x100000000n, payload: hex('ff') },
    wire: '54444c4b 01 31 0000 0000000100000000 00000001 ff',
  },
];

describe('replication/link frame codec', () => {
  for (const f of FIXTURES) {
    it(`encodes ${f.name} to the exact bytes`, () => {
      expect(encodeFrame(f.frame).toString('hex')).to.equal(hex(f.wire).toString('hex'));
    });
    it(`decodes ${f.name} from the exact bytes`, () => {
      const r = decodeFrame(hex(f.wire));
      expect(r).to.deep.equal({ ok: true, frame: f.frame });
    });
  }

  it('has 20-byte headers and unique type codes that map back', () => {
    expect(HEADER_LEN).to.equal(20);
    const codes = Object.values(FRAME_TYPES);
    expect(new Set(codes).size).to.equal(codes.length);
    for (const [name, code] of Object.entries(FRAME_TYPES)) expect(frameTypeOf(code)).to.equal(name);
    expect(frameTypeOf(0)).to.equal(undefined);
  });

  it('round-trips every type with every allowed flag combination', () => {
    for (const type of Object.keys(FRAME_TYPES) as FrameType[]) {
      for (const flags of [0, ALLOWED_FLAGS[type]]) {
        const frame = { type, flags, seq: 7n, payload: Buffer.from([1, 2, 3]) };
        expect(decodeFrame(encodeFrame(frame))).to.deep.equal({ ok: true, frame });
      }
    }
  });

  const good = encodeFrame({ type: 'WRITE', seq: 1n, payload: Buffer.from('data') });
  const mutate = (at: number, v: number): Buffer => { const b = Buffer.from(good); b[at] = v; return b; };
  const REJECTS: { name: string; bytes: Buffer; reason: (typeof FRAME_ERRORS)[number]; max?: number }[] = [
    { name: 'first magic byte wrong', bytes: mutate(0, 0x00), reason: 'bad-magic' },
    { name: 'last magic byte wrong', bytes: mutate(3, 0x4a), reason: 'bad-magic' },
    { name: 'one wrong byte alone', bytes: hex('ff'), reason: 'bad-magic' },
    { name: 'HTTP request', bytes: Buffer.from('GET / HTTP/1.1\r\n\r\n'), reason: 'bad-magic' },
    { name: 'format version 2', bytes: mutate(4, 2), reason: 'unsupported-version' },
    { name: 'format version 0', bytes: mutate(4, 0), reason: 'unsupported-version' },
    { name: 'type 0x00', bytes: mutate(5, 0x00), reason: 'unknown-type' },
    { name: 'type 0xff', bytes: mutate(5, 0xff), reason: 'unknown-type' },
    { name: 'FUA-bit on PING', bytes: hex('54444c4b 01 20 0001 0000000000000000 00000000'), reason: 'bad-flags' },
    { name: 'unknown flag on WRITE', bytes: mutate(6, 0x80), reason: 'bad-flags' },
    { name: 'length over the limit', bytes: hex('54444c4b 01 10 0000 0000000000000000 00800001'), reason: 'oversized' },
    { name: 'length 4 GiB - 1', bytes: hex('54444c4b 01 10 0000 0000000000000000 ffffffff'), reason: 'oversized' },
    { name: 'length over a small configured limit', bytes: good, reason: 'oversized', max: 3 },
    { name: 'header cut short', bytes: good.subarray(0, 19), reason: 'truncated' },
    { name: 'payload cut short', bytes: good.subarray(0, good.length - 1), reason: 'truncated' },
    { name: 'empty', bytes: Buffer.alloc(0), reason: 'truncated' },
    { name: 'a byte after the frame', bytes: Buffer.concat([good, hex('00')]), reason: 'trailing-bytes' },
  ];
  for (const r of REJECTS) {
    it(`rejects ${r.name} as ${r.reason}`, () => {
      const out = decodeFrame(r.bytes, r.max);
      expect(out.ok).to.equal(false);
      if (!out.ok) {
        expect(out.error.reason).to.equal(r.reason);
        expect(out.error.detail).to.be.a('string').and.not.equal('');
      }
    });
  }

  it('accepts a payload of exactly the limit and rejects one more byte', () => {
    const at = (n: number): Buffer => hex(`54444c4b 01 10 0000 0000000000000000 ${n.toString(16).padStart(8, '0')}`);
    expect(decodeHeader(at(DEFAULT_MAX_PAYLOAD)).ok).to.equal(true);
    expect(decodeHeader(at(DEFAULT_MAX_PAYLOAD + 1)).ok).to.equal(false);
  });

  it('rejects bad magic from a partial header but waits on a good prefix', () => {
    expect(decodeHeader(hex('54 44'))).to.deep.equal({ ok: 'partial' });
    expect(decodeHeader(hex('54 45')).ok).to.equal(false);
  });

  it('refuses to encode what a peer would reject', () => {
    expect(() => encodeFrame({ type: 'PING', flags: FLAG_FUA, seq: 0n })).to.throw(RangeError);
    expect(() => encodeFrame({ type: 'WRITE', seq: -1n })).to.throw(RangeError);
    expect(() => encodeFrame({ type: 'WRITE', seq: 1n << 64n })).to.throw(RangeError);
  });

  it('copies the payload out of the input on decode', () => {
    const bytes = Buffer.from(good);
    const r = decodeFrame(bytes);
    bytes.fill(0);
    expect(r.ok && r.frame.payload.toString()).to.equal('data');
  });
});
