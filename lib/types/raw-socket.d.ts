// The part of raw-socket 1.8's API tandem uses (the package ships no types).
declare module 'raw-socket' {
  import { EventEmitter } from 'node:events';
  export const AddressFamily: { IPv4: number; IPv6: number };
  export const SocketLevel: Record<string, number>;
  export const SocketOption: Record<string, number>;
  export interface CreateOptions {
    addressFamily?: number;
    protocol?: number;
    bufferSize?: number;
    generateChecksums?: boolean;
    checksumOffset?: number;
  }
  export class Socket extends EventEmitter {
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      address: string,
      afterCallback: (error: Error | null, bytes: number) => void,
    ): this;
    setOption(level: number, option: number, value: number | Buffer, length?: number): void;
    close(): void;
    pauseRecv(): this;
    resumeRecv(): this;
  }
  export function createSocket(options: CreateOptions): Socket;
  const raw: { createSocket: typeof createSocket; AddressFamily: typeof AddressFamily };
  export default raw;
}
