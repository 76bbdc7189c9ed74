// Sends hand-made IPv4 packets (IP header included, hex on the command line)
// out of one interface: the lab's way to put hostile VRRP on the wire.
// Usage (inside a namespace): node send-raw.js DEV DST HEX [HEX...]
import { IPPROTO_IP, IP_HDRINCL, RawSocket } from '../../lib/net/raw.js';

async function main(): Promise<void> {
  const [dev, dst, ...packets] = process.argv.slice(2);
  if (dev === undefined || dst === undefined || packets.length === 0) throw new Error('usage: send-raw DEV DST HEX [HEX...]');
  const s = new RawSocket({ family: 4, protocol: 112, device: dev, sendOnly: true }, () => {}, (e) => {
    throw e;
  });
  s.setInt(IPPROTO_IP, IP_HDRINCL, 1);
  for (const hex of packets) await s.send(Buffer.from(hex, 'hex'), dst);
  s.close();
}

main().catch((err: Error) => {
  process.stderr.write(`send-raw: ${err.message}\n`);
  process.exitCode = 1;
});
