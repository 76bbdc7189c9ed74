import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request, type ClientRequest } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeClientLog } from '../../scripts/demo-app/client-log.js';
import { GroupCommit, requestFlush } from '../../scripts/demo-app/flush.js';
import { sleep, waitFor } from '../helpers/env.js';

const STORE = fileURLToPath(new URL('../../scripts/demo-app/store.js', import.meta.url));
const CLIENT = fileURLToPath(new URL('../../scripts/demo-app/client.js', import.meta.url));

interface Proc { child: ChildProcess; out: string[]; err: string[]; exited: Promise<number | null> }
interface Reply { status: number; headers: Record<string, string | string[] | undefined>; text: string }

// A stand-in for the daemon's control socket: answers replica.flush, counts the requests,
// and can delay, hold (until release()), fail, stay silent or answer raw text.
class FakeDaemon {
  readonly requests: unknown[] = [];
  readonly answeredAt: number[] = [];
  delayMs = 0;
  fail: string | null = null;
  silent = false;
  raw: string | null = null;
  holding = false;
  private held: Array<() => void> = [];
  private readonly socks = new Set<Socket>();
  private readonly server: Server;

  constructor(readonly path: string) {
    this.server = createServer((sock) => {
      this.socks.add(sock);
      sock.on('close', () => this.socks.delete(sock));
      sock.on('error', () => sock.destroy());
      let buf = '';
      sock.on('data', (c: Buffer) => {
        buf += c.toString();
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        this.requests.push(JSON.parse(buf.slice(0, nl)));
        buf = '';
        void this.answer(sock);
      });
    });
  }

