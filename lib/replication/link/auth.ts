// HMAC challenge-response of the peer link (replication.md "Peer authentication",
// DRBD 9 guide "cram-hmac-alg" / "shared-secret").
//
// A responder R answers verifier V's challenge with
//   HMAC-SHA256(secret, LABEL || lp(R) || lp(V) || lp(volume) || challenge_V || challenge_R)
// (lp = u8 length + bytes). Binding both node names in a fixed order makes a
// response computed for the other direction useless, so a reflected response
// (A's own answer played back to A) fails; binding both fresh challenges makes
// a response from an older transcript useless.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RESPONSE_LEN } from './messages.js';

const LABEL = Buffer.from('tandem-link-v1 response\0');

export interface ResponseInput {
  secret: Uint8Array;
  responder: string; // node name of the side computing the answer
  verifier: string; // node name of the side that sent the challenge
  volume: string;
  verifierChallenge: Uint8Array;
  responderChallenge: Uint8Array;
}

function lp(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.of(b.length), b]);
}

export function computeResponse(i: ResponseInput): Buffer {
  return createHmac('sha256', i.secret)
    .update(LABEL)
    .update(lp(i.responder))
    .update(lp(i.verifier))
    .update(lp(i.volume))
    .update(i.verifierChallenge)
    .update(i.responderChallenge)
    .digest();
}

// Constant time for equal lengths; a wrong length is rejected without comparing.
export function verifyResponse(i: ResponseInput, received: Uint8Array): boolean {
  if (received.length !== RESPONSE_LEN) return false;
  return timingSafeEqual(computeResponse(i), received);
}
