// UTF-8 at the wire's edge: strict decoding, and byte limits that keep characters whole.
import { expect } from 'chai';
import { decodeUtf8, utf8Prefix } from '../../lib/net/utf8.js';

describe('net/utf8', () => {
  it('decodes UTF-8 and refuses what is not, instead of passing on U+FFFD', () => {
    expect(decodeUtf8(Buffer.from('node-ä ✓'))).to.equal('node-ä ✓');
    expect(decodeUtf8(Buffer.alloc(0))).to.equal('');
    for (const hex of ['c328', 'ff', 'e282', 'eda080']) expect(decodeUtf8(Buffer.from(hex, 'hex')), hex).to.equal(null);
  });

  it('cuts to the byte limit at a character boundary, from text or bytes', () => {
    expect(utf8Prefix('abc', 10).toString()).to.equal('abc');
    expect(utf8Prefix('abcdef', 4).toString()).to.equal('abcd');
    // é is 2 bytes, ✓ is 3: a cut inside either backs up to its first byte.
    expect(utf8Prefix('aé', 2).toString()).to.equal('a');
    expect(utf8Prefix('a✓', 3).toString()).to.equal('a');
    expect(utf8Prefix('a✓', 4).toString()).to.equal('a✓');
    expect(utf8Prefix(Buffer.from('é'.repeat(10)), 7).toString()).to.equal('ééé');
    for (let max = 0; max <= 30; max++) {
      const cut = utf8Prefix('ä✓😀x'.repeat(3), max);
      expect(cut.length, `max ${max}`).to.be.at.most(max);
      expect(decodeUtf8(cut), `max ${max}: whole characters`).to.not.equal(null);
    }
  });
});
