// A connected TCP pair on loopback (`host`: 127.0.0.1, or ::1): `client` dialed `server`, which accepted `accepted`.
import { once } from 'node:events';
import net from 'node:net';

export async function tcpPair(host = '127.0.0.1'): Promise<{ server: net.Server; client: net.Socket; accepted: net.Socket }> {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const acceptedP = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect({ host, port: (server.address() as net.AddressInfo).port });
  await once(client, 'connect');
  const [accepted] = await acceptedP;
  return { server, client, accepted };
}
