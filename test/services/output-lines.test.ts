// The line splitter for a service's output: lines across chunk boundaries,
// CRLF, a last line without newline, and over-long lines cut at the cap with
// the rest dropped up to the next newline (memory stays below the cap).
import { expect } from 'chai';
import { LineSplitter, TRUNCATED } from '../../lib/services/output-lines.js';

function split(chunks: Array<string | Buffer>, max = 8): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l), max);
  for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  s.end();
  return out;
}

describe('services/output-lines LineSplitter', () => {
  it('splits lines at every byte boundary the same way', () => {
    const text = 'one\ntwo\r\n\nthree';
    for (let cut = 0; cut <= text.length; cut++) {
      expect(split([text.slice(0, cut), text.slice(cut)]), `cut at ${cut}`).to.deep.equal(['one', 'two', '', 'three']);
    }
  });

  it('cuts a line longer than the cap, marks it, and drops the rest up to the next newline', () => {
    expect(split(['abcdefghij', 'klm\nok\n'])).to.deep.equal([`abcdefgh${TRUNCATED}`, 'ok']);
    expect(split(['12345678\n'])).to.deep.equal(['12345678']); // exactly the cap is whole
    expect(split(['123456789'])).to.deep.equal([`12345678${TRUNCATED}`]);
  });

  it('emits the cut line as soon as it reaches the cap, before any newline comes', () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l), 8);
    s.push(Buffer.from('x'.repeat(20)));
    expect(out).to.deep.equal([`xxxxxxxx${TRUNCATED}`]);
  });

  it('keeps at most the cap in memory for megabytes without a newline', () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l), 4096);
    const chunk = Buffer.alloc(65536, 'x');
    for (let i = 0; i < 64; i++) s.push(chunk); // 4 MiB
    expect(s.buffered).to.equal(0);
    s.push(Buffer.from('tail\n'));
    expect(out).to.have.length(1);
    expect(out[0]).to.have.length(4096 + TRUNCATED.length);
  });

  it('does not cut a UTF-8 character in two', () => {
    expect(split(['aaaaaaé€x\n'])).to.deep.equal([`aaaaaaé${TRUNCATED}`]); // é is 2 bytes: 8 exactly
    expect(split(['aaaaaaa€x\n'])).to.deep.equal([`aaaaaaa${TRUNCATED}`]); // € (3 bytes) would not fit
  });

  it('asks wanted() before each line and decodes none it refuses', () => {
    const out: string[] = [];
    let n = 0;
    const s = new LineSplitter((l) => out.push(l), 8, () => ++n % 2 === 1);
    s.push(Buffer.from('a\nb\nc\nd\n'));
    expect([out, n]).to.deep.equal([['a', 'c'], 4]);
  });
});
