// Server side of the fixed newstyle handshake as a pure state machine: it
// reads whole messages from a ByteQueue (so input may be split anywhere) and
// returns the bytes to send and where it went (proto.md "Handshake").
//
// state            | input                                   | next             | output
// -----------------+-----------------------------------------+------------------+------------------------------
// AwaitClientFlags | flags with a bit we did not offer       | Closed           | close unknown-client-flags
// AwaitClientFlags | FIXED_NEWSTYLE / NO_ZEROES / none       | AwaitOption      | -
// AwaitOption      | magic != IHAVEOPT                       | Closed           | close bad-option-magic
// AwaitOption      | length > 64 KiB                         | Closed           | close option-too-long
// AwaitOption      | more than MAX_OPTIONS options           | Closed           | close too-many-options
// AwaitOption      | not fixed newstyle, not EXPORT_NAME     | Closed           | close option-without-fixed-newstyle
// AwaitOption      | EXPORT_NAME, known name                 | Transmission     | size, flags, 124 zeroes unless NO_ZEROES
// AwaitOption      | EXPORT_NAME, unknown name               | Closed           | close unknown-export
// AwaitOption      | ABORT                                   | Closed           | ACK, close client-abort
// AwaitOption      | LIST (no data)                          | AwaitOption      | SERVER, ACK  (data -> ERR_INVALID)
// AwaitOption      | INFO, known name                        | AwaitOption      | INFO..., ACK
// AwaitOption      | GO, known name                          | Transmission     | INFO..., ACK
// AwaitOption      | INFO / GO, unknown name                 | AwaitOption      | ERR_UNKNOWN
// AwaitOption      | INFO / GO, malformed                    | AwaitOption      | ERR_INVALID
// AwaitOption      | STRUCTURED_REPLY (first, no data)       | AwaitOption      | ACK (else ERR_INVALID)
// AwaitOption      | anything else (STARTTLS, META_CONTEXT..) | AwaitOption      | ERR_UNSUP
import type { ByteQueue } from '../../../net/byte-queue.js';
import {
  IHAVEOPT,
  KNOWN_CLIENT_FLAGS,
  MAX_OPTION_LENGTH,
  MAX_OPTIONS,
  MAX_PAYLOAD,
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_DESCRIPTION,
  NBD_INFO_NAME,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_ERR_INVALID,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_SERVER,
  PREFERRED_BLOCK_SIZE,
} from './constants.js';
import {
  CLIENT_FLAGS_LENGTH,
  OPTION_HEADER_LENGTH,
  decodeInfoRequest,
  decodeOptionHeader,
  decodeString,
  encodeExportNameReply,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoString,
  encodeOptionReply,
  encodeServerEntry,
} from './handshake-codec.js';

export type HandshakeState = 'AwaitClientFlags' | 'AwaitOption' | 'Transmission' | 'Closed';

// Why a connection ended during the handshake; all but client-abort are the client's fault.
export type HandshakeCloseReason =
  | 'unknown-client-flags'
  | 'bad-option-magic'
  | 'option-too-long'
  | 'too-many-options'
  | 'option-without-fixed-newstyle'
  | 'unknown-export'
  | 'client-abort';

export interface ExportDescriptor {
  name: string;
  description?: string;
  size: number;
  transmissionFlags: number;
  minBlockSize: number; // power of 2, 1..65536 (proto.md "Block size constraints")
}

export type HandshakeAction =
  | { kind: 'send'; bytes: Buffer }
  | { kind: 'transmission'; structuredReplies: boolean }
  | { kind: 'close'; reason: HandshakeCloseReason; detail: string };

export class Handshake {
  state: HandshakeState = 'AwaitClientFlags';
  structuredReplies = false;
  private fixedNewstyle = false;
  private noZeroes = false;
  private options = 0;

  constructor(private readonly exp: ExportDescriptor) {}

  // Consumes every complete message in q; stops on leaving the handshake so
  // the transmission parser gets the rest of the bytes.
  step(q: ByteQueue): HandshakeAction[] {
    const out: HandshakeAction[] = [];
    for (;;) {
      if (this.state === 'AwaitClientFlags') {
        const b = q.take(CLIENT_FLAGS_LENGTH);
        if (b === undefined) return out;
        const flags = b.readUInt32BE(0);
        // proto.md "Client flags": the server MUST drop the connection on an unknown flag.
        if ((flags & ~KNOWN_CLIENT_FLAGS) !== 0) return this.close(out, 'unknown-client-flags', `client flags 0x${flags.toString(16)}`);
        this.fixedNewstyle = (flags & NBD_FLAG_C_FIXED_NEWSTYLE) !== 0;
        this.noZeroes = (flags & NBD_FLAG_C_NO_ZEROES) !== 0;
        this.state = 'AwaitOption';
        continue;
      }
      if (this.state !== 'AwaitOption') return out;
      const hb = q.peek(OPTION_HEADER_LENGTH);
      if (hb === undefined) return out;
      const h = decodeOptionHeader(hb);
      if (h.magic !== IHAVEOPT) return this.close(out, 'bad-option-magic', `option magic 0x${h.magic.toString(16)}`);
      // proto.md "Termination of the session": a server MAY hard-disconnect a denial of service.
      if (h.length > MAX_OPTION_LENGTH) return this.close(out, 'option-too-long', `option ${h.option} length ${h.length}`);
      if (q.length < OPTION_HEADER_LENGTH + h.length) return out;
      q.take(OPTION_HEADER_LENGTH);
      const data = q.take(h.length) ?? Buffer.alloc(0);
      if (++this.options > MAX_OPTIONS) return this.close(out, 'too-many-options', `more than ${MAX_OPTIONS} options`);
      // proto.md "Newstyle negotiation": without fixed newstyle only EXPORT_NAME exists.
      if (!this.fixedNewstyle && h.option !== NBD_OPT_EXPORT_NAME) {
        return this.close(out, 'option-without-fixed-newstyle', `option ${h.option}`);
      }
      this.option(h.option, data, out);
      if (this.state !== 'AwaitOption') return out;
    }
  }

