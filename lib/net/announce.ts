// Tell the segment where a VIP lives now: a gratuitous ARP request for IPv4
// (RFC 5227 3, sent by arping as keepalived sends it: sender = target = VIP,
// broadcast) and an unsolicited neighbour advertisement with the Override
// flag for IPv6 (RFC 4861 7.2.6), to all-nodes.
import { execa } from 'execa';
import type { VirtualAddress } from '../config/types.js';
import { TandemError } from '../errors.js';
import { encodeUnsolicitedNa } from './ndisc-packet.js';
import { IPPROTO_IPV6, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_IF, IPV6_MULTICAST_LOOP, RawSocket } from './raw.js';

const IPPROTO_ICMPV6 = 58;
const ALL_NODES = 'ff02::1';

export interface Announcer {
  // `signal` ends an announcement still running (the MASTER tenure is over).
  announce(vip: VirtualAddress, link: { index: number; mac: string }, signal?: AbortSignal): Promise<void>;
  close(): void;
}

async function gratuitousArp(vip: VirtualAddress, signal: AbortSignal): Promise<void> {
  const r = await execa('arping', ['-U', '-c', '1', '-I', vip.dev, vip.address], {
    reject: false,
    timeout: 3000,
    cancelSignal: signal,
    stdin: 'ignore',
  });
  // arping -U exits 1 because no reply is expected; only a failure to send matters.
  if (r.failed && r.exitCode !== 1) {
    throw new TandemError('GARP_FAILED', `arping for ${vip.address} on ${vip.dev} failed: ${(r.stderr || r.shortMessage || "").trim()}`, {
      transient: true,
    });
  }
  if (/arping: .*(error|unknown|No such)/i.test(r.stderr)) {
    throw new TandemError('GARP_FAILED', `arping for ${vip.address} on ${vip.dev}: ${r.stderr.trim()}`, { transient: true });
  }
}

export function createAnnouncer(): Announcer {
  const naSockets = new Map<string, { socket: RawSocket; index: number }>();
  const controller = new AbortController();

  // One per link; a link deleted and made again under its name (a new index) gets a new one.
  function naSocket(dev: string, index: number): RawSocket {
    const had = naSockets.get(dev);
    if (had !== undefined && had.index === index) return had.socket;
    had?.socket.close();
    const s = new RawSocket({ family: 6, protocol: IPPROTO_ICMPV6, device: dev, sendOnly: true }, () => {}, () => {});
    // RFC 4861 7.1.2: receivers drop ND messages whose hop limit is not 255.
    s.setInt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
    s.setInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, index);
    s.setInt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    naSockets.set(dev, { socket: s, index });
    return s;
  }

  return {
    async announce(vip, link, signal) {
      if (vip.family === 4) return gratuitousArp(vip, signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal]));
      await naSocket(vip.dev, link.index).send(encodeUnsolicitedNa(vip.address, link.mac), ALL_NODES);
    },
    close() {
      controller.abort();
      for (const s of naSockets.values()) s.socket.close();
      naSockets.clear();
    },
  };
}
