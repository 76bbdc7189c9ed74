// One connection's NBD protocol, pure: bytes in (split anywhere), actions out.
// The handshake machine runs first, then the transmission framer reads
// request headers and WRITE payloads from the same queue. Time comes in as
// an argument; the only deadline is the handshake's. A WRITE payload may come
// from the shared buffer pool: its taker releases it once the write is done.
import { ByteQueue } from '../../../net/byte-queue.js';
import { MAX_PAYLOAD, NBD_CMD_READ, NBD_CMD_WRITE, commandName, type CommandName } from './constants.js';
import { encodeGreeting } from './handshake-codec.js';
import { Handshake, type ExportDescriptor, type HandshakeCloseReason } from './handshake.js';
import { REQUEST_HEADER_LENGTH, decodeRequestHeader } from './request-codec.js';
import { checkRequest, type Verdict } from './validate.js';

export type CloseReason = HandshakeCloseReason | 'handshake-timeout' | 'bad-request-magic' | 'request-too-large' | 'client-disconnect';

// Closes the client asked for; every other reason is counted as a protocol error.
export function isCleanClose(reason: CloseReason): boolean {
  return reason === 'client-abort' || reason === 'client-disconnect';
}

export type Phase = 'handshake' | 'transmission' | 'closed';

export interface NbdRequest {
  cookie: bigint;
  command: CommandName;
  isRead: boolean;
  offset: bigint;
  length: number;
  verdict: Verdict;
}

export type ProtocolAction =
  | { kind: 'send'; bytes: Buffer }
  | { kind: 'transmission'; structuredReplies: boolean }
  | { kind: 'request'; request: NbdRequest }
  | { kind: 'close'; reason: CloseReason; detail: string };

export interface ProtocolOptions {
  handshakeTimeoutMs: number;
}

export class NbdProtocol {
  phase: Phase = 'handshake';
  structuredReplies = false;
  private readonly q = new ByteQueue();
  private readonly handshake: Handshake;
  private readonly deadlineAt: number;

  constructor(private readonly exp: ExportDescriptor & { readOnly: boolean }, now: number, opts: ProtocolOptions) {
    this.handshake = new Handshake(exp);
    this.deadlineAt = now + opts.handshakeTimeoutMs;
  }

  // The server speaks first (proto.md "Newstyle negotiation").
  start(): ProtocolAction[] {
    return [{ kind: 'send', bytes: encodeGreeting() }];
  }

  // When tick() must next be called, or undefined when no timer is needed.
  deadline(): number | undefined {
    return this.phase === 'handshake' ? this.deadlineAt : undefined;
  }

  tick(now: number): ProtocolAction[] {
    if (this.phase !== 'handshake' || now < this.deadlineAt) return [];
    return this.close('handshake-timeout', 'handshake not finished in time');
  }

  // Where the socket's next read should go: into a large WRITE payload being gathered, in place.
  readTarget(): Buffer | null {
    return this.phase === 'transmission' ? this.q.readTarget() : null;
  }

  receive(chunk: Buffer, _now: number): ProtocolAction[] {
    if (this.phase === 'closed') return [];
    this.q.push(chunk);
    const out: ProtocolAction[] = [];
    if (this.phase === 'handshake') {
      for (const a of this.handshake.step(this.q)) {
        out.push(a);
        if (a.kind === 'transmission') {
          this.phase = 'transmission';
          this.structuredReplies = a.structuredReplies;
        }
        if (a.kind === 'close') this.closed();
      }
    }
    if (this.phase === 'transmission') this.requests(out);
    this.q.settle(); // the chunk may be a socket's reused read buffer
    return out;
  }

  private requests(out: ProtocolAction[]): void {
    for (;;) {
      const hb = this.q.peek(REQUEST_HEADER_LENGTH);
      if (hb === undefined) return;
      const d = decodeRequestHeader(hb);
      // proto.md "Terminating the transmission phase": a MUST violation allows a hard disconnect.
      if (!d.ok) return void out.push(...this.close(d.reason, d.detail));
      const h = d.header;
      const hasPayload = h.type === NBD_CMD_WRITE;
      // proto.md "Block size constraints": payloads above 2^25 may be treated as a denial of service.
      if ((hasPayload || h.type === NBD_CMD_READ) && h.length > MAX_PAYLOAD) {
        return void out.push(...this.close('request-too-large', `${commandName(h.type)} of ${h.length} bytes`));
      }
      const need = REQUEST_HEADER_LENGTH + (hasPayload ? h.length : 0);
      if (this.q.length < need) return void this.q.expect(need);
      this.q.discard(REQUEST_HEADER_LENGTH);
      const payload = hasPayload ? this.q.take(h.length) : undefined;
      const verdict = checkRequest(h, payload, this.exp);
      if (verdict.kind === 'disconnect') return void out.push(...this.close('client-disconnect', 'NBD_CMD_DISC'));
      out.push({
        kind: 'request',
        request: { cookie: h.cookie, command: commandName(h.type), isRead: h.type === NBD_CMD_READ, offset: h.offset, length: h.length, verdict },
      });
    }
  }

  private close(reason: CloseReason, detail: string): ProtocolAction[] {
    this.closed();
    return [{ kind: 'close', reason, detail }];
  }

  private closed(): void {
    this.phase = 'closed';
    this.q.clear();
  }
}
