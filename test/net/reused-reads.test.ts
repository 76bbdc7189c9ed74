import { expect } from 'chai';
import { createServer, connect, Socket, type Server } from 'node:net';
import { TLSSocket } from 'node:tls';
import { readReused } from '../../lib/net/reused-reads.js';

function listen(onSocket: (s: Socket) => void): Promise<Server> {
  const srv = createServer(onSocket);
  return new Promise((res) => srv.listen(0, '127.0.0.1', () => res(srv)));
}

describe('readReused', () => {
  it('reads an accepted socket into one reused buffer: every byte in order, with pause / resume, end and close', async () => {
    const src = Buffer.from(Array.from({ length: 4 << 20 }, (_, i) => (i * 31 + (i >> 12)) & 0xff));
    const got: Buffer[] = [];
    const seen = new Set<ArrayBuffer>();
    let mode = '';
    const closed = new Promise<void>((done) => {
      void listen((s) => {
        let paused = 0;
        mode = readReused(s, (chunk) => {
          seen.add(chunk.buffer as ArrayBuffer);
          got.push(Buffer.from(chunk)); // the view is overwritten at the next read
          if (paused++ % 7 === 0) {
            s.pause();
            setTimeout(() => s.resume(), 2);
          }
        }, 16 * 1024);
        s.on('end', () => s.end());
        s.on('close', () => done());
      }).then((srv) => {
        const { port } = srv.address() as { port: number };
        const c = connect(port, '127.0.0.1', () => c.end(src));
        c.resume();
        void closed.then(() => srv.close());
      });
    });
    await closed;
    expect(mode).to.equal('reused');
    expect(Buffer.concat(got).equals(src)).to.equal(true);
    expect(seen.size).to.equal(1); // one buffer for every read
  });

  it('falls back to data events on a TLS socket', () => {
    const t = new TLSSocket(new Socket());
    expect(readReused(t, () => undefined)).to.equal('data-events');
    t.destroy();
  });
});
