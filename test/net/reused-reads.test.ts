import { expect } from 'chai';
import { createServer, connect, Socket, type Server } from 'node:net';
import { TLSSocket } from 'node:tls';
import { readReused } from '../../lib/net/reused-reads.js';

function listen(onSocket: (s: Socket) => void): Promise<Server> {
  const srv = createServer(onSocket);
  return new Promise((res) => srv.listen(0, '127.0.0.1', () => res(srv)));
}

// Sends src from a client; `serve` sets up the accepted socket's reading. Resolves once the server side closed.
async function sendThrough(src: Buffer, serve: (s: Socket) => void): Promise<void> {
  const closed = new Promise<void>((done) => {
    void listen((s) => {
      serve(s);
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
}

describe('readReused', () => {
  it('reads an accepted socket into one reused buffer: every byte in order, with pause / resume, end and close', async () => {
    const src = Buffer.from(Array.from({ length: 4 << 20 }, (_, i) => (i * 31 + (i >> 12)) & 0xff));
    const got: Buffer[] = [];
    const seen = new Set<ArrayBuffer>();
    let mode = '';
    await sendThrough(src, (s) => {
      let paused = 0;
      mode = readReused(s, (chunk) => {
        seen.add(chunk.buffer as ArrayBuffer);
        got.push(Buffer.from(chunk)); // the view is overwritten at the next read
        if (paused++ % 7 === 0) {
          s.pause();
          setTimeout(() => s.resume(), 2);
        }
      }, { size: 16 * 1024 });
    });
    expect(mode).to.equal('reused');
    expect(Buffer.concat(got).equals(src)).to.equal(true);
    expect(seen.size).to.equal(1); // one buffer for every read
  });

  it('reads in place where target() says, and into the reused buffer otherwise', async () => {
    const src = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + (i >> 10)) & 0xff));
    const dest = Buffer.alloc(src.length / 2); // half of the stream goes here, in place (the first read cannot)
    let placed = 0; // bytes read into dest
    const got: Buffer[] = [];
    const inPlace: Buffer[] = [];
    let inPlaceReads = 0;
    let copiedReads = 0;
    await sendThrough(src, (s) => {
      readReused(s, (chunk) => {
        if (chunk.buffer === dest.buffer) {
          expect(chunk.byteOffset).to.equal(dest.byteOffset + placed); // exactly where target() pointed
          placed += chunk.length;
          inPlaceReads++;
          inPlace.push(Buffer.from(chunk));
        } else {
          copiedReads++;
        }
        got.push(Buffer.from(chunk)); // stream order
      }, {
        size: 16 * 1024,
        target: () => (placed < dest.length ? dest.subarray(placed) : null),
      });
    });
    expect(placed).to.equal(src.length / 2);
    expect(Buffer.concat(got).equals(src)).to.equal(true);
    expect(dest.subarray(0, placed).equals(Buffer.concat(inPlace))).to.equal(true); // the bytes stayed where they were read
    expect(inPlaceReads).to.be.greaterThan(0);
    expect(copiedReads).to.be.greaterThan(0);
  });

  it('falls back to data events on a TLS socket', () => {
    const t = new TLSSocket(new Socket());
    expect(readReused(t, () => undefined)).to.equal('data-events');
    t.destroy();
  });
});