  listen(): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, () => resolve(this));
    });
  }

  release(): void {
    for (const go of this.held.splice(0)) go();
  }

  private async answer(sock: Socket): Promise<void> {
    if (this.holding) await new Promise<void>((r) => this.held.push(r));
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.silent) return;
    this.answeredAt.push(Date.now());
    if (this.raw !== null) sock.end(this.raw);
    else sock.end(`${JSON.stringify(this.fail === null ? { ok: true, result: { name: 'data', role: 'Primary' } } : { ok: false, error: this.fail })}\n`);
  }

  close(): Promise<void> {
    this.release();
    for (const s of this.socks) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('scripts/demo-app', function () {
  this.timeout(30_000);
  const procs = new Set<Proc>();
  const dirs: string[] = [];
  const fakes: FakeDaemon[] = [];

  const run = (script: string, args: string[]): Proc => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c.toString()));
    child.stderr?.on('data', (c: Buffer) => err.push(c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const p = { child, out, err, exited };
    procs.add(p);
    void exited.then(() => procs.delete(p));
    return p;
  };
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'tdm-demo-app-'));
    dirs.push(d);
    return d;
  };
  const fakeDaemon = async (path: string): Promise<FakeDaemon> => {
    const f = await new FakeDaemon(path).listen();
    fakes.push(f);
    return f;
  };
  const startStore = async (dir: string, listen = '127.0.0.1:0', extra: string[] = []): Promise<{ proc: Proc; port: number }> => {
    const proc = run(STORE, ['--dir', dir, '--listen', listen, ...extra]);
    const port = await waitFor('the store listening', async () => {
      if (proc.child.exitCode !== null) throw new Error(`store exited: ${proc.err.join('')}`);
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(proc.out.join(''));
      return m ? Number(m[1]) : undefined;
    }, 10_000);
    return { proc, port };
  };
  const stop = async (p: Proc): Promise<number | null> => {
    p.child.kill('SIGTERM');
    return p.exited;
  };
  const http = (port: number, method: string, path: string, body?: Buffer | string): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });

  afterEach(async () => {
    for (const p of procs) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
    for (const f of fakes.splice(0)) await f.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  describe('store', () => {
    let dir: string;
    let port: number;
    let store: Proc;
    beforeEach(async () => {
      dir = await tempDir();
      ({ proc: store, port } = await startStore(dir));
    });

    it('stores a record durably before 201, serves it back, and lists it', async () => {
      const r = await http(port, 'POST', '/records/a-1.x_y', 'hello');
      expect(r.status).to.equal(201);
      expect(JSON.parse(r.text)).to.deep.equal({ id: 'a-1.x_y', bytes: 5 });
      expect(await readFile(join(dir, 'records', 'a-1.x_y'), 'utf8')).to.equal('hello');
      expect(await readdir(join(dir, 'records'))).to.deep.equal(['a-1.x_y']); // no temporary left
      const g = await http(port, 'GET', '/records/a-1.x_y');
      expect([g.status, g.text]).to.deep.equal([200, 'hello']);
      expect((await http(port, 'GET', '/records/nope')).status).to.equal(404);
      await http(port, 'POST', '/records/0', '');
      expect(JSON.parse((await http(port, 'GET', '/records?x=1')).text)).to.deep.equal({ ids: ['0', 'a-1.x_y'], count: 2 });
    });

    it('answers 200 to the same content again (a retry) and 409 to other content', async () => {
      expect((await http(port, 'POST', '/records/r1', 'v1')).status).to.equal(201);
      const again = await http(port, 'POST', '/records/r1', 'v1');
      expect([again.status, JSON.parse(again.text)]).to.deep.equal([200, { id: 'r1', bytes: 2 }]);
      const other = await http(port, 'POST', '/records/r1', 'v2');
      expect(other.status).to.equal(409);
      expect(await readFile(join(dir, 'records', 'r1'), 'utf8')).to.equal('v1');
    });

    it('concurrent POSTs of one id: one 201, the rest 200, one file', async () => {
      const rs = await Promise.all(Array.from({ length: 8 }, () => http(port, 'POST', '/records/same', 'body')));
      expect(rs.map((r) => r.status).sort()).to.deep.equal([200, 200, 200, 200, 200, 200, 200, 201]);
      expect(await readdir(join(dir, 'records'))).to.deep.equal(['same']);
    });

    it('refuses bad ids with 400 and says what is allowed', async () => {
      for (const id of ['bad%20id', 'a:b', 'x'.repeat(101), '..', '.', 'r.tmp', '']) {
        const r = await http(port, 'POST', `/records/${id}`, 'x');
        expect(r.status, id).to.equal(400);
        expect(JSON.parse(r.text).error, id).to.include('A-Z a-z 0-9 . _ -');
      }
      expect((await http(port, 'GET', '/records/a:b')).status).to.equal(400);
      expect(await readdir(join(dir, 'records'))).to.deep.equal([]);
    });

    it('takes 64 KiB, refuses 64 KiB + 1 with 413, and stays up', async () => {
      expect((await http(port, 'POST', '/records/big', Buffer.alloc(64 * 1024, 1))).status).to.equal(201);
      const r = await http(port, 'POST', '/records/bigger', Buffer.alloc(64 * 1024 + 1, 1));
      expect(r.status).to.equal(413);
      expect(existsSync(join(dir, 'records', 'bigger'))).to.equal(false);
      expect((await http(port, 'GET', '/health')).status).to.equal(200);
    });

    it('405 with Allow for a wrong method, 404 for other paths, garbage does not crash it', async () => {
      const del = await http(port, 'DELETE', '/records/a');
      expect([del.status, del.headers.allow]).to.deep.equal([405, 'GET, HEAD, POST']);
      const ph = await http(port, 'POST', '/health', 'x');
      expect([ph.status, ph.headers.allow]).to.deep.equal([405, 'GET, HEAD']);
      expect((await http(port, 'PUT', '/records')).headers.allow).to.equal('GET, HEAD');
      for (const p of ['/', '/foo', '/records/a/b', '/health/x', '//records', '/records/../health']) {
        expect((await http(port, 'GET', p)).status, p).to.equal(404);
      }
      await new Promise<void>((resolve) => {
        const s = connect(port, '127.0.0.1', () => s.end('NOT HTTP AT ALL\r\n\x00\xff\r\n\r\n'));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
      expect((await http(port, 'GET', '/health')).status).to.equal(200);
      expect(store.child.exitCode).to.equal(null);
    });

    it('health reports ok and the number of records', async () => {
      await http(port, 'POST', '/records/h1', '1');
      await http(port, 'POST', '/records/h2', '2');
      const h = await http(port, 'GET', '/health');
      expect([h.status, JSON.parse(h.text)]).to.deep.equal([200, { status: 'ok', records: 2 }]);
    });

    it('SIGTERM: exits 0 promptly with one stop line; a restart keeps the records', async () => {
      await http(port, 'POST', '/records/keep', 'k');
      const t0 = Date.now();
      expect(await stop(store)).to.equal(0);
      expect(Date.now() - t0).to.be.below(2000);
      const lines = store.out.join('').trim().split('\n');
      expect(lines).to.have.length(2);
      expect(lines[0]).to.match(/^store: started pid \d+, listening on 127\.0\.0\.1:\d+, dir .*, 0 records$/);
      expect(lines[1]).to.match(/^store: stopped on SIGTERM after \d+ requests$/);
      const again = await startStore(dir);
      expect(again.proc.out.join('')).to.include(', 1 records');
      expect((await http(again.port, 'GET', '/records/keep')).text).to.equal('k');
    });
    it('SIGTERM lets a request in flight finish (201, on disk) and cuts one stuck after 1 s', async () => {
      const rawPost = (id: string): { req: ClientRequest; reply: Promise<number> } => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/records/${id}`, agent: false, headers: { 'content-length': 4 } });
        const reply = new Promise<number>((resolve) => {
          req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
          req.on('error', () => resolve(-1));
        });
        req.flushHeaders();
        return { req, reply };
      };
      const slow = rawPost('slow');
      const stuck = rawPost('stuck');
      slow.req.write('ab');
      stuck.req.write('ab');
      await sleep(100);
      const t0 = Date.now();
      store.child.kill('SIGTERM');
      await sleep(100);
      slow.req.end('cd');
      expect(await slow.reply).to.equal(201);
      expect(await store.exited).to.equal(0);
      expect(Date.now() - t0).to.be.within(900, 2000);
      expect(await stuck.reply).to.equal(-1);
      expect(await readdir(join(dir, 'records'))).to.deep.equal(['slow']);
      expect(await readFile(join(dir, 'records', 'slow'), 'utf8')).to.equal('abcd');
    });

    it('413 also for a chunked body without a length; HEAD answers without a body', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/records/chunked', agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        for (let i = 0; i < 9; i++) req.write(Buffer.alloc(8192, 2));
        req.end();
      });
      expect(status).to.equal(413);
      expect(existsSync(join(dir, 'records', 'chunked'))).to.equal(false);
      await http(port, 'POST', '/records/h', 'abc');
      const h = await http(port, 'HEAD', '/records/h');
      expect([h.status, h.headers['content-length'], h.text]).to.deep.equal([200, '3', '']);
    });
  });

  describe('store start checks', () => {
    it('refuses a missing directory or a file, exit 1 with a clear message', async () => {
      const d = await tempDir();
      for (const [path, why] of [[join(d, 'missing'), 'no such directory'], [join(d, 'file'), 'no such directory']] as const) {
        await writeFile(join(d, 'file'), 'x');
        const p = run(STORE, ['--dir', path, '--listen', '127.0.0.1:0']);
        expect(await p.exited).to.equal(1);
        expect(p.err.join('')).to.include(`store: refusing to start: --dir ${path}: ${why}`);
      }
      const bad = run(STORE, ['--dir', d, '--listen', 'nope']);
      expect(await bad.exited).to.equal(1);
      expect(bad.err.join('')).to.include('--listen: HOST:PORT');
    });

    it('removes temporaries a crash left', async () => {
      const d = await tempDir();
      const first = await startStore(d);
      await stop(first.proc);
      await writeFile(join(d, 'records', 'w1.tmp'), 'half');
      await startStore(d);
      expect(await readdir(join(d, 'records'))).to.deep.equal([]);
    });
  });

  describe('store acknowledging after replica.flush', () => {
    let dir: string;
    let sockPath: string;
    const flushArgs = (more: string[] = []): string[] => ['--flush-socket', sockPath, '--flush-volume', 'data', ...more];
    const settled = <T>(p: Promise<T>): { done: () => boolean } => {
      let d = false;
      void p.finally(() => (d = true));
      return { done: () => d };
    };
    beforeEach(async () => {
      dir = await tempDir();
      sockPath = join(dir, 'control.sock');
    });

    it('answers 201 only once the flush answered, the record already on disk; reads and 409 do not flush', async () => {
      const fake = await fakeDaemon(sockPath);
      const { proc, port } = await startStore(dir, '127.0.0.1:0', flushArgs());
      expect(proc.out.join('')).to.include(`, acknowledging after replica.flush of data via ${sockPath} (timeout 10000 ms)`);
      fake.holding = true;
      const post = http(port, 'POST', '/records/r1', 'one');
      const p = settled(post);
      await waitFor('the flush request', async () => fake.requests.length === 1, 5000);
      expect(fake.requests[0]).to.deep.equal({ command: 'replica.flush', volume: 'data' });
      expect(await readFile(join(dir, 'records', 'r1'), 'utf8')).to.equal('one');
      await sleep(300);
      expect(p.done()).to.equal(false);
      fake.holding = false;
      fake.release();
      const r = await post;
      const answeredAt = Date.now();
      expect([r.status, JSON.parse(r.text)]).to.deep.equal([201, { id: 'r1', bytes: 3 }]);
      expect(fake.answeredAt[0]).to.be.at.most(answeredAt);
      expect((await http(port, 'GET', '/records/r1')).text).to.equal('one');
      expect((await http(port, 'GET', '/records')).status).to.equal(200);
      expect((await http(port, 'GET', '/health')).status).to.equal(200);
      expect((await http(port, 'POST', '/records/r1', 'other')).status).to.equal(409);
      expect(fake.requests).to.have.length(1);
    });

    it('a write finished while a flush is in flight waits for the next flush', async () => {
      const fake = await fakeDaemon(sockPath);
      const { port } = await startStore(dir, '127.0.0.1:0', flushArgs());
      fake.holding = true;
      const a = http(port, 'POST', '/records/a', 'A');
      await waitFor('the first flush', async () => fake.requests.length === 1, 5000);
      const b = http(port, 'POST', '/records/b', 'B');
      const pb = settled(b);
      await waitFor('b on disk', async () => existsSync(join(dir, 'records', 'b')), 5000);
      await sleep(100);
      expect(fake.requests).to.have.length(1); // b does not start a second flush while one is in flight
      fake.release(); // the first flush, sent before b was written, answers
      expect((await a).status).to.equal(201);
      await waitFor('the second flush', async () => fake.requests.length === 2, 5000);
      await sleep(100);
      expect(pb.done()).to.equal(false);
      fake.release();
      expect((await b).status).to.equal(201);
      expect(fake.requests).to.have.length(2);
    });

    it('a failing flush answers 503 naming why, the record stays; a retry gets 200 once a flush works', async () => {
      const fake = await fakeDaemon(sockPath);
      const { proc, port } = await startStore(dir, '127.0.0.1:0', flushArgs());
      fake.fail = 'data is Secondary: only the Primary sends changes';
      const r = await http(port, 'POST', '/records/f1', 'x');
      expect(r.status).to.equal(503);
      const err = JSON.parse(r.text).error as string;
      expect(err).to.include('record f1 is stored here but not confirmed replicated (volume data)');
      expect(err).to.include('the daemon refused replica.flush of data: data is Secondary: only the Primary sends changes');
      expect(await readFile(join(dir, 'records', 'f1'), 'utf8')).to.equal('x');
      expect((await http(port, 'POST', '/records/f1', 'x')).status).to.equal(503); // the retry flushes too
      expect(fake.requests).to.have.length(2);
      fake.fail = null;
      const again = await http(port, 'POST', '/records/f1', 'x');
      expect([again.status, JSON.parse(again.text)]).to.deep.equal([200, { id: 'f1', bytes: 1 }]);
      expect(fake.requests).to.have.length(3);
      expect((await http(port, 'POST', '/records/f2', 'y')).status).to.equal(201);
      const err2 = proc.err.join('');
      expect(err2.match(/replica\.flush failed/g)).to.have.length(1); // said once, not per request
      expect(err2).to.include('store: replica.flush of data works again');
    });

    it('an unreachable socket or a silent daemon: 503 naming why; 200 once the daemon answers', async () => {
      const { port } = await startStore(dir, '127.0.0.1:0', flushArgs(['--flush-timeout-ms', '300']));
      const r = await http(port, 'POST', '/records/u1', 'u');
      expect(r.status).to.equal(503);
      expect(JSON.parse(r.text).error).to.include(`cannot reach the daemon at ${sockPath}: ENOENT`);
      expect(existsSync(join(dir, 'records', 'u1'))).to.equal(true);

      const fake = await fakeDaemon(sockPath);
      expect((await http(port, 'POST', '/records/u1', 'u')).status).to.equal(200);
      fake.silent = true;
      const t0 = Date.now();
      const slow = await http(port, 'POST', '/records/u2', 'v');
      expect(Date.now() - t0).to.be.within(250, 2000);
      expect(slow.status).to.equal(503);
      expect(JSON.parse(slow.text).error).to.include(`the daemon at ${sockPath} did not answer replica.flush of data within 300 ms`);
      fake.silent = false;
      expect((await http(port, 'POST', '/records/u2', 'v')).status).to.equal(200);
    });

    it('group commit: 10 concurrent POSTs while a flush takes 200 ms cost at most 3 flushes', async () => {
      const fake = await fakeDaemon(sockPath);
      const { port } = await startStore(dir, '127.0.0.1:0', flushArgs());
      fake.delayMs = 200;
      const ids = Array.from({ length: 10 }, (_, i) => `g${i}`);
      const rs = await Promise.all(ids.map((id) => http(port, 'POST', `/records/${id}`, id)));
      expect(rs.map((r) => r.status)).to.deep.equal(ids.map(() => 201));
      expect(fake.requests.length).to.be.within(1, 3);
      expect((await readdir(join(dir, 'records'))).sort()).to.deep.equal(ids);
    });

    it('refuses half a flush option pair, a bad timeout, or a timeout alone (exit 1, says why)', async () => {
      const cases: Array<[string[], string]> = [
        [['--flush-socket', '/run/tandem.sock'], '--flush-socket and --flush-volume go together: give both or neither (got only --flush-socket)'],
        [['--flush-volume', 'data'], '--flush-socket and --flush-volume go together: give both or neither (got only --flush-volume)'],
        [['--flush-timeout-ms', '500'], '--flush-timeout-ms needs --flush-socket and --flush-volume'],
        [['--flush-socket', '/s', '--flush-volume', 'data', '--flush-timeout-ms', '0'], '--flush-timeout-ms: milliseconds from 1 to 3600000, not "0"'],
        [['--flush-socket', '/s', '--flush-volume', 'data', '--flush-timeout-ms', '1.5s'], '--flush-timeout-ms: milliseconds from 1 to 3600000, not "1.5s"'],
        [['--flush-socket', '', '--flush-volume', 'data'], '--flush-socket: the path'],
        [['--flush-socket', '/s', '--flush-volume', ''], '--flush-volume: the name'],
        [['--flush-sockets', '/s'], "Unknown option '--flush-sockets'"],
      ];
      for (const [args, why] of cases) {
        const p = run(STORE, ['--dir', dir, '--listen', '127.0.0.1:0', ...args]);
        expect(await p.exited, args.join(' ')).to.equal(1);
        expect(p.err.join(''), args.join(' ')).to.include(`store: refusing to start: ${why}`);
      }
    });
  });

  describe('flush.ts', () => {
    const deferred = (): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } => {
      let resolve = (): void => {};
      let reject = (_e: Error): void => {};
      const promise = new Promise<void>((ok, fail) => { resolve = ok; reject = fail; });
      return { promise, resolve, reject };
    };
    const state = (p: Promise<void>): { get: () => string } => {
      let s = 'pending';
      p.then(() => (s = 'ok'), (e: Error) => (s = `failed: ${e.message}`));
      return { get: () => s };
    };
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

    it('GroupCommit: one flush in flight; callers meanwhile share the next; a failure reaches only its batch', async () => {
      const sends: Array<ReturnType<typeof deferred>> = [];
      const gc = new GroupCommit(() => {
        const d = deferred();
        sends.push(d);
        return d.promise;
      });
      const a = state(gc.flush());
      expect(sends).to.have.length(1);
      const b = state(gc.flush());
      const c = state(gc.flush());
      await tick();
      expect(sends).to.have.length(1);
      sends[0]!.resolve();
      await tick();
      expect([a.get(), b.get(), c.get()]).to.deep.equal(['ok', 'pending', 'pending']);
      expect(sends).to.have.length(2); // b and c share the next flush
      const d = state(gc.flush());
      sends[1]!.reject(new Error('peer gone'));
      await tick();
      expect([b.get(), c.get(), d.get()]).to.deep.equal(['failed: peer gone', 'failed: peer gone', 'pending']);
      expect(sends).to.have.length(3);
      sends[2]!.resolve();
      await tick();
      expect(d.get()).to.equal('ok');
      expect(gc.flushes).to.equal(3);
      // Idle again: the next caller sends at once; a send that throws fails only its caller.
      const boom = new GroupCommit(() => { throw new Error('sync throw'); });
      const e = state(boom.flush());
      await tick();
      expect(e.get()).to.equal('failed: sync throw');
    });

    it('requestFlush: ok, refused, not JSON, closed without an answer, unreachable', async () => {
      const dir = await tempDir();
      const path = join(dir, 'c.sock');
      await requestFlush(path, 'v', 1000).then(() => expect.fail('resolved'), (e: Error) => expect(e.message).to.equal(`cannot reach the daemon at ${path}: ENOENT (no daemon listening there)`));
      const fake = await fakeDaemon(path);
      await requestFlush(path, 'v', 1000);
      expect(fake.requests).to.deep.equal([{ command: 'replica.flush', volume: 'v' }]);
      fake.fail = 'no volume "v" here';
      await requestFlush(path, 'v', 1000).then(() => expect.fail('resolved'), (e: Error) => expect(e.message).to.equal('the daemon refused replica.flush of v: no volume "v" here'));
      fake.raw = 'garbage\n';
      await requestFlush(path, 'v', 1000).then(() => expect.fail('resolved'), (e: Error) => expect(e.message).to.include('answered something that is not JSON: garbage'));
      fake.raw = '';
      await requestFlush(path, 'v', 1000).then(() => expect.fail('resolved'), (e: Error) => expect(e.message).to.include('closed the connection without answering'));
      fake.raw = '{"ok":true}'; // no newline, then close: still an answer
      await requestFlush(path, 'v', 1000);
    });
  });

  describe('client against the store, with an outage', () => {
    it('logs every attempt, retries across a store restart, and every acked id is on disk', async () => {
      const dir = await tempDir();
      const log = join(dir, 'client.log');
      const first = await startStore(dir);
      const client = run(CLIENT, ['--url', `http://127.0.0.1:${first.port}/`, '--log', log, '--interval-ms', '20', '--timeout-ms', '500']);
      const acked = async (): Promise<number> => analyzeClientLog(await readFile(log, 'utf8').catch(() => '')).acked.length;
      await waitFor('10 acked writes', async () => (await acked()) >= 10, 10_000);
      await sleep(500);
      expect(await stop(first.proc)).to.equal(0);
      const down = Date.now();
      await sleep(800);
      const before = await acked();
      const restarting = Date.now(); // the store may answer before startStore() sees its start line
      const second = await startStore(dir, `127.0.0.1:${first.port}`);
      await waitFor('10 more acked writes', async () => (await acked()) >= before + 10, 10_000);
      expect(await stop(client)).to.equal(0);
      await stop(second.proc);

      const text = await readFile(log, 'utf8');
      expect(text.endsWith('\n')).to.equal(true);
      const s = analyzeClientLog(text);
      expect(s.malformed).to.equal(0);
      expect(s.failures).to.be.at.least(1);
      expect(s.attempts).to.equal(s.acked.length + s.failures);
      expect(s.openOutage).to.equal(null);
      expect(s.outages).to.have.length(1);
      const o = s.outages[0]!;
      expect(o.ms).to.equal(o.to_ms - o.from_ms);
      expect(o.from_ms).to.be.at.most(down);
      expect(o.to_ms).to.be.at.least(restarting);
      expect(o.ms).to.be.at.least(800);
      expect(s.firstFailureAt).to.be.within(o.from_ms, o.to_ms);
      expect(s.lastFailureAt).to.be.within(s.firstFailureAt!, o.to_ms);
      // Ids are consecutive from w000001, and every acked one is whole on disk.
      expect(s.acked).to.deep.equal(s.acked.map((_, i) => `w${String(i + 1).padStart(6, '0')}`));
      const files = new Set(await readdir(join(dir, 'records')));
      for (const id of s.acked) {
        expect(files.has(id), id).to.equal(true);
        expect(await readFile(join(dir, 'records', id), 'utf8')).to.match(new RegExp(`^${id} \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n$`));
      }
      expect(client.err.join('')).to.match(/client: stopped after \d+ attempts, \d+ acked, \d+ failed/);
    });

    it('stops by itself after --duration-s, exit 0', async () => {
      const dir = await tempDir();
      const { port } = await startStore(dir);
      const t0 = Date.now();
      const client = run(CLIENT, ['--url', `http://127.0.0.1:${port}`, '--log', join(dir, 'c.log'), '--duration-s', '0.5']);
      expect(await client.exited).to.equal(0);
      expect(Date.now() - t0).to.be.below(5000);
      expect(analyzeClientLog(await readFile(join(dir, 'c.log'), 'utf8')).acked.length).to.be.at.least(1);
    });

    it('a 409 (records of another run) ends the client with exit 1 and says why', async () => {
      const dir = await tempDir();
      const { port } = await startStore(dir);
      await http(port, 'POST', '/records/w000001', 'another run');
      const client = run(CLIENT, ['--url', `http://127.0.0.1:${port}`, '--log', join(dir, 'c.log')]);
      expect(await client.exited).to.equal(1);
      expect(client.err.join('')).to.include('w000001: HTTP 409');
    });
  });

  describe('client log analysis (pure)', () => {
    const line = (id: string, ok: boolean, t: number, extra: object = {}): string =>
      JSON.stringify({ id, ok, ...(ok ? { status: 201 } : {}), ...extra, t_ms: t, latency_ms: 5 });

    it('an empty log: nothing acked, no outage', () => {
      expect(analyzeClientLog('')).to.deep.equal({
        acked: [], attempts: 0, failures: 0, malformed: 0, firstFailureAt: null, lastFailureAt: null, outages: [], openOutage: null,
      });
    });

    it('outages run from the last success before a failure to the next success; retries count once', () => {
      const text = [
        line('w1', true, 1000),
        line('w2', true, 1050),
        line('w3', false, 1100, { error: 'connect ECONNREFUSED' }),
        line('w3', false, 1200, { status: 503, error: 'storage error' }),
        line('w3', true, 1600, { status: 200 }),
        line('w4', true, 1650),
        line('w5', false, 2000, { error: 'timeout after 1000 ms' }),
        line('w5', true, 2300),
        line('w5', true, 2350, { status: 200 }),
      ].join('\n');
      const s = analyzeClientLog(`${text}\n`);
      expect(s.acked).to.deep.equal(['w1', 'w2', 'w3', 'w4', 'w5']);
      expect([s.attempts, s.failures, s.malformed]).to.deep.equal([9, 3, 0]);
      expect([s.firstFailureAt, s.lastFailureAt]).to.deep.equal([1100, 2000]);
      expect(s.outages).to.deep.equal([
        { from_ms: 1050, to_ms: 1600, ms: 550 },
        { from_ms: 1650, to_ms: 2300, ms: 650 },
      ]);
      expect(s.openOutage).to.equal(null);
    });

    it('failing from the start: the outage begins when the first attempt was sent', () => {
      const s = analyzeClientLog([line('w1', false, 100), line('w1', true, 400)].join('\n'));
      expect(s.outages).to.deep.equal([{ from_ms: 95, to_ms: 400, ms: 305 }]);
    });

    it('a log that ends failing has an open outage and no closed one', () => {
      const s = analyzeClientLog([line('w1', true, 10), line('w2', false, 20), line('w2', false, 30)].join('\n'));
      expect(s.outages).to.deep.equal([]);
      expect(s.openOutage).to.deep.equal({ from_ms: 10, last_failure_ms: 30 });
    });

    it('malformed lines are counted and skipped, never thrown', () => {
      const text = [
        line('w1', true, 10),
        '{"id":"w2","ok":tru', // cut by a crash
        'not json',
        '42',
        'null',
        '[]',
        JSON.stringify({ id: 'w2', ok: 'yes', t_ms: 1, latency_ms: 1 }),
        JSON.stringify({ id: 'w2', ok: true, t_ms: 'soon', latency_ms: 1 }),
        JSON.stringify({ id: 2, ok: true, t_ms: 1, latency_ms: 1 }),
        JSON.stringify({ id: 'w2', ok: true, status: '201', t_ms: 1, latency_ms: 1 }),
        '',
        '   ',
        line('w2', true, 20),
        '{"id":"w3","ok":false,"t_ms":30,"latency',
      ].join('\n');
      const s = analyzeClientLog(text);
      expect(s.malformed).to.equal(10);
      expect(s.acked).to.deep.equal(['w1', 'w2']);
      expect([s.attempts, s.failures]).to.deep.equal([2, 0]);
    });
  });
});
