import { expect } from 'chai';
import {
  MAX_PAYLOAD,
  NBD_CMD_DISC,
  NBD_CMD_FLAG_DF,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_STRUCTURED_REPLY,
} from '../../../../lib/replication/block/nbd/constants.js';
import { NbdProtocol, type ProtocolAction } from '../../../../lib/replication/block/nbd/protocol.js';
import { encodeReply } from '../../../../lib/replication/block/nbd/reply.js';
import { checkRequest, type ExportLimits } from '../../../../lib/replication/block/nbd/validate.js';
import { clientFlags, hex, infoData, option, prng, randomSplit, request } from '../../../fixtures/nbd/client-bytes.js';

const SIZE = 1024 * 1024;
const exp = { name: 'db', size: SIZE, transmissionFlags: 0x16d, minBlockSize: 1, readOnly: false };
const hdr = (type: number, offset: bigint, length: number, flags = 0) => ({ flags, type, cookie: 7n, offset, length });

function feed(chunks: Buffer[]): { actions: ProtocolAction[]; proto: NbdProtocol } {
  const proto = new NbdProtocol(exp, 0, { handshakeTimeoutMs: 1000 });
  const actions = [...proto.start()];
  for (const c of chunks) actions.push(...proto.receive(c, 0));
  return { actions, proto };
}

// A summary that must not depend on how the input was split.
function summary(actions: ProtocolAction[]): string {
  return JSON.stringify(
    actions.map((a) => {
      if (a.kind === 'send') return ['send', a.bytes.toString('hex')];
      if (a.kind === 'request') return ['req', a.request.cookie.toString(), a.request.command, a.request.verdict.kind, a.request.verdict.kind === 'execute' && a.request.verdict.op.type === 'WRITE' ? a.request.verdict.op.data.toString('hex') : ''];
      return [a.kind, a.kind === 'close' ? a.reason : a.structuredReplies];
    }),
  ).replace(/\],\["send","([0-9a-f]*)"\]/g, '$1'); // adjacent sends may merge differently: compare bytes
}

const session = Buffer.concat([
  clientFlags(),
  option(NBD_OPT_STRUCTURED_REPLY),
  option(NBD_OPT_LIST),
  option(0x4242, hex('abcdef')),
  option(NBD_OPT_INFO, infoData('db', [3])),
  option(NBD_OPT_GO, infoData('db')),
  request(NBD_CMD_WRITE, { cookie: 1n, offset: 4096n, payload: Buffer.alloc(5000, 0x5a), flags: NBD_CMD_FLAG_FUA }),
  request(NBD_CMD_READ, { cookie: 2n, offset: 4096n, length: 5000 }),
  request(NBD_CMD_FLUSH, { cookie: 3n }),
  request(NBD_CMD_READ, { cookie: 4n, offset: BigInt(SIZE), length: 1 }),
  request(NBD_CMD_DISC, { cookie: 5n }),
  hex('deadbeef'), // after DISC nothing is read
]);

