// Streaming decoder: splits at every byte boundary, end-of-stream truncation,
// sticky errors, and fuzz (random and mutated streams never throw).
import { expect } from 'chai';
import { FrameDecoder } from '../../../lib/replication/link/decoder.js';
import { FRAME_ERRORS, type Frame, encodeFrame } from '../../../lib/replication/link/frame.js';
import { FLAG_FUA, FLAG_ON_DISK } from '../../../lib/replication/link/frame-types.js';
import { rng } from '../../helpers/random.js';


const FRAMES: Frame[] = [
  { type: 'WRITE', flags: FLAG_FUA, seq: 0n, payload: Buffer.from('first write') },
  { type: 'PING', flags: 0, seq: 1n, payload: Buffer.alloc(0) },
  { type: 'WRITE_ACK', flags: FLAG_ON_DISK, seq: 2n, payload: Buffer.alloc(8, 1) },
  { type: 'RESYNC_DATA', flags: 0, seq: 3n, payload: Buffer.alloc(300, 0xab) },
];
const STREAM = Buffer.concat(FRAMES.map((f) => encodeFrame(f)));

function feed(d: FrameDecoder, chunks: Buffer[]): { frames: Frame[]; errors: string[] } {
  const frames: Frame[] = [];
  const errors: string[] = [];
  for (const c of chunks) {
    const out = d.push(c);
    frames.push(...out.frames);
    if (out.error) errors.push(out.error.reason);
  }
  return { frames, errors };
}

describe('replication/link FrameDecoder', () => {
  it('decodes the stream fed one byte at a time', () => {
    const d = new FrameDecoder();
    const r = feed(d, [...STREAM].map((b) => Buffer.of(b)));
    expect(r.errors).to.deep.equal([]);
    expect(r.frames).to.deep.equal(FRAMES);
    expect(d.end()).to.equal(null);
  });

  it('decodes the stream split in two at every byte boundary', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      const d = new FrameDecoder();
      const r = feed(d, [STREAM.subarray(0, i), STREAM.subarray(i)]);
      expect(r.frames, `split at ${i}`).to.deep.equal(FRAMES);
      expect(d.end()).to.equal(null);
    }
  });

  it('decodes the stream split in three at random boundaries', () => {
    const r = rng(7);
    for (let n = 0; n < 500; n++) {
      const a = Math.floor(r() * STREAM.length);
      const b = a + Math.floor(r() * (STREAM.length - a));
      const out = feed(new FrameDecoder(), [STREAM.subarray(0, a), STREAM.subarray(a, b), STREAM.subarray(b)]);
      expect(out.frames, `split at ${a}/${b}`).to.deep.equal(FRAMES);
    }
  });

  it('reports truncated at close inside a header and inside a payload', () => {
    for (const cut of [1, 19, 20, 25, STREAM.length - 1]) {
      const d = new FrameDecoder();
      feed(d, [STREAM.subarray(0, cut)]);
      expect(d.end()?.reason, `cut at ${cut}`).to.equal('truncated');
    }
  });

  it('rejects an oversized header at once, before the payload arrives', () => {
    const d = new FrameDecoder({ maxPayload: 100 });
    const big = encodeFrame({ type: 'WRITE', seq: 0n, payload: Buffer.alloc(101) });
    const out = d.push(big.subarray(0, 20));
    expect(out.error?.reason).to.equal('oversized');
    expect(d.pendingBytes).to.equal(0);
  });

  it('stays failed after an error and keeps no garbage', () => {
    const d = new FrameDecoder();
    const first = d.push(Buffer.concat([encodeFrame(FRAMES[1] as Frame), Buffer.from('garbage')]));
    expect(first.frames).to.have.length(1);
    expect(first.error?.reason).to.equal('bad-magic');
    const again = d.push(encodeFrame(FRAMES[1] as Frame));
    expect(again.frames).to.deep.equal([]);
    expect(again.error?.reason).to.equal('bad-magic');
    expect(d.end()?.reason).to.equal('bad-magic');
  });

  it('reassembles an 8 MiB payload from 64 KiB chunks', () => {
    const payload = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload.writeUInt32BE(i, i);
    const wire = encodeFrame({ type: 'WRITE', seq: 9n, payload });
    const d = new FrameDecoder();
    const frames: Frame[] = [];
    for (let i = 0; i < wire.length; i += 65536) frames.push(...d.push(wire.subarray(i, i + 65536)).frames);
    expect(frames).to.have.length(1);
    expect((frames[0] as Frame).payload.equals(payload)).to.equal(true);
  });

  describe('fuzz', () => {
    const named = FRAME_ERRORS as readonly string[];
    function run(bytes: Buffer, r: () => number): void {
      const d = new FrameDecoder({ maxPayload: 4096 });
      let i = 0;
      while (i < bytes.length) {
        const n = 1 + Math.floor(r() * 64);
        const out = d.push(bytes.subarray(i, i + n));
        for (const f of out.frames) expect(f.payload.length).to.be.at.most(4096);
        if (out.error) expect(named).to.include(out.error.reason);
        i += n;
      }
      const e = d.end();
      if (e) expect(named).to.include(e.reason);
    }

    it('never throws on 5,000 random streams', () => {
      const r = rng(11);
      for (let n = 0; n < 5000; n++) {
        const b = Buffer.alloc(Math.floor(r() * 200));
        for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
        // Half start with a valid magic and version so the deeper checks are reached.
        if (r() < 0.5 && b.length >= 5) Buffer.from('54444c4b01', 'hex').copy(b);
        run(b, r);
      }
    });

    it('never throws on 5,000 mutated valid streams, and reaches every error', () => {
      const r = rng(12);
      const seen = new Set<string>();
      for (let n = 0; n < 5000; n++) {
        const b = Buffer.from(STREAM);
        const edits = 1 + Math.floor(r() * 4);
        for (let e = 0; e < edits; e++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
        const cut = r() < 0.3 ? b.subarray(0, Math.floor(r() * b.length)) : b;
        run(cut, r);
        const d = new FrameDecoder({ maxPayload: 4096 });
        const out = d.push(cut);
        if (out.error) seen.add(out.error.reason);
        else if (d.end()) seen.add('truncated');
      }
      for (const reason of ['bad-magic', 'unsupported-version', 'unknown-type', 'bad-flags', 'oversized', 'truncated']) {
        expect([...seen], reason).to.include(reason);
      }
    });
  });
});
