// A thin adapter over lib/net/native (recv6.c): a raw IPv6 socket of one
// protocol on one interface whose packets come with their hop limit and
// destination, which an IPv6 raw socket read with recvfrom(2) never shows.
// Receive only; sending stays with raw.ts.
import { loadAddon } from './native-addon.js';

interface Native {
  open(protocol: number, device: string, checksumOffset: number): object;
  setOption(handle: object, level: number, name: number, value: Buffer): void;
  start(handle: object, onPacket: (payload: Buffer, src: string, dst: string, hopLimit: number) => void, onError: (message: string, fatal: boolean) => void): void;
  close(handle: object): void;
}

export interface Raw6Packet {
  payload: Buffer;
  src: string;
  dst: string | undefined; // undefined when the kernel gave no IPV6_PKTINFO
  hopLimit: number | undefined; // undefined when the kernel gave no IPV6_HOPLIMIT
}

export class Raw6Receiver {
  private readonly native: Native;
  private readonly handle: object;
  private closed = false;

  // `checksumOffset`: the kernel verifies the protocol's checksum there and drops a bad one (IPV6_CHECKSUM), or null.
  constructor(readonly protocol: number, readonly device: string, checksumOffset: number | null) {
    this.native = loadAddon<Native>('tandem_recv6', 'the IPv6 receive addon');
    this.handle = this.native.open(protocol, device, checksumOffset ?? -1);
  }

  // After the socket options: `onError(err, fatal)`, fatal meaning the socket is closed, nothing more is received.
  start(onPacket: (p: Raw6Packet) => void, onError: (err: Error, fatal: boolean) => void): void {
    const device = this.device;
    this.native.start(this.handle, (payload, src, dst, hopLimit) => {
      onPacket({ payload, src, dst: dst === '' ? undefined : dst, hopLimit: hopLimit < 0 ? undefined : hopLimit });
    }, (message, fatal) => {
      if (fatal) this.closed = true;
      onError(new Error(`receiving on ${device}: ${message}`), fatal);
    });
  }

  setInt(level: number, option: number, value: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    this.native.setOption(this.handle, level, option, b);
  }

  setBuffer(level: number, option: number, value: Buffer): void {
    this.native.setOption(this.handle, level, option, value);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close(this.handle);
  }
}
