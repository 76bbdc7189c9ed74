// Mutual HMAC challenge-response handshake of the peer link, as a pure state
// machine: time comes in as `now`, randomness through `randomBytes`, and each
// call returns the frames to send, the outcome, and the next deadline.
//
// Both sides run the same machine (no initiator role); each sends in order
// HELLO, RESPONSE, AUTH_OK, so over one TCP stream the peer's frames arrive in
// that order too.
//
// | state        | event                         | next          | actions                            |
// |--------------|-------------------------------|---------------|------------------------------------|
// | Idle         | start                         | WaitHello     | send HELLO                         |
// | WaitHello    | HELLO, no common version      | Failed        | ERROR + fail version-mismatch      |
// | WaitHello    | HELLO, other volume           | Failed        | ERROR + fail unknown-volume        |
// | WaitHello    | HELLO, not the expected peer  | Failed        | ERROR + fail unknown-peer          |
// | WaitHello    | HELLO, our challenge or name  | Failed        | ERROR + fail auth-failed (reflect) |
// | WaitHello    | HELLO, acceptable             | WaitResponse  | send RESPONSE                      |
// | WaitResponse | RESPONSE, verifies            | WaitAuthOk    | send AUTH_OK                       |
// | WaitResponse | RESPONSE, wrong or truncated  | Failed        | ERROR + fail auth-failed           |
// | WaitAuthOk   | AUTH_OK                       | Authenticated | authenticated                      |
// | Wait*        | ERROR from peer               | Failed        | fail with the peer's reason        |
// | Wait*        | any other frame / bad payload | Failed        | ERROR + fail protocol-error        |
// | Wait*        | tick at/after the deadline    | Failed        | ERROR + fail handshake-timeout     |
// | Authenticated, Failed | anything             | unchanged     | none                               |
import { computeResponse, verifyResponse } from './auth.js';
import type { FrameType } from './frame-types.js';
import {
  CHALLENGE_LEN, LINK_PROTOCOL_MIN, LINK_PROTOCOL_VERSION, decodeHello, decodeLinkError, encodeHello, encodeLinkError, nameProblem,
} from './messages.js';

export type HandshakeState = 'Idle' | 'WaitHello' | 'WaitResponse' | 'WaitAuthOk' | 'Authenticated' | 'Failed';

export const HANDSHAKE_FAILURES = [
  'auth-failed', // wrong secret, reflected challenge / response, replayed transcript: fatal for this connection
  'handshake-timeout', // the handshake did not finish in time
  'version-mismatch', // peer speaks another link protocol version
  'unknown-volume', // peer replicates another volume
  'unknown-peer', // peer is not the node we expect on this link
  'protocol-error', // a frame out of order or a malformed handshake payload
] as const;
export type HandshakeFailure = (typeof HANDSHAKE_FAILURES)[number];

export interface HandshakeConfig {
  node: string; // our node name
  volume: string;
  secret: Uint8Array;
  expectedPeer?: string; // if set, any other peer node name fails with unknown-peer
  timeoutMs: number;
  randomBytes: (n: number) => Buffer;
  version?: number; // tests only: speak another protocol version
}

export interface PeerIdentity {
  node: string;
  volume: string;
  version: number; // the link protocol version both sides speak
}

export type HandshakeAction =
  | { kind: 'send'; type: FrameType; payload: Buffer }
  | { kind: 'authenticated'; peer: PeerIdentity }
  | { kind: 'fail'; reason: HandshakeFailure; detail: string };

export interface HandshakeStep {
  actions: HandshakeAction[];
  deadline: number | null; // call tick(now) at this time; null once finished
}

export interface HandshakeInput {
  type: FrameType;
  payload: Buffer;
}

export class Handshake {
  private st: HandshakeState = 'Idle';
  private deadline: number | null = null;
  private readonly challenge: Buffer;
  private peer: PeerIdentity | null = null;
  private peerChallenge: Buffer | null = null;

  constructor(private readonly cfg: HandshakeConfig) {
    if (cfg.secret.length === 0) throw new RangeError('the shared secret is empty');
    for (const n of [cfg.node, cfg.volume]) {
      const problem = nameProblem(n);
      if (problem) throw new RangeError(`${JSON.stringify(n)}: ${problem}`);
    }
    this.challenge = cfg.randomBytes(CHALLENGE_LEN);
    if (this.challenge.length !== CHALLENGE_LEN) throw new RangeError(`randomBytes gave ${this.challenge.length} bytes`);
  }

  get state(): HandshakeState {
    return this.st;
  }

  start(now: number): HandshakeStep {
    if (this.st !== 'Idle') return this.step([]);
    this.st = 'WaitHello';
    this.deadline = now + this.cfg.timeoutMs;
    const hello = encodeHello({ version: this.version, node: this.cfg.node, volume: this.cfg.volume, challenge: this.challenge });
    return this.step([{ kind: 'send', type: 'HELLO', payload: hello }]);
  }

  tick(now: number): HandshakeStep {
    if (this.deadline === null || now < this.deadline) return this.step([]);
    return this.fail('handshake-timeout', `no authentication within ${this.cfg.timeoutMs} ms (state ${this.st})`);
  }