describe('nbd transmission', () => {
  it('gives the same result for one chunk, byte-by-byte and random splits', () => {
    const whole = summary(feed([session]).actions);
    expect(whole).to.contain('"req","1","WRITE","execute"');
    expect(whole).to.contain('"req","4","READ","error"');
    expect(whole).to.contain('"close","client-disconnect"');
    const bytes = [...session].map((b) => Buffer.from([b]));
    expect(summary(feed(bytes).actions)).to.equal(whole);
    for (let seed = 1; seed <= 200; seed++) expect(summary(feed(randomSplit(session, prng(seed))).actions), `seed ${seed}`).to.equal(whole);
  });

  it('waits for the whole WRITE payload before emitting the request', () => {
    const pre = Buffer.concat([clientFlags(), option(NBD_OPT_GO, infoData(''))]);
    const w = request(NBD_CMD_WRITE, { cookie: 9n, payload: Buffer.alloc(100, 1) });
    const { proto, actions } = feed([pre, w.subarray(0, 127)]);
    expect(actions.filter((a) => a.kind === 'request')).to.have.length(0);
    const more = proto.receive(w.subarray(127), 0);
    expect(more).to.have.length(1);
    expect(more[0]).to.have.nested.property('request.cookie', 9n);
  });

  it('closes on a bad request magic and on READ/WRITE over 32 MiB, before any payload', () => {
    const pre = Buffer.concat([clientFlags(), option(NBD_OPT_GO, infoData(''))]);
    const bad = request(NBD_CMD_READ);
    bad.writeUInt32BE(0x12560953, 0); // the historic magic, reserved
    expect(feed([pre, bad]).actions.at(-1)).to.include({ kind: 'close', reason: 'bad-request-magic' });
    const big = request(NBD_CMD_WRITE, { length: MAX_PAYLOAD + 1 });
    expect(feed([pre, big]).actions.at(-1)).to.include({ kind: 'close', reason: 'request-too-large' });
    expect(feed([pre, request(NBD_CMD_READ, { length: MAX_PAYLOAD + 1 })]).actions.at(-1)).to.include({ reason: 'request-too-large' });
    // exactly 2^25 is allowed (proto.md: < 2^25 SHOULD NOT be a DoS; we advertise 2^25 as maximum)
    expect(feed([pre, request(NBD_CMD_READ, { length: MAX_PAYLOAD })]).actions.at(-1)).to.have.property('kind', 'request');
  });

  it('never throws and always ends in a clean state on fuzzed input', () => {
    const valid = Buffer.concat([session.subarray(0, session.length - 4)]);
    for (let seed = 1; seed <= 3000; seed++) {
      const rnd = prng(seed);
      const b = Buffer.from(valid);
      const mode = seed % 3;
      if (mode === 0) for (let i = 0; i < 1 + rnd() * 8; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const input = mode === 1 ? Buffer.concat([clientFlags(), Buffer.from(Array.from({ length: 200 }, () => Math.floor(rnd() * 256)))]) : mode === 2 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      const { actions, proto } = feed(randomSplit(input, rnd));
      expect(['handshake', 'transmission', 'closed']).to.include(proto.phase);
      const ci = actions.findIndex((a) => a.kind === 'close');
      if (ci >= 0) {
        expect(ci, `seed ${seed}: nothing after close`).to.equal(actions.length - 1);
        expect(proto.phase).to.equal('closed');
      }
      if (proto.phase === 'closed') expect(proto.receive(Buffer.from('more'), 0), 'closed stays silent').to.deep.equal([]);
    }
  });
});

describe('nbd request checks', () => {
  const lim: ExportLimits = { size: SIZE, readOnly: false, minBlockSize: 1 };
  const errnoOf = (v: ReturnType<typeof checkRequest>) => (v.kind === 'error' ? v.errno : v.kind);
  const rows: Array<[string, ReturnType<typeof hdr>, ExportLimits, string]> = [
    ['read inside', hdr(NBD_CMD_READ, 0n, 4096), lim, 'execute'],
    ['read to the last byte', hdr(NBD_CMD_READ, BigInt(SIZE - 1), 1), lim, 'execute'],
    ['read past the end', hdr(NBD_CMD_READ, BigInt(SIZE - 1), 2), lim, 'EINVAL'],
    ['read at offset 2^64-1', hdr(NBD_CMD_READ, 0xffffffffffffffffn, 1), lim, 'EINVAL'],
    ['write past the end', hdr(NBD_CMD_WRITE, BigInt(SIZE), 1), lim, 'ENOSPC'],
    ['write zeroes past the end', hdr(NBD_CMD_WRITE_ZEROES, BigInt(SIZE - 512), 1024), lim, 'ENOSPC'],
    ['trim past the end', hdr(NBD_CMD_TRIM, BigInt(SIZE - 512), 1024), lim, 'EINVAL'],
    ['zero-length read', hdr(NBD_CMD_READ, 0n, 0), lim, 'EINVAL'],
    ['zero-length write', hdr(NBD_CMD_WRITE, 0n, 0), lim, 'EINVAL'],
    ['unknown command 42', hdr(42, 0n, 0), lim, 'EINVAL'],
    ['BLOCK_STATUS (not negotiated)', hdr(7, 0n, 512), lim, 'EINVAL'],
    ['CACHE (not offered)', hdr(5, 0n, 512), lim, 'EINVAL'],
    ['FUA on a read is accepted', hdr(NBD_CMD_READ, 0n, 512, NBD_CMD_FLAG_FUA), lim, 'execute'],
    ['NO_HOLE on write zeroes', hdr(NBD_CMD_WRITE_ZEROES, 0n, 512, NBD_CMD_FLAG_NO_HOLE), lim, 'execute'],
    ['NO_HOLE on a write', hdr(NBD_CMD_WRITE, 0n, 512, NBD_CMD_FLAG_NO_HOLE), lim, 'EINVAL'],
    ['DF without SEND_DF', hdr(NBD_CMD_READ, 0n, 512, NBD_CMD_FLAG_DF), lim, 'EINVAL'],
    ['unknown flag bit 15', hdr(NBD_CMD_READ, 0n, 512, 0x8000), lim, 'EINVAL'],
    ['flush', hdr(NBD_CMD_FLUSH, 0n, 0), lim, 'execute'],
    ['flush with a length', hdr(NBD_CMD_FLUSH, 0n, 1), lim, 'EINVAL'],
    ['write on read-only', hdr(NBD_CMD_WRITE, 0n, 512), { ...lim, readOnly: true }, 'EPERM'],
    ['trim on read-only', hdr(NBD_CMD_TRIM, 0n, 512), { ...lim, readOnly: true }, 'EPERM'],
    ['read on read-only', hdr(NBD_CMD_READ, 0n, 512), { ...lim, readOnly: true }, 'execute'],
    ['misaligned offset, min 512', hdr(NBD_CMD_READ, 100n, 512), { ...lim, minBlockSize: 512 }, 'EINVAL'],
    ['misaligned length, min 512', hdr(NBD_CMD_WRITE, 512n, 100), { ...lim, minBlockSize: 512 }, 'EINVAL'],
    ['aligned, min 512', hdr(NBD_CMD_WRITE, 512n, 1024), { ...lim, minBlockSize: 512 }, 'execute'],
    ['disc', hdr(NBD_CMD_DISC, 0n, 0), lim, 'disconnect'],
  ];
  for (const [name, h, l, want] of rows) {
    it(`${name} -> ${want}`, () => expect(errnoOf(checkRequest(h, Buffer.alloc(h.type === NBD_CMD_WRITE ? h.length : 0), l))).to.equal(want));
  }
});

describe('nbd replies', () => {
  const data = hex('01020304');
  it('simple: header, then data only for a successful read', () => {
    expect(Buffer.concat(encodeReply(0x1122n, true, 0n, false, { ok: true, data })).toString('hex')).to.equal('67446698' + '00000000' + '0000000000001122' + '01020304');
    expect(Buffer.concat(encodeReply(0x1122n, true, 0n, false, { ok: false, errno: 'EINVAL', message: 'x' })).toString('hex')).to.equal('67446698' + '00000016' + '0000000000001122');
    expect(Buffer.concat(encodeReply(5n, false, 0n, false, { ok: true })).toString('hex')).to.equal('674466980000000000000000' + '00000005');
  });
  it('structured: READ as one OFFSET_DATA chunk with DONE; errors as NBD_REPLY_TYPE_ERROR', () => {
    expect(Buffer.concat(encodeReply(9n, true, 0x200n, true, { ok: true, data })).toString('hex')).to.equal(
      '668e33ef' + '0001' + '0001' + '0000000000000009' + '0000000c' + '0000000000000200' + '01020304',
    );
    expect(Buffer.concat(encodeReply(9n, true, 0n, true, { ok: false, errno: 'ENOSPC', message: 'full' })).toString('hex')).to.equal(
      '668e33ef' + '0001' + '8001' + '0000000000000009' + '0000000a' + '0000001c' + '0004' + Buffer.from('full').toString('hex'),
    );
    // a successful non-read needs no payload, so a simple reply is allowed
    expect(Buffer.concat(encodeReply(9n, false, 0n, true, { ok: true })).toString('hex')).to.equal('67446698000000000000000000000009');
  });
});
