import { expect } from 'chai';
import {
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_DESCRIPTION,
  NBD_INFO_NAME,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STARTTLS,
  NBD_OPT_STRUCTURED_REPLY,
} from '../../../../lib/replication/block/nbd/constants.js';
import { decodeInfoRequest, encodeGreeting } from '../../../../lib/replication/block/nbd/handshake-codec.js';
import { NbdProtocol, type ProtocolAction } from '../../../../lib/replication/block/nbd/protocol.js';
import { clientFlags, hex, infoData, option } from '../../../fixtures/nbd/client-bytes.js';

const MiB16 = 16 * 1024 * 1024;
const FLAGS = 0x16d; // HAS_FLAGS|SEND_FLUSH|SEND_FUA|SEND_TRIM|SEND_WRITE_ZEROES|CAN_MULTI_CONN
const exp = { name: 'db', description: 'test volume', size: MiB16, transmissionFlags: FLAGS, minBlockSize: 1, readOnly: false };
const REP = '0003e889045565a9';

function run(...chunks: Buffer[]): { proto: NbdProtocol; sent: string; actions: ProtocolAction[] } {
  const proto = new NbdProtocol(exp, 0, { handshakeTimeoutMs: 1000 });
  const actions: ProtocolAction[] = [];
  proto.start(); // greeting, checked on its own
  for (const c of chunks) actions.push(...proto.receive(c, 0));
  const sent = Buffer.concat(actions.flatMap((a) => (a.kind === 'send' ? [a.bytes] : []))).toString('hex');
  return { proto, sent, actions };
}
const closeOf = (actions: ProtocolAction[]) => actions.find((a) => a.kind === 'close');