  receive(frame: HandshakeInput, now: number): HandshakeStep {
    if (this.st === 'Authenticated' || this.st === 'Failed' || this.st === 'Idle') return this.step([]);
    if (this.deadline !== null && now >= this.deadline) return this.tick(now);
    if (frame.type === 'ERROR') return this.peerError(frame.payload);
    if (this.st === 'WaitHello' && frame.type === 'HELLO') return this.onHello(frame.payload);
    if (this.st === 'WaitResponse' && frame.type === 'RESPONSE') return this.onResponse(frame.payload);
    if (this.st === 'WaitAuthOk' && frame.type === 'AUTH_OK') {
      if (frame.payload.length !== 0) return this.fail('protocol-error', 'AUTH_OK carries a payload');
      this.st = 'Authenticated';
      this.deadline = null;
      return this.step([{ kind: 'authenticated', peer: this.peer as PeerIdentity }]);
    }
    return this.fail('protocol-error', `${frame.type} received in ${this.st}`);
  }

  private get version(): number {
    return this.cfg.version ?? LINK_PROTOCOL_VERSION;
  }

  private onHello(payload: Buffer): HandshakeStep {
    const d = decodeHello(payload);
    if (!d.ok) return this.fail('protocol-error', `bad HELLO: ${d.detail}`);
    const h = d.value;
    // The lower of the two newest versions is spoken; a peer newer than us knows whether it still speaks ours.
    const agreed = Math.min(h.version, this.version);
    if (agreed < LINK_PROTOCOL_MIN) {
      return this.fail('version-mismatch', `peer speaks link protocol version ${h.version}, we speak ${LINK_PROTOCOL_MIN}..${this.version}: upgrade the older node`);
    }
    if (h.volume !== this.cfg.volume) return this.fail('unknown-volume', `peer replicates ${JSON.stringify(h.volume)}, this link is ${JSON.stringify(this.cfg.volume)}`);
    if (this.cfg.expectedPeer !== undefined && h.node !== this.cfg.expectedPeer) {
      return this.fail('unknown-peer', `peer calls itself ${JSON.stringify(h.node)}, expected ${JSON.stringify(this.cfg.expectedPeer)}`);
    }
    // DRBD rejects a peer that presents our own challenge: it is reflecting our traffic.
    if (h.challenge.equals(this.challenge)) return this.fail('auth-failed', 'peer presented our own challenge (reflection)');
    // Both names are bound into the responses; equal names would make the two directions alike.
    if (h.node === this.cfg.node) return this.fail('auth-failed', `peer claims our own node name ${JSON.stringify(h.node)}`);
    this.peer = { node: h.node, volume: h.volume, version: agreed };
    this.peerChallenge = h.challenge;
    this.st = 'WaitResponse';
    const answer = computeResponse({
      secret: this.cfg.secret, responder: this.cfg.node, verifier: h.node, volume: this.cfg.volume,
      verifierChallenge: h.challenge, responderChallenge: this.challenge,
    });
    return this.step([{ kind: 'send', type: 'RESPONSE', payload: answer }]);
  }

  private onResponse(payload: Buffer): HandshakeStep {
    const peer = this.peer as PeerIdentity;
    const ok = verifyResponse({
      secret: this.cfg.secret, responder: peer.node, verifier: this.cfg.node, volume: this.cfg.volume,
      verifierChallenge: this.challenge, responderChallenge: this.peerChallenge as Buffer,
    }, payload);
    // A mismatch is fatal for this connection, no second try (replication.md "Peer authentication").
    if (!ok) return this.fail('auth-failed', `response from ${JSON.stringify(peer.node)} does not verify (${payload.length} bytes)`);
    this.st = 'WaitAuthOk';
    return this.step([{ kind: 'send', type: 'AUTH_OK', payload: Buffer.alloc(0) }]);
  }

  private peerError(payload: Buffer): HandshakeStep {
    const d = decodeLinkError(payload);
    const theirs = d.ok ? d.value.reason : '';
    const reason = (HANDSHAKE_FAILURES as readonly string[]).includes(theirs) ? (theirs as HandshakeFailure) : 'protocol-error';
    const detail = d.ok ? `peer reported ${d.value.reason}: ${d.value.detail}` : `peer sent a bad ERROR: ${d.detail}`;
    return this.finish(reason, detail, false);
  }

  private fail(reason: HandshakeFailure, detail: string): HandshakeStep {
    return this.finish(reason, detail, true);
  }

  private finish(reason: HandshakeFailure, detail: string, tellPeer: boolean): HandshakeStep {
    this.st = 'Failed';
    this.deadline = null;
    const actions: HandshakeAction[] = [];
    if (tellPeer) actions.push({ kind: 'send', type: 'ERROR', payload: encodeLinkError({ reason, detail: tellPeerDetail(reason, detail) }) });
    actions.push({ kind: 'fail', reason, detail });
    return this.step(actions);
  }

  private step(actions: HandshakeAction[]): HandshakeStep {
    return { actions, deadline: this.deadline };
  }
}

// The peer learns why, but an authentication failure tells it nothing it could use.
function tellPeerDetail(reason: HandshakeFailure, detail: string): string {
  return reason === 'auth-failed' ? 'authentication failed' : detail;
}
