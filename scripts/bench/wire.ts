// What the client sees on the segment, from `tcpdump -n -e -tt -l` lines:
// echo replies from the VIP, gratuitous ARPs for it and VRRP adverts, each
// with the sender's MAC so the old and the new MASTER can be told apart.
// Pure: no I/O, the lines come in as strings.

export type WireKind = 'reply' | 'garp' | 'advert';

export interface WireEvent {
  t: number; // ms since the epoch, the kernel's receive stamp
  mac: string; // Ethernet source
  kind: WireKind;
  priority?: number; // adverts only
}

const FRAME = /^(\d+\.\d+) ([0-9a-f]{2}(?::[0-9a-f]{2}){5}) > ([0-9a-f:]{17}), ethertype (\S+) \(0x[0-9a-f]+\), length \d+: (.*)$/;
const ADVERT = /VRRPv[23], Advertisement, vrid \d+, prio (\d+)/;

// A gratuitous ARP is broadcast and names the VIP as the sender (RFC 5227 3):
// as a request ("who-has VIP tell VIP"), a reply ("VIP is-at") or tcpdump's
// "Announcement". An ordinary reply to the client's own request is unicast.
function isGarpFor(dst: string, text: string, vip: string): boolean {
  if (dst !== 'ff:ff:ff:ff:ff:ff') return false;
  const tell = / tell (\S+?),/.exec(text)?.[1];
  if (tell === vip) return true;
  const isAt = /Reply (\S+) is-at/.exec(text)?.[1];
  if (isAt === vip) return true;
  return /Announcement (\S+?),/.exec(text)?.[1] === vip;
}

export function parseWireLine(line: string, vip: string): WireEvent | null {
  const m = FRAME.exec(line.trim());
  if (m === null) return null;
  const t = Number.parseFloat(m[1] as string) * 1000;
  const mac = m[2] as string;
  const dst = m[3] as string;
  const type = m[4] as string;
  const rest = m[5] as string;
  if (type === 'ARP') return isGarpFor(dst, rest, vip) ? { t, mac, kind: 'garp' } : null;
  if (type !== 'IPv4') return null;
  const adv = ADVERT.exec(rest);
  if (adv !== null) return { t, mac, kind: 'advert', priority: Number(adv[1]) };
  if (rest.startsWith(`${vip} > `) && rest.includes('ICMP echo reply')) return { t, mac, kind: 'reply' };
  return null;
}

// The first event of a kind from a MAC at or after a time (ms since the epoch).
export function firstAfter(events: WireEvent[], kind: WireKind, mac: string, t0: number, pred: (e: WireEvent) => boolean = () => true): WireEvent | undefined {
  return events.find((e) => e.kind === kind && e.mac === mac && e.t >= t0 && pred(e));
}

export function lastBefore(events: WireEvent[], kind: WireKind, mac: string, t: number): WireEvent | undefined {
  let found: WireEvent | undefined;
  for (const e of events) if (e.kind === kind && e.mac === mac && e.t < t) found = e;
  return found;
}
