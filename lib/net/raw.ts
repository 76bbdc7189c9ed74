// A thin adapter over raw-socket: one raw IP socket bound to one interface,
// with the Linux socket options set by number (raw-socket knows only a few
// by name). Nothing here knows about VRRP or neighbour discovery.
import raw, { type Socket } from 'raw-socket';
import type { IpFamily } from './ip-address.js';
import { parseIp } from './ip-address.js';

// <linux/in.h>, <linux/in6.h>, <asm-generic/socket.h>
export const SOL_SOCKET = 1;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const SO_RCVBUF = 8;
export const SO_BINDTODEVICE = 25;
export const IP_HDRINCL = 3;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IPV6_CHECKSUM = 7;
export const IPV6_HDRINCL = 36; // Linux 4.5+
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_ADD_MEMBERSHIP = 20;

export interface RawSocketOptions {
  family: IpFamily;
  protocol: number;
  device: string;
  sendOnly?: boolean; // do not read: a send-only socket would copy every packet of its protocol
}

// raw-socket's native handle: its send() calls sendto(2) at once and throws on error.
interface RawWrap {
  send(buffer: Buffer, offset: number, length: number, address: string, done: (bytes: number) => void): void;
}

export type RawMessageHandler = (packet: Buffer, source: string) => void;

export class RawSocket {
  private readonly socket: Socket;
  private closed = false;
  private queued = 0; // sends waiting in raw-socket's queue: later ones must not overtake them

  // `onError(err, fatal)`: raw-socket closes the socket after a poll error (fatal);
  // a failed receive leaves it open.
  constructor(readonly options: RawSocketOptions, onMessage: RawMessageHandler, onError: (err: Error, fatal: boolean) => void) {
    this.socket = raw.createSocket({
      addressFamily: options.family === 6 ? raw.AddressFamily.IPv6 : raw.AddressFamily.IPv4,
      protocol: options.protocol,
      bufferSize: 65535,
    });
    this.socket.on('message', (buf: Buffer, source: string) => onMessage(Buffer.from(buf), source));
    let lastError: Error | null = null;
    this.socket.on('error', (err: Error) => {
      lastError = err;
      onError(err, false);
    });
    this.socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      onError(lastError ?? new Error('closed unexpectedly'), true);
    });
    // Only this interface's traffic, in and out (keepalived binds the same way).
    const name = Buffer.alloc(options.device.length + 1);
    name.write(options.device, 'latin1');
    this.socket.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
    if (options.sendOnly === true) this.socket.pauseRecv();
  }

  setInt(level: number, option: number, value: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    this.socket.setOption(level, option, b, 4);
  }

  setBuffer(level: number, option: number, value: Buffer): void {
    this.socket.setOption(level, option, value, value.length);
  }

  // struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex }
  static ipMreqn(group: string, ifindex: number): Buffer {
    const b = Buffer.alloc(12);
    parseIp(group)?.bytes.copy(b, 0);
    b.writeInt32LE(ifindex, 8);
    return b;
  }

  // struct ipv6_mreq { in6_addr multiaddr; int ifindex }
  static ipv6Mreq(group: string, ifindex: number): Buffer {
    const b = Buffer.alloc(20);
    parseIp(group)?.bytes.copy(b, 0);
    b.writeInt32LE(ifindex, 16);
    return b;
  }

  // Sends at once when the socket takes it (the usual case: a raw socket's
  // buffer is rarely full), so an advert leaves at the moment it is decided,
  // not a loop turn later; falls back to raw-socket's queue on EAGAIN.
  send(packet: Buffer, address: string): Promise<number> {
    if (this.closed) return Promise.reject(new Error(`raw socket on ${this.options.device} is closed`));
    const wrap = (this.socket as unknown as { wrap?: RawWrap }).wrap;
    if (wrap !== undefined && this.queued === 0) {
      let sent = -1;
      try {
        wrap.send(packet, 0, packet.length, address, (bytes: number) => (sent = bytes));
        return Promise.resolve(sent);
      } catch (err) {
        if (!/temporarily unavailable|EAGAIN|would block/i.test((err as Error).message)) return Promise.reject(err);
      }
    }
    this.queued++;
    return new Promise((resolve, reject) => {
      this.socket.send(packet, 0, packet.length, address, (err: Error | null, bytes: number) => {
        this.queued--;
        if (err) reject(err);
        else resolve(bytes);
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