  private option(option: number, data: Buffer, out: HandshakeAction[]): void {
    const reply = (type: number, payload?: Buffer): void => {
      out.push({ kind: 'send', bytes: encodeOptionReply(option, type, payload) });
    };
    switch (option) {
      case NBD_OPT_EXPORT_NAME: {
        const name = decodeString(data);
        // proto.md "NBD_OPT_EXPORT_NAME": no error reply exists, so an unknown export ends the session.
        if (name === undefined || !this.matches(name)) {
          this.close(out, 'unknown-export', `export name ${JSON.stringify(data.toString('utf8').slice(0, 64))}`);
          return;
        }
        out.push({ kind: 'send', bytes: encodeExportNameReply(this.exp.size, this.exp.transmissionFlags, this.noZeroes) });
        this.enterTransmission(out);
        return;
      }
      case NBD_OPT_ABORT:
        // proto.md "NBD_OPT_ABORT": the server MUST reply with ACK; data is ignored.
        reply(NBD_REP_ACK);
        this.close(out, 'client-abort', 'client sent NBD_OPT_ABORT');
        return;
      case NBD_OPT_LIST:
        // proto.md "NBD_OPT_LIST": data SHOULD be rejected with ERR_INVALID.
        if (data.length !== 0) return reply(NBD_REP_ERR_INVALID, Buffer.from('NBD_OPT_LIST takes no data'));
        reply(NBD_REP_SERVER, encodeServerEntry(this.exp.name, this.exp.description));
        reply(NBD_REP_ACK);
        return;
      case NBD_OPT_INFO:
      case NBD_OPT_GO: {
        const req = decodeInfoRequest(data);
        if (!req.ok) return reply(NBD_REP_ERR_INVALID, Buffer.from(req.reason));
        // proto.md "NBD_OPT_INFO": unknown export -> ERR_UNKNOWN, no NBD_REP_INFO.
        if (!this.matches(req.value.name)) return reply(NBD_REP_ERR_UNKNOWN, Buffer.from('no such export'));
        reply(NBD_REP_INFO, encodeInfoExport(this.exp.size, this.exp.transmissionFlags));
        const wants = new Set(req.value.requests);
        if (wants.has(NBD_INFO_NAME)) reply(NBD_REP_INFO, encodeInfoString(NBD_INFO_NAME, this.exp.name));
        if (wants.has(NBD_INFO_DESCRIPTION) && this.exp.description !== undefined) {
          reply(NBD_REP_INFO, encodeInfoString(NBD_INFO_DESCRIPTION, this.exp.description));
        }
        if (wants.has(NBD_INFO_BLOCK_SIZE)) {
          const min = this.exp.minBlockSize;
          reply(NBD_REP_INFO, encodeInfoBlockSize(min, Math.max(PREFERRED_BLOCK_SIZE, min), MAX_PAYLOAD));
        }
        reply(NBD_REP_ACK);
        if (option === NBD_OPT_GO) this.enterTransmission(out);
        return;
      }
      case NBD_OPT_STRUCTURED_REPLY:
        // proto.md "NBD_OPT_STRUCTURED_REPLY": data SHOULD be rejected; a repeat MAY be.
        if (data.length !== 0) return reply(NBD_REP_ERR_INVALID, Buffer.from('NBD_OPT_STRUCTURED_REPLY takes no data'));
        if (this.structuredReplies) return reply(NBD_REP_ERR_INVALID, Buffer.from('structured replies already negotiated'));
        this.structuredReplies = true;
        reply(NBD_REP_ACK);
        return;
      default:
        // proto.md "Fixed newstyle negotiation": unknown options get ERR_UNSUP and haggling goes on.
        reply(NBD_REP_ERR_UNSUP);
    }
  }

  // The empty name selects the default export (proto.md "NBD_OPT_EXPORT_NAME").
  private matches(name: string): boolean {
    return name === '' || name === this.exp.name;
  }

  private enterTransmission(out: HandshakeAction[]): void {
    this.state = 'Transmission';
    out.push({ kind: 'transmission', structuredReplies: this.structuredReplies });
  }

  private close(out: HandshakeAction[], reason: HandshakeCloseReason, detail: string): HandshakeAction[] {
    this.state = 'Closed';
    out.push({ kind: 'close', reason, detail });
    return out;
  }
}
