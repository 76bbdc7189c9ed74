// The TCP congestion control addon (lib/net/native/tcp-congestion.c) and
// its adapter against the real kernel, on loopback sockets.
import { expect } from 'chai';
import { once } from 'node:events';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { loadAddon } from '../../lib/net/native-addon.js';
import { loadedCongestionControls, setTcpCongestion, tcpCongestion } from '../../lib/net/tcp-congestion.js';
import { tcpPair } from '../helpers/tcp-pair.js';

interface Native {
  get(fd: number): string;
  set(fd: number, name: string): void;
}

describe('net/tcp-congestion (TCP_CONGESTION on loopback sockets)', function () {
  const host = readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();

  it('reads the host default, sets another algorithm and reads it back, on a connected socket', async () => {
    const { server, client, accepted } = await tcpPair();
    try {
      expect(tcpCongestion(client)).to.equal(host);
      for (const name of ['reno', 'cubic']) {
        expect(setTcpCongestion(client, name)).to.equal(null);
        expect(tcpCongestion(client)).to.equal(name);
      }
      expect(tcpCongestion(accepted), 'the other end keeps its own').to.equal(host);
      // Data still flows after the change on an established connection.
      client.write('after the change');
      const [chunk] = (await once(accepted, 'data')) as [Buffer];
      expect(chunk.toString()).to.equal('after the change');
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });

  it('an unknown algorithm is refused with the loaded ones named, and the socket keeps its own', async () => {
    const { server, client, accepted } = await tcpPair();
    try {
      expect(loadedCongestionControls()).to.include(host);
      const why = setTcpCongestion(client, 'no_such_cc');
      expect(why).to.equal(`the kernel has no congestion control algorithm "no_such_cc" (loaded: ${loadedCongestionControls().join(', ')})`);
      expect(tcpCongestion(client)).to.equal(host);
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });

  it('a closed socket: refused to set, null to read', async () => {
    const { server, client, accepted } = await tcpPair();
    client.destroy();
    accepted.destroy();
    server.close();
    await once(client, 'close');
    expect(setTcpCongestion(client, 'cubic')).to.equal('the socket is closed');
    expect(tcpCongestion(client)).to.equal(null);
  });

  it('the addon refuses what is not a TCP socket, and bad arguments, with an error (never a crash)', async () => {
    const native = loadAddon<Native>('tandem_tcp_congestion', 'the TCP congestion control addon');
    const fd = openSync('/proc/self/status', 'r');
    try {
      expect(() => native.get(fd)).to.throw(/getsockopt\(SO_TYPE\): Socket operation on non-socket/);
      expect(() => native.set(fd, 'cubic')).to.throw(/non-socket/);
    } finally {
      closeSync(fd);
    }
    const udp = await import('node:dgram').then((d) => d.createSocket('udp4'));
    await new Promise<void>((res) => udp.bind(0, '127.0.0.1', () => res()));
    try {
      const udpFd = (udp as unknown as { _handle: { fd: number } })._handle.fd;
      expect(() => native.get(udpFd)).to.throw(/not a TCP socket/).with.property('code', 'ENOPROTOOPT');
    } finally {
      udp.close();
    }
    const { server, client, accepted } = await tcpPair();
    const clientFd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    try {
      expect(() => native.get(-1)).to.throw(TypeError, /file descriptor/);
      expect(() => (native.get as (x: unknown) => string)('3')).to.throw(TypeError, /file descriptor/);
      expect(() => native.set(clientFd, '')).to.throw(TypeError, /1 to 15 characters/);
      expect(() => native.set(clientFd, 'a_name_too_long_x')).to.throw(TypeError, /1 to 15 characters/);
      expect(() => (native.set as (fd: number) => void)(clientFd)).to.throw(TypeError);
      expect(() => native.set(clientFd, 'no_such_cc')).to.throw(/No such file or directory/).with.property('code', 'ENOENT');
      expect(native.get(clientFd)).to.equal(host);
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });
});
