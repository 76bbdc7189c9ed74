// NbdServer against real clients (nbdinfo, nbdcopy, nbdsh, qemu-io, qemu-img)
// on loopback TCP and a Unix socket, plus a raw client for what they won't send.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BlockBackend } from '../../../../lib/replication/block/nbd/backend.js';
import { NBD_CMD_DISC, NBD_CMD_FLUSH, NBD_CMD_READ, NBD_CMD_TRIM, NBD_CMD_WRITE, NBD_CMD_WRITE_ZEROES } from '../../../../lib/replication/block/nbd/constants.js';
import { FileBackend } from '../../../../lib/replication/block/nbd/file-backend.js';
import { NbdServer } from '../../../../lib/replication/block/nbd/server.js';
import { waitFor } from '../../../helpers/env.js';
import { request } from '../../../fixtures/nbd/client-bytes.js';
import { RawClient } from '../../../fixtures/nbd/raw-client.js';
import { nbdshEnv, requireTools } from '../../../fixtures/nbd/tools.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
// Bounded waits: a hang fails with the step's name instead of the suite timeout.
async function within<T>(what: string, p: Promise<T>, ms = 8000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('NbdServer with real NBD clients', function () {
  this.timeout(60_000);
  let dir: string;
  let img: string;
  let backend: FileBackend;
  let server: NbdServer;
  let port: number;
  let sock: string;
  let uri: string;
  const logs: string[] = [];

  before(async function () {
    requireTools(this);
    dir = await mkdtemp(join(tmpdir(), 'tandem-nbd-'));
    img = join(dir, 'db.img');
    sock = join(dir, 'db.nbd');
    backend = await FileBackend.open({ path: img, size: SIZE });
    server = new NbdServer({ exportName: 'db', description: 'tandem test volume', backend, log: (m) => logs.push(m), handshakeTimeoutMs: 2000 });
    const a = await server.start({ tcp: { host: '127.0.0.1', port: 0 }, unix: sock });
    port = a.tcp?.port ?? 0;
    uri = `nbd://127.0.0.1:${port}/db`;
  });

  after(async () => {
    await server?.stop();
    await backend?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('creates the image sparse at the requested size', async () => {
    const st = await stat(img);
    expect(st.size).to.equal(SIZE);
    expect(st.blocks * 512).to.be.lessThan(SIZE / 4);
  });

  it('nbdinfo --json: size, name, flags, structured replies', async () => {
    const { stdout } = await run('nbdinfo', ['--json', uri]);
    const j = JSON.parse(stdout) as { protocol: string; structured: boolean; exports: Array<Record<string, unknown>> };
    expect(j.protocol).to.equal('newstyle-fixed');
    expect(j.structured).to.equal(true);
    expect(j.exports[0]).to.include({
      'export-name': 'db',
      'export-size': SIZE,
      is_read_only: false,
      can_flush: true,
      can_fua: true,
      can_trim: true,
      can_zero: true,
      can_multi_conn: true,
      can_df: false,
      block_size_minimum: 1,
      block_size_maximum: 32 * MiB,
    });
  });

  it('nbdinfo --list shows the export and its description', async () => {
    const { stdout } = await run('nbdinfo', ['--list', `nbd://127.0.0.1:${port}`]);
    expect(stdout).to.match(/export="db"/);
    expect(stdout).to.contain('tandem test volume');
  });

  it('qemu-io writes a pattern over TCP and reads it back over the Unix socket; the file holds it', async () => {
    const w = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0xab 1M 1M', '-c', 'read -P 0xab 1M 1M', uri]);
    expect(w.stdout).to.contain('wrote 1048576/1048576 bytes at offset 1048576');
    expect(w.stdout).to.contain('read 1048576/1048576');
    const r = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0xab 1M 1M', '-c', 'read -P 0x00 0 1M', `nbd+unix:///db?socket=${sock}`]);
    expect(r.stdout).not.to.contain('Pattern verification failed');
    expect(r.stdout.match(/read 1048576\/1048576/g)).to.have.length(2);
    const file = await readFile(img);
    expect(file.subarray(MiB, 2 * MiB).every((b) => b === 0xab)).to.equal(true);
  });

  it('qemu-io write -z (WRITE_ZEROES) and discard (TRIM) are answered', async () => {
    const r = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 4M 64k', '-c', 'write -z 4M 32k', '-c', 'read -P 0 4M 32k', '-c', 'read -P 0x11 4128k 32k', '-c', 'discard 8M 1M', uri]);
    expect(r.stdout).not.to.contain('failed');
    expect(r.stdout).to.contain('discard 1048576/1048576');
  });

  it('qemu-img info reports the virtual size', async () => {
    const { stdout } = await run('qemu-img', ['info', '--output=json', uri]);
    expect(JSON.parse(stdout)).to.include({ 'virtual-size': SIZE, format: 'raw' });
  });

  it('nbdcopy copies a random file in and out byte-identical', async () => {
    const src = randomBytes(SIZE);
    await writeFile(join(dir, 'src.bin'), src);
    await run('nbdcopy', [join(dir, 'src.bin'), uri]);
    await run('nbdcopy', [`nbd+unix:///db?socket=${sock}`, join(dir, 'out.bin')]);
    expect(sha(await readFile(join(dir, 'out.bin')))).to.equal(sha(src));
    expect(sha(await readFile(img))).to.equal(sha(src));
  });

  it('nbdsh: simple and structured replies both read the same data; a read past the end is EINVAL', async () => {
    const script = (structured: boolean) => `
import json, errno
h.set_request_structured_replies(${structured ? 'True' : 'False'})
h.set_strict_mode(0)
h.connect_uri("${uri}")
out = {"structured": h.get_structured_replies_negotiated(), "sha": __import__("hashlib").sha256(h.pread(65536, 1048576)).hexdigest()}
try:
    h.pread(4096, ${SIZE} - 512)
    out["past_end"] = "ok"
except nbd.Error as e:
    out["past_end"] = errno.errorcode.get(e.errnum, str(e.errnum))
try:
    h.pwrite(b"x" * 4096, ${SIZE} - 512)
    out["write_past_end"] = "ok"
except nbd.Error as e:
    out["write_past_end"] = errno.errorcode.get(e.errnum, str(e.errnum))
h.flush()
h.shutdown()
print(json.dumps(out))
`;
    const want = sha((await readFile(img)).subarray(MiB, MiB + 65536));
    for (const structured of [false, true]) {
      const { stdout } = await run('nbdsh', ['-c', script(structured)], { env: nbdshEnv() });
      expect(JSON.parse(stdout)).to.deep.equal({ structured, sha: want, past_end: 'EINVAL', write_past_end: 'ENOSPC' });
    }
  });

  it('raw client, simple replies: bounds and unknown commands get the spec errno, the connection lives on', async () => {
    const c = await RawClient.ready({ port });
    c.req(NBD_CMD_READ, { cookie: 1n, offset: BigInt(SIZE - 1), length: 2 });
    expect(await c.simpleReply()).to.deep.include({ error: 22, cookie: 1n });
    c.req(NBD_CMD_WRITE, { cookie: 2n, offset: BigInt(SIZE), payload: Buffer.alloc(512) });
    expect(await c.simpleReply()).to.deep.include({ error: 28, cookie: 2n });
    c.req(NBD_CMD_TRIM, { cookie: 3n, offset: BigInt(SIZE), length: 512 });
    expect(await c.simpleReply()).to.deep.include({ error: 22 });
    c.req(NBD_CMD_WRITE_ZEROES, { cookie: 4n, offset: BigInt(SIZE - 256), length: 512 });
    expect(await c.simpleReply()).to.deep.include({ error: 28 });
    c.req(42, { cookie: 5n });
    expect(await c.simpleReply()).to.deep.include({ error: 22, cookie: 5n });
    c.req(NBD_CMD_READ, { cookie: 6n, offset: 0n, length: 0 });
    expect(await c.simpleReply()).to.deep.include({ error: 22 });
    // pipelined: three requests before reading any reply; answered in order
    c.req(NBD_CMD_WRITE, { cookie: 7n, offset: 512n, payload: Buffer.alloc(512, 0x77), flags: 1 });
    c.req(NBD_CMD_READ, { cookie: 8n, offset: 512n, length: 512 });
    c.req(NBD_CMD_FLUSH, { cookie: 9n });
    expect((await c.simpleReply()).cookie).to.equal(7n);
    const r = await c.simpleReply(512);
    expect(r.cookie).to.equal(8n);
    expect(r.data.every((b) => b === 0x77)).to.equal(true);
    expect(await c.simpleReply()).to.deep.include({ error: 0, cookie: 9n });
    c.req(NBD_CMD_DISC, { cookie: 10n });
    await c.closed;
    expect(server.stats().errors.EINVAL).to.be.greaterThanOrEqual(4);
  });

  it('raw client, structured replies: READ errors come as NBD_REPLY_TYPE_ERROR with DONE and a message', async () => {
    const c = await RawClient.ready({ path: sock }, true);
    c.req(NBD_CMD_READ, { cookie: 1n, offset: BigInt(SIZE), length: 1 });
    const e = await c.chunk();
    expect(e).to.deep.include({ flags: 1, type: 0x8001, cookie: 1n });
    expect(e.payload.readUInt32BE(0)).to.equal(22);
    expect(e.payload.subarray(6).toString()).to.contain('beyond export size');
    c.req(NBD_CMD_READ, { cookie: 2n, offset: 512n, length: 512 });
    const d = await c.chunk();
    expect(d).to.deep.include({ flags: 1, type: 1, cookie: 2n });
    expect(d.payload.readBigUInt64BE(0)).to.equal(512n);
    expect(d.payload.length).to.equal(8 + 512);
    c.destroy();
  });

  it('a write on one connection is visible to a read on another (CAN_MULTI_CONN)', async () => {
    const a = await RawClient.ready({ port });
    const b = await RawClient.ready({ path: sock });
    a.req(NBD_CMD_WRITE, { cookie: 1n, offset: 8192n, payload: Buffer.alloc(4096, 0xc3) });
    await a.simpleReply();
    b.req(NBD_CMD_FLUSH, { cookie: 2n });
    await b.simpleReply();
    b.req(NBD_CMD_READ, { cookie: 3n, offset: 8192n, length: 4096 });
    expect((await b.simpleReply(4096)).data.every((x) => x === 0xc3)).to.equal(true);
    a.destroy();
    b.destroy();
  });

  it('garbage, bad magic, oversized writes and stalled handshakes close that connection only, counted and logged', async () => {
    const before = server.stats().protocolErrors;
    const g = await within('connect g', RawClient.connect({ port }));
    await within('greeting', g.read(18));
    g.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await within('close after garbage flags', g.closed);
    const m = await within('handshake m', RawClient.ready({ port }));
    m.send(Buffer.alloc(28, 0xee));
    await within('close after bad magic', m.closed);
    const o = await within('handshake o', RawClient.ready({ port }));
    o.req(NBD_CMD_WRITE, { length: 64 * MiB });
    await within('close after oversized write', o.closed);
    const s = await within('connect s', RawClient.connect({ port })); // says nothing: handshake timeout (2 s here)
    await within('handshake timeout', s.closed);
    for (let i = 0; i < 30; i++) {
      const f = await within('connect f', RawClient.connect({ port }));
      f.send(randomBytes(1 + (i * 37) % 300));
      f.destroy();
    }
    await waitFor('counters', async () => server.stats().protocolErrors >= before + 4, 5000);
    const st = server.stats();
    expect(st.closes['request-too-large']).to.be.greaterThanOrEqual(1);
    expect(st.closes['bad-request-magic']).to.be.greaterThanOrEqual(1);
    expect(st.closes['handshake-timeout']).to.be.greaterThanOrEqual(1);
    expect(logs.some((l) => l.includes('request-too-large'))).to.equal(true);
    const { stdout } = await run('nbdinfo', ['--size', uri], { timeout: 10_000 }); // still serving
    expect(stdout.trim()).to.equal(String(SIZE));
  });

  it('stop() drops clients and removes the Unix socket', async () => {
    const c = await RawClient.ready({ path: sock });
    await server.stop();
    await c.closed;
    expect(await stat(sock).catch(() => 'gone')).to.equal('gone');
    expect(server.stats().connections.active).to.equal(0);
  });
});

// A backend whose failures we choose.
class FailingBackend implements BlockBackend {
  readonly size = 4 * MiB;
  readonly readOnly: boolean;
  readonly flushCoversAllConnections = false;
  constructor(readOnly = false) {
    this.readOnly = readOnly;
  }
  read(): Promise<Buffer> {
    return Promise.reject(Object.assign(new Error('media error'), { code: 'EIO' }));
  }
  write(): Promise<void> {
    return Promise.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' }));
  }
  flush(): Promise<void> {
    return Promise.reject(Object.assign(new Error('quota'), { code: 'EDQUOT' }));
  }
  trim(): Promise<void> {
    return Promise.resolve();
  }
  writeZeroes(): Promise<void> {
    return Promise.reject(new Error('no code at all'));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('NbdServer backend errors and read-only exports', function () {
  this.timeout(30_000);

  it('maps ENOSPC, EIO, EDQUOT and unknown failures to NBD errno replies', async () => {
    const server = new NbdServer({ exportName: 'x', backend: new FailingBackend() });
    const { tcp } = await server.start({ tcp: { host: '127.0.0.1', port: 0 } });
    try {
      const c = await RawClient.ready({ port: tcp?.port ?? 0 });
      c.req(NBD_CMD_WRITE, { cookie: 1n, payload: Buffer.alloc(512) });
      expect((await c.simpleReply()).error).to.equal(28);
      c.req(NBD_CMD_READ, { cookie: 2n, length: 512 });
      expect((await c.simpleReply()).error).to.equal(5);
      c.req(NBD_CMD_FLUSH, { cookie: 3n });
      expect((await c.simpleReply()).error).to.equal(28);
      c.req(NBD_CMD_WRITE_ZEROES, { cookie: 4n, length: 512 });
      expect((await c.simpleReply()).error).to.equal(5);
      c.destroy();
      expect(server.stats().errors).to.deep.equal({ ENOSPC: 2, EIO: 2 });
      expect(server.stats().requests).to.deep.equal({ WRITE: 1, READ: 1, FLUSH: 1, WRITE_ZEROES: 1 });
    } finally {
      await server.stop();
    }
  });

  it('a read-only backend advertises READ_ONLY, no CAN_MULTI_CONN, and answers writes with EPERM', async function () {
    requireTools(this, ['nbdinfo']);
    const server = new NbdServer({ exportName: 'ro', backend: new FailingBackend(true) });
    const { tcp } = await server.start({ tcp: { host: '127.0.0.1', port: 0 } });
    try {
      const { stdout } = await run('nbdinfo', ['--json', `nbd://127.0.0.1:${tcp?.port}/ro`]);
      expect(JSON.parse(stdout).exports[0]).to.include({ is_read_only: true, can_multi_conn: false });
      const c = await RawClient.ready({ port: tcp?.port ?? 0 });
      c.req(NBD_CMD_WRITE, { cookie: 1n, payload: Buffer.alloc(512) });
      expect((await c.simpleReply()).error).to.equal(1);
      c.req(NBD_CMD_TRIM, { cookie: 2n, length: 512 });
      expect((await c.simpleReply()).error).to.equal(1);
      c.destroy();
    } finally {
      await server.stop();
    }
  });

  it('enforces an advertised minimum block size with EINVAL', async () => {
    const server = new NbdServer({ exportName: 'x', backend: new FailingBackend(), minBlockSize: 512 });
    const { tcp } = await server.start({ tcp: { host: '127.0.0.1', port: 0 } });
    try {
      const c = await RawClient.ready({ port: tcp?.port ?? 0 });
      c.req(NBD_CMD_READ, { cookie: 1n, offset: 100n, length: 512 });
      expect((await c.simpleReply()).error).to.equal(22);
      c.destroy();
    } finally {
      await server.stop();
    }
  });

  it('refuses a Unix socket path that a live server holds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-nbd-'));
    const path = join(dir, 's.nbd');
    const a = new NbdServer({ exportName: 'x', backend: new FailingBackend() });
    await a.start({ unix: path });
    const b = new NbdServer({ exportName: 'x', backend: new FailingBackend() });
    try {
      const err = await b.start({ unix: path }).catch((e: Error) => e);
      expect(String(err)).to.contain('in use');
    } finally {
      await a.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Records calls; writes take a while, so a reply sent too early would show.
class RecordingBackend implements BlockBackend {
  readonly size = 4 * MiB;
  readonly readOnly = false;
  readonly flushCoversAllConnections = true;
  readonly calls: string[] = [];
  private readonly mem = Buffer.alloc(4 * MiB);
  async read(offset: number, length: number): Promise<Buffer> {
    this.calls.push(`read ${offset} ${length}`);
    return Buffer.from(this.mem.subarray(offset, offset + length));
  }
  async write(offset: number, data: Buffer, fua: boolean): Promise<void> {
    this.calls.push(`write ${offset} ${data.length} fua=${fua}`);
    await new Promise((r) => setTimeout(r, 30));
    data.copy(this.mem, offset);
    this.calls.push(`write done ${offset}`);
  }
  async flush(): Promise<void> {
    this.calls.push('flush');
  }
  async trim(offset: number, length: number, fua: boolean): Promise<void> {
    this.calls.push(`trim ${offset} ${length} fua=${fua}`);
  }
  async writeZeroes(offset: number, length: number, fua: boolean): Promise<void> {
    this.calls.push(`zero ${offset} ${length} fua=${fua}`);
    this.mem.fill(0, offset, offset + length);
  }
  async close(): Promise<void> {}
}

// A backend that takes writes without a promise (as the replicated volume
// does): at 0 answered inside writeNow, at 4096 answered later, at 8192
// failed with ENOSPC; at 12288 and above refused, so write() gets them.
class WriteNowBackend extends RecordingBackend {
  writeNow(offset: number, _data: Buffer, _fua: boolean, done: (err: unknown) => void): boolean {
    if (offset >= 12288) return false;
    this.calls.push(`writeNow ${offset}`);
    if (offset === 8192) done(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    else if (offset === 4096) setTimeout(() => done(null), 20);
    else done(null);
    return true;
  }
}

describe('NbdServer ordering, durability hooks and shutdown', function () {
  this.timeout(30_000);

  it('keeps overlapping requests in arrival order, runs disjoint ones concurrently, passes FUA down, flushes after earlier writes', async () => {
    const be = new RecordingBackend();
    const server = new NbdServer({ exportName: 'x', backend: be });
    const { tcp } = await server.start({ tcp: { host: '127.0.0.1', port: 0 } });
    try {
      const c = await RawClient.ready({ port: tcp?.port ?? 0 }, true);
      c.send(
        Buffer.concat([
          request(NBD_CMD_WRITE, { cookie: 1n, offset: 0n, payload: Buffer.alloc(512, 1) }),
          request(NBD_CMD_WRITE, { cookie: 2n, offset: 256n, payload: Buffer.alloc(512, 2), flags: 1 }),
          request(NBD_CMD_FLUSH, { cookie: 3n }),
          request(NBD_CMD_WRITE_ZEROES, { cookie: 4n, offset: 1024n, length: 512, flags: 1 | 2 }),
          request(NBD_CMD_TRIM, { cookie: 5n, offset: 2048n, length: 512, flags: 1 }),
          request(NBD_CMD_READ, { cookie: 6n, offset: 0n, length: 768 }),
        ]),
      );
      const replies = new Map<bigint, number>();
      for (let i = 0; i < 5; i++) {
        const r = await c.simpleReply();
        replies.set(r.cookie, r.error);
      }
      expect([...replies.keys()].sort()).to.deep.equal([1n, 2n, 3n, 4n, 5n]);
      expect([...replies.values()].every((e) => e === 0)).to.equal(true);
      const d = await c.chunk();
      expect(d.cookie).to.equal(6n);
      expect([d.payload[8], d.payload[8 + 255], d.payload[8 + 256], d.payload[8 + 767]]).to.deep.equal([1, 1, 2, 2]);
      const at = (call: string) => be.calls.indexOf(call);
      expect(be.calls).to.include.members(['write 256 512 fua=true', 'zero 1024 512 fua=true', 'trim 2048 512 fua=true', 'flush', 'read 0 768']);
      expect(at('write 256 512 fua=true'), 'overlapping write waits').to.be.greaterThan(at('write done 0'));
      expect(at('flush'), 'flush after earlier writes').to.be.greaterThan(at('write done 256'));
      expect(at('read 0 768'), 'read waits for overlapping writes').to.be.greaterThan(at('write done 256'));
      expect(at('zero 1024 512 fua=true'), 'disjoint write runs concurrently').to.be.lessThan(at('write done 0'));
      c.destroy();
    } finally {
      await server.stop();
    }
  });

  it("answers writes a backend takes through writeNow by its callback, at once or later, errors as NBD errors; refused ones go to write()", async () => {
    const be = new WriteNowBackend();
    const server = new NbdServer({ exportName: 'x', backend: be });
    const { tcp } = await server.start({ tcp: { host: '127.0.0.1', port: 0 } });
    try {
      const c = await RawClient.ready({ port: tcp?.port ?? 0 });
      const offsets = [0, 4096, 8192, 12288];
      // 40 more answered inside writeNow, in one burst: completions while the session starts others.
      for (let i = 0; i < 40; i++) offsets.push(0);
      c.send(Buffer.concat(offsets.map((o, i) => request(NBD_CMD_WRITE, { cookie: BigInt(i), offset: BigInt(o), payload: Buffer.alloc(512, 7) }))));
      const replies = new Map<bigint, number>();
      for (let i = 0; i < offsets.length; i++) {
        const r = await within(`reply ${i}`, c.simpleReply());
        replies.set(r.cookie, r.error);
      }
      expect(replies.size).to.equal(offsets.length);
      expect([replies.get(0n), replies.get(1n), replies.get(2n), replies.get(3n)]).to.deep.equal([0, 0, 28, 0]); // ENOSPC is 28 on the wire
      for (let i = 4; i < offsets.length; i++) expect(replies.get(BigInt(i)), `cookie ${i}`).to.equal(0);
      expect(be.calls.filter((x) => x.startsWith('writeNow')).length).to.equal(offsets.length - 1);
      expect(be.calls).to.include('write 12288 512 fua=false');
      expect(be.calls.filter((x) => /^write \d/.test(x)), 'only the refused write went to write()').to.deep.equal(['write 12288 512 fua=false']);
      c.destroy();
    } finally {
      await server.stop();
    }
  });

  it('stop() finishes even when a client stopped reading its replies', async () => {
    const server = new NbdServer({ exportName: 'x', backend: new RecordingBackend() });
    const { tcp } = await server.start({ tcp: { host: '127.0.0.1', port: 0 } });
    const c = await RawClient.ready({ port: tcp?.port ?? 0 });
    c.socket.pause();
    for (let i = 0; i < 200; i++) c.req(NBD_CMD_READ, { cookie: BigInt(i), length: 1 * MiB });
    await waitFor('server to fill the socket', async () => (server.stats().requests.READ ?? 0) >= 10, 5000);
    const t0 = Date.now();
    await server.stop();
    expect(Date.now() - t0).to.be.lessThan(3000);
    expect(server.stats().connections.active).to.equal(0);
    c.destroy();
  });
});