describe('nbd handshake (fixed newstyle)', () => {
  it('greets with NBDMAGIC, IHAVEOPT and FIXED_NEWSTYLE|NO_ZEROES', () => {
    expect(encodeGreeting().toString('hex')).to.equal('4e42444d41474943' + '49484156454f5054' + '0003');
  });

  it('drops a client that sets an unknown client flag', () => {
    const r = run(clientFlags(0x4 | NBD_FLAG_C_FIXED_NEWSTYLE));
    expect(closeOf(r.actions)).to.include({ reason: 'unknown-client-flags' });
    expect(r.proto.phase).to.equal('closed');
  });

  it('closes on a bad option magic and on an option over 64 KiB before its data arrives', () => {
    expect(closeOf(run(clientFlags(), hex('0000000000000000 00000003 00000000')).actions)).to.include({ reason: 'bad-option-magic' });
    const r = run(clientFlags(), hex('49484156454f5054 00000006 00010001'));
    expect(closeOf(r.actions)).to.include({ reason: 'option-too-long' });
  });

  it('NBD_OPT_LIST: one NBD_REP_SERVER then ACK; data -> ERR_INVALID', () => {
    const r = run(clientFlags(), option(NBD_OPT_LIST));
    expect(r.sent).to.equal(REP + '00000003 00000002 00000011 00000002 6462'.replace(/ /g, '') + Buffer.from('test volume').toString('hex') + REP + '000000030000000100000000');
    const bad = run(clientFlags(), option(NBD_OPT_LIST, hex('00')));
    expect(bad.sent.slice(16, 40)).to.equal('00000003' + '80000003' + '0000001a');
    expect(bad.proto.phase).to.equal('handshake');
  });

  it('NBD_OPT_INFO: INFO_EXPORT, requested NAME/DESCRIPTION/BLOCK_SIZE, ACK; stays in handshake', () => {
    const r = run(clientFlags(), option(NBD_OPT_INFO, infoData('db', [NBD_INFO_BLOCK_SIZE, NBD_INFO_NAME, NBD_INFO_DESCRIPTION])));
    const want = [
      REP + '00000006' + '00000003' + '0000000c' + '0000' + '0000000001000000' + '016d',
      REP + '00000006' + '00000003' + '00000004' + '0001' + '6462',
      REP + '00000006' + '00000003' + '0000000d' + '0002' + Buffer.from('test volume').toString('hex'),
      REP + '00000006' + '00000003' + '0000000e' + '0003' + '00000001' + '00001000' + '02000000',
      REP + '00000006' + '00000001' + '00000000',
    ].join('');
    expect(r.sent).to.equal(want);
    expect(r.proto.phase).to.equal('handshake');
  });

  it('NBD_OPT_GO on the default (empty) name enters transmission after ACK', () => {
    const r = run(clientFlags(), option(NBD_OPT_GO, infoData('')));
    expect(r.sent).to.equal(REP + '00000007000000030000000c' + '0000' + '0000000001000000016d' + REP + '000000070000000100000000');
    expect(r.proto.phase).to.equal('transmission');
    expect(r.actions.at(-1)).to.deep.equal({ kind: 'transmission', structuredReplies: false });
  });

  it('NBD_OPT_GO / INFO on an unknown export -> ERR_UNKNOWN, haggling continues', () => {
    const r = run(clientFlags(), option(NBD_OPT_GO, infoData('nope')), option(NBD_OPT_GO, infoData('db')));
    expect(r.sent.slice(0, 40)).to.equal(REP + '00000007' + '80000006' + '0000000e');
    expect(r.proto.phase).to.equal('transmission');
  });

  it('NBD_OPT_GO with inconsistent lengths -> ERR_INVALID', () => {
    const d = infoData('db', [1]);
    d.writeUInt16BE(5, 6); // claims 5 requests, carries 1
    const r = run(clientFlags(), option(NBD_OPT_GO, d));
    expect(r.sent.slice(16, 32)).to.equal('0000000780000003');
    expect(r.proto.phase).to.equal('handshake');
    expect(decodeInfoRequest(hex('ffffffff0000')).ok).to.equal(false);
    expect(decodeInfoRequest(hex('00000001 00 0000')).ok).to.equal(false); // NUL in the name
  });

  it('NBD_OPT_EXPORT_NAME: size, flags, 124 zeroes unless NO_ZEROES', () => {
    const withZeroes = run(clientFlags(NBD_FLAG_C_FIXED_NEWSTYLE), option(NBD_OPT_EXPORT_NAME, Buffer.from('db')));
    expect(withZeroes.sent).to.equal('0000000001000000016d' + '00'.repeat(124));
    expect(withZeroes.proto.phase).to.equal('transmission');
    const noZeroes = run(clientFlags(), option(NBD_OPT_EXPORT_NAME));
    expect(noZeroes.sent).to.equal('0000000001000000016d');
  });

  it('NBD_OPT_EXPORT_NAME on an unknown export ends the session (no error reply exists)', () => {
    const r = run(clientFlags(), option(NBD_OPT_EXPORT_NAME, Buffer.from('other')));
    expect(r.sent).to.equal('');
    expect(closeOf(r.actions)).to.include({ reason: 'unknown-export' });
  });

  it('NBD_OPT_ABORT: ACK, then a clean close', () => {
    const r = run(clientFlags(), option(NBD_OPT_ABORT));
    expect(r.sent).to.equal(REP + '000000020000000100000000');
    expect(closeOf(r.actions)).to.include({ reason: 'client-abort' });
  });

  it('unknown options (STARTTLS, SET_META_CONTEXT, 0xdead) -> ERR_UNSUP and keep going', () => {
    const r = run(clientFlags(), option(NBD_OPT_STARTTLS), option(NBD_OPT_SET_META_CONTEXT, hex('00000000')), option(0xdead, hex('0102')));
    expect(r.sent).to.equal(REP + '0000000580000001' + '00000000' + REP + '0000000a8000000100000000' + REP + '0000dead8000000100000000');
    expect(r.proto.phase).to.equal('handshake');
  });

  it('NBD_OPT_STRUCTURED_REPLY: ACK once, then ERR_INVALID; carried into transmission', () => {
    const r = run(clientFlags(), option(NBD_OPT_STRUCTURED_REPLY), option(NBD_OPT_STRUCTURED_REPLY), option(NBD_OPT_GO, infoData('db')));
    expect(r.sent.slice(0, 72)).to.equal(REP + '000000080000000100000000' + REP + '00000008' + '80000003');
    expect(r.proto.structuredReplies).to.equal(true);
  });

  it('without FIXED_NEWSTYLE only EXPORT_NAME is accepted', () => {
    const r = run(clientFlags(0), option(NBD_OPT_LIST));
    expect(closeOf(r.actions)).to.include({ reason: 'option-without-fixed-newstyle' });
  });

  it('closes after too many options (denial of service)', () => {
    const many = Buffer.concat(Array.from({ length: 1100 }, () => option(0x1234)));
    expect(closeOf(run(clientFlags(), many).actions)).to.include({ reason: 'too-many-options' });
  });

  it('times out a handshake that never finishes; no deadline once in transmission', () => {
    const p = new NbdProtocol(exp, 1000, { handshakeTimeoutMs: 500 });
    expect(p.deadline()).to.equal(1500);
    expect(p.tick(1499)).to.deep.equal([]);
    expect(p.tick(1500)[0]).to.include({ kind: 'close', reason: 'handshake-timeout' });
    const q = new NbdProtocol(exp, 0, { handshakeTimeoutMs: 500 });
    q.receive(Buffer.concat([clientFlags(), option(NBD_OPT_GO, infoData(''))]), 10);
    expect(q.deadline()).to.equal(undefined);
    expect(q.tick(10_000)).to.deep.equal([]);
  });
});
