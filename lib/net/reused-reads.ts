// Reads a plain socket into one buffer reused for every read, instead of
// Node's fresh 64 KiB allocation per read (each one external memory the GC
// must reclaim). `onBytes` sees a view that the next read overwrites, so it
// copies what it keeps (byte-queue.ts does). pause() / resume(), 'end' and
// 'close' work as usual; no 'data' events are emitted.
//
// Node offers this as the documented `onread` option of net.connect() and
// new Socket(), but not for sockets a server accepts; this sets the same
// fields on an existing socket. A socket it cannot handle (TLS, an unknown
// Node) falls back to 'data' events, which are stable copies: the same
// callback works for both.
//
// `target`, asked after every read, may name where the next read goes
// instead (the rest of a large message being gathered, byte-queue.ts): the
// bytes then land in place, without the copy out of the reused buffer. What
// it returns must stay valid for a read until the next call (`onread`'s
// buffer function).
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export const READ_BUFFER_BYTES = 256 * 1024; // fewer, larger reads for 1 MiB writes; the kernel hands what it has

interface UserBufferHandle {
  useUserBuffer?: (buf: Uint8Array) => void;
}

function symbolNamed(socket: Socket, name: string): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
}

// Returns 'reused' or 'data-events' (which way the bytes come), for tests and logs.
export interface ReadOptions {
  size?: number; // the reused buffer's bytes
  target?: () => Uint8Array | null; // null: the reused buffer
}

export function readReused(socket: Socket, onBytes: (chunk: Buffer) => void, opts: ReadOptions = {}): 'reused' | 'data-events' {
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  const kBuffer = symbolNamed(socket, 'kBuffer');
  const kBufferCb = symbolNamed(socket, 'kBufferCb');
  const kBufferGen = symbolNamed(socket, 'kBufferGen');
  const useUserBuffer = socket instanceof TLSSocket ? undefined : handle?.useUserBuffer?.bind(handle);
  // Bytes already in the stream's own buffer (none for a fresh socket) would be skipped by the reused buffer.
  if (useUserBuffer === undefined || kBuffer === undefined || kBufferCb === undefined || socket.readableLength > 0) {
    socket.on('data', onBytes);
    return 'data-events';
  }
  const buf = Buffer.allocUnsafe(opts.size ?? READ_BUFFER_BYTES);
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[kBuffer] = buf;
  fields[kBufferCb] = (nread: number, into: Uint8Array): void => onBytes(Buffer.from(into.buffer, into.byteOffset, nread));
  const target = opts.target;
  if (target !== undefined && kBufferGen !== undefined) fields[kBufferGen] = (): Uint8Array => target() ?? buf;
  useUserBuffer(buf);
  socket.resume(); // flowing, as with a 'data' listener: 'end' is emitted only by a flowing stream
  return 'reused';
}
