// Sends hand-made IP packets (IP header included, hex on the command line)
// out of one interface: the lab's way to put hostile VRRP on the wire. A DST
// with a colon sends IPv6 (the packets then carry an IPv6 header, whose hop
// limit and addresses are sent as written).
// Usage (inside a namespace): node send-raw.js DEV DST HEX [HEX...]
import { IPPROTO_IP, IPPROTO_IPV6, IPV6_HDRINCL, IP_HDRINCL, RawSocket } from '../../lib/net/raw.js';

async function main(): Promise<void> {
  const [dev, dst, ...packets] = process.argv.slice(2);
  if (dev === undefined || dst === undefined || packets.length === 0) throw new Error('usage: send-raw DEV DST HEX [HEX...]');
  const family = dst.includes(':') ? 6 : 4;
  const s = new RawSocket({ family, protocol: 112, device: dev, sendOnly: true }, () => {}, (e) => {
    throw e;
  });
  if (family === 4) s.setInt(IPPROTO_IP, IP_HDRINCL, 1);
  else s.setInt(IPPROTO_IPV6, IPV6_HDRINCL, 1);
  const to = family === 6 && /^f[ef]/i.test(dst) ? `${dst}%${dev}` : dst;
  for (const hex of packets) await s.send(Buffer.from(hex, 'hex'), to);
  s.close();
}

main().catch((err: Error) => {
  process.stderr.write(`send-raw: ${err.message}\n`);
  process.exitCode = 1;
});
