// Payload codecs for the frames the link itself owns: HELLO, RESPONSE, ERROR.
// Pure; decode returns a typed rejection, never throws on wire data.
//
// HELLO:    u16 protocol version, u8 len + node name, u8 len + volume name, 64-byte challenge
// RESPONSE: 32-byte HMAC-SHA256 (auth.ts)
// ERROR:    u8 len + reason (ASCII), then detail (UTF-8, rest of the payload)
import { decodeUtf8, utf8Prefix } from '../../net/utf8.js';

// 2: PROMOTE_REQUEST / REPLY / ABORT. 3: a SyncSource clears its bitmap as it
// sends, the SyncTarget once the blocks are durable (a cut resync resumes).
// 4: STATE carries the sender's feeds (one source at a time, one-source.ts); a
// peer speaking 3 sends none, and then neither side applies that rule.
// 5: the connect BITMAP travels in pieces, coded as words or runs
// (volume/bitmap-chunks.ts): no volume size limit from the frame size.
// 6: PEER_OUT_OF_SYNC, a Primary tells its Secondaries which ranges a third
// peer missed (generations.ts followPrimary); a peer speaking 5 gets none and
// then tracks nothing for third peers.
// 7: STATE says when the sender's bits include marks of its own crash as
// Secondary (staleBits): at one generation the receiver's copy wins. A peer
// speaking 6 sends no such word, and then neither side applies that rule.
export const LINK_PROTOCOL_VERSION = 8; // the newest we speak, sent in HELLO
export const LINK_PROTOCOL_MIN = 3; // the oldest we still speak; two nodes use the lower of their newest
export const CHALLENGE_LEN = 64; // DRBD sends 64 random bytes (replication.md "Peer authentication")
export const RESPONSE_LEN = 32; // SHA-256 output
export const MAX_NAME_LEN = 63;
export const MAX_ERROR_DETAIL = 512;

export interface Hello {
  version: number;
  node: string;
  volume: string;
  challenge: Buffer;
}

export interface LinkErrorMessage {
  reason: string;
  detail: string;
}

export type MessageResult<T> = { ok: true; value: T } | { ok: false; detail: string };


// Names are config identifiers: 1-63 bytes of UTF-8 without control characters.
export function nameProblem(name: string): string | null {
  const len = Buffer.byteLength(name);
  if (len < 1 || len > MAX_NAME_LEN) return `name is ${len} bytes, want 1-${MAX_NAME_LEN}`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'name contains a control character';
  return null;
}

function readName(buf: Buffer, at: number, what: string): MessageResult<{ name: string; next: number }> {
  if (at >= buf.length) return { ok: false, detail: `${what} length missing` };
  const len = buf[at] as number;
  if (at + 1 + len > buf.length) return { ok: false, detail: `${what} runs past the payload` };
  const name = decodeUtf8(buf.subarray(at + 1, at + 1 + len));
  if (name === null) return { ok: false, detail: `${what} is not UTF-8` };
  const problem = nameProblem(name);
  if (problem) return { ok: false, detail: `${what}: ${problem}` };
  return { ok: true, value: { name, next: at + 1 + len } };
}

export function encodeHello(h: Hello): Buffer {
  for (const n of [h.node, h.volume]) {
    const problem = nameProblem(n);
    if (problem) throw new RangeError(`${JSON.stringify(n)}: ${problem}`);
  }
  if (h.challenge.length !== CHALLENGE_LEN) throw new RangeError(`challenge must be ${CHALLENGE_LEN} bytes`);
  const node = Buffer.from(h.node);
  const volume = Buffer.from(h.volume);
  const version = Buffer.alloc(2);
  version.writeUInt16BE(h.version);
  return Buffer.concat([version, Buffer.of(node.length), node, Buffer.of(volume.length), volume, h.challenge]);
}

export function decodeHello(buf: Buffer): MessageResult<Hello> {
  if (buf.length < 2) return { ok: false, detail: `HELLO is ${buf.length} bytes` };
  const version = buf.readUInt16BE(0);
  const node = readName(buf, 2, 'node name');
  if (!node.ok) return node;
  const volume = readName(buf, node.value.next, 'volume name');
  if (!volume.ok) return volume;
  const rest = buf.length - volume.value.next;
  if (rest !== CHALLENGE_LEN) return { ok: false, detail: `challenge is ${rest} bytes, want ${CHALLENGE_LEN}` };
  const challenge = Buffer.from(buf.subarray(volume.value.next));
  return { ok: true, value: { version, node: node.value.name, volume: volume.value.name, challenge } };
}

export function encodeLinkError(e: LinkErrorMessage): Buffer {
  const reason = Buffer.from(e.reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 255), 'ascii');
  const detail = utf8Prefix(e.detail, MAX_ERROR_DETAIL);
  return Buffer.concat([Buffer.of(reason.length), reason, detail]);
}

export function decodeLinkError(buf: Buffer): MessageResult<LinkErrorMessage> {
  if (buf.length < 1) return { ok: false, detail: 'ERROR payload is empty' };
  const len = buf[0] as number;
  if (1 + len > buf.length) return { ok: false, detail: 'ERROR reason runs past the payload' };
  const reason = buf.subarray(1, 1 + len);
  if (reason.some((b) => b < 0x20 || b > 0x7e)) return { ok: false, detail: 'ERROR reason is not printable ASCII' };
  // The detail is only logged: replace bad UTF-8 rather than reject.
  return { ok: true, value: { reason: reason.toString('ascii'), detail: buf.subarray(1 + len, 1 + len + MAX_ERROR_DETAIL).toString('utf8') } };
}

