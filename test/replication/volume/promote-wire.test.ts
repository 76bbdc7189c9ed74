// PROMOTE_REPLY codec: exact bytes, and every malformed payload named.
import { expect } from 'chai';
import { MAX_REASON, decodePromoteReply, encodePromoteReply } from '../../../lib/replication/volume/promote-wire.js';

describe('replicated volume: PROMOTE_REPLY codec', () => {
  it('encodes a grant as id and 1, a refusal as id, 0 and the reason', () => {
    expect(encodePromoteReply(0x0102n, { grant: true }).toString('hex')).to.equal('000000000000010201');
    expect(encodePromoteReply(7n, { grant: false, reason: 'node-b is Primary' }).toString('hex'))
      .to.equal(`000000000000000700${Buffer.from('node-b is Primary').toString('hex')}`);
  });

  it('decodes what it encodes', () => {
    for (const verdict of [{ grant: true as const }, { grant: false as const, reason: 'node-a is becoming Primary itself' }, { grant: false as const, reason: 'ünïcödé ✓' }]) {
      expect(decodePromoteReply(encodePromoteReply(42n, verdict))).to.deep.equal({ ok: true, value: { id: 42n, verdict } });
    }
  });

  it('cuts a long reason at MAX_REASON bytes without splitting a character', () => {
    const b = encodePromoteReply(1n, { grant: false, reason: 'é'.repeat(200) }); // 400 bytes of UTF-8
    expect(b.length - 9).to.be.at.most(MAX_REASON);
    const d = decodePromoteReply(b);
    expect(d.ok && !d.value.verdict.grant && d.value.verdict.reason).to.equal('é'.repeat(MAX_REASON / 2));
  });

  it('a refusal without a reason still reads as one', () => {
    expect(decodePromoteReply(Buffer.from('000000000000000100', 'hex'))).to.deep.equal({ ok: true, value: { id: 1n, verdict: { grant: false, reason: 'no reason given' } } });
  });

  it('rejects short payloads, other verdicts, a grant with a reason, a long reason and bad UTF-8', () => {
    const cases: Array<[string, RegExp]> = [
      ['0000000000000001', /payload is 8 bytes, want at least 9/],
      ['000000000000000102', /verdict is 2, want 0 \(refused\) or 1 \(granted\)/],
      ['00000000000000010141', /grants with a 1-byte reason, want none/],
      [`000000000000000100${'41'.repeat(MAX_REASON + 1)}`, /reason is 241 bytes, at most 240/],
      ['000000000000000100c328', /reason is not UTF-8/],
    ];
    for (const [hex, want] of cases) {
      const d = decodePromoteReply(Buffer.from(hex, 'hex'));
      expect(d.ok, hex).to.equal(false);
      if (!d.ok) expect(d.detail, hex).to.match(want);
    }
  });
});
