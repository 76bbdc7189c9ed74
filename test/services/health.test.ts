// Health probes against real things on loopback: an HTTP server that answers
// 200 / 503 / 302 / a large body / never / by closing the socket, a listening
// and a closed TCP port, and real commands (exit status, output in the reason,
// kill on timeout, abort). Bounds are generous: behaviour, not speed.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probe, type HealthResult } from '../../lib/services/health.js';

const SLACK_MS = 3000; // a 300 ms timeout must settle well within this

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

// A zombie counts as gone: it is dead and only waits for init to reap it,
// which an orphaned grandchild's may take a while to do.
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function pgrep(pattern: string): boolean {
  try {
    execFileSync('pgrep', ['-f', pattern], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Timers, sockets and children the process holds; a probe must leave none behind.
// The baseline is taken after one timer has run, as Node then lists one more
// 'Timeout' for the rest of the test whatever the probe does.
async function baseline(): Promise<Record<string, number>> {
  await new Promise((r) => setTimeout(r, 10));
  return resources();
}

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

async function expectNoLeftovers(before: Record<string, number>): Promise<void> {
  const kinds = ['Timeout', 'TCPSocketWrap', 'ProcessWrap', 'PipeWrap'];
  const clean = (): boolean => kinds.every((k) => (resources()[k] ?? 0) <= (before[k] ?? 0));
  const ok = await waitFor(clean, 1000);
  expect(ok, `leftovers: ${JSON.stringify(resources())} vs ${JSON.stringify(before)}`).to.equal(true);
}

async function timed(run: Promise<HealthResult>): Promise<HealthResult & { took: number }> {
  const t0 = Date.now();
  const r = await run;
  return { ...r, took: Date.now() - t0 };
}

function reasonOf(r: HealthResult): string {
  return r.healthy ? '' : r.reason;
}

describe('services/health probes', function () {
  this.timeout(20_000);

  describe('http', () => {
    let server: http.Server;
    let port: number;
    let base: string;

    before(async () => {
      server = http.createServer((req, res) => {
        switch (req.url) {
          case '/ok':
            res.end('fine');
            return;
          case '/down':
            res.writeHead(503).end('not yet');
            return;
          case '/moved':
            res.writeHead(302, { location: '/ok' }).end();
            return;
          case '/big':
            res.writeHead(200);
            res.end(Buffer.alloc(1024 * 1024, 'x')); // far over the 64 KiB the probe reads
            return;
          case '/slow':
            return; // never answers
          case '/hangup':
            req.socket.destroy();
            return;
          default:
            res.writeHead(404).end();
        }
      });
      port = await listen(server);
      base = `http://127.0.0.1:${port}`;
    });

    after(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    const connections = (): Promise<number> => new Promise((r) => server.getConnections((_e, n) => r(n)));

    it('a 200 answer is healthy, and the connection is closed afterwards', async () => {
      const before = await baseline();
      const r = await probe({ kind: 'http', url: `${base}/ok`, timeoutMs: 2000 });
      expect(r.healthy).to.equal(true);
      expect(r.ms).to.be.a('number').and.at.least(0);
      expect(await waitFor(async () => (await connections()) === 0)).to.equal(true);
      await expectNoLeftovers(before);
    });

    it('a 3xx answer is healthy (not followed)', async () => {
      expect((await probe({ kind: 'http', url: `${base}/moved`, timeoutMs: 2000 })).healthy).to.equal(true);
    });

    it('a large body is not read to the end, and the verdict stands', async () => {
      const before = await baseline();
      const r = await probe({ kind: 'http', url: `${base}/big`, timeoutMs: 2000 });
      expect(r.healthy).to.equal(true);
      expect(await waitFor(async () => (await connections()) === 0)).to.equal(true);
      await expectNoLeftovers(before);
    });

    it('a 503 answer is unhealthy, with the status in the reason', async () => {
      const r = await probe({ kind: 'http', url: `${base}/down`, timeoutMs: 2000 });
      expect(r).to.deep.include({ healthy: false, reason: `GET ${base}/down answered 503 Service Unavailable` });
    });

    it('no answer within the timeout is unhealthy, and the connection is dropped', async () => {
      const before = await baseline();
      const r = await timed(probe({ kind: 'http', url: `${base}/slow`, timeoutMs: 300 }));
      expect(r).to.deep.include({ healthy: false, reason: `GET ${base}/slow timed out after 300 ms` });
      expect(r.took).to.be.below(SLACK_MS);
      expect(await waitFor(async () => (await connections()) === 0)).to.equal(true);
      await expectNoLeftovers(before);
    });

    it('a server that closes the socket is unhealthy', async () => {
      const r = await probe({ kind: 'http', url: `${base}/hangup`, timeoutMs: 2000 });
      expect(reasonOf(r)).to.match(new RegExp(`^GET ${base}/hangup failed: socket hang up \\(ECONNRESET\\)$`));
    });

    it('a closed port is refused', async () => {
      const p = await closedPort();
      const r = await probe({ kind: 'http', url: `http://127.0.0.1:${p}/health`, timeoutMs: 2000 });
      expect(reasonOf(r)).to.equal(`GET http://127.0.0.1:${p}/health refused (ECONNREFUSED)`);
    });

    it('an invalid URL is a failed check, not a throw', async () => {
      expect(reasonOf(await probe({ kind: 'http', url: 'not a url', timeoutMs: 100 }))).to.match(/^GET not a url: invalid URL/);
      expect(reasonOf(await probe({ kind: 'http', url: 'ftp://127.0.0.1/', timeoutMs: 100 }))).to.match(/unsupported scheme ftp:/);
    });

    it('abort in the middle resolves "aborted" promptly and drops the connection', async () => {
      const before = await baseline();
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const r = await timed(probe({ kind: 'http', url: `${base}/slow`, timeoutMs: 10_000 }, ac.signal));
      expect(r).to.deep.include({ healthy: false, reason: 'aborted' });
      expect(r.took).to.be.below(SLACK_MS);
      expect(await waitFor(async () => (await connections()) === 0)).to.equal(true);
      await expectNoLeftovers(before);
    });

    it('an already aborted signal resolves "aborted" without connecting', async () => {
      const r = await probe({ kind: 'http', url: `${base}/ok`, timeoutMs: 1000 }, AbortSignal.abort());
      expect(reasonOf(r)).to.equal('aborted');
    });
  });

  describe('tcp', () => {
    let server: net.Server;
    let port: number;
    let accepted = 0;

    before(async () => {
      server = net.createServer((s) => {
        accepted++;
        s.on('error', () => {});
      });
      port = await listen(server);
    });

    after(async () => {
      await new Promise((r) => server.close(r));
    });

    const connections = (): Promise<number> => new Promise((r) => server.getConnections((_e, n) => r(n)));

    it('a listening port is healthy, and the connection is closed', async () => {
      const before = await baseline();
      const n = accepted;
      const r = await probe({ kind: 'tcp', host: '127.0.0.1', port, timeoutMs: 2000 });
      expect(r.healthy).to.equal(true);
      expect(await waitFor(() => accepted === n + 1)).to.equal(true);
      expect(await waitFor(async () => (await connections()) === 0)).to.equal(true);
      await expectNoLeftovers(before);
    });

    it('a closed port is refused', async () => {
      const before = await baseline();
      const p = await closedPort();
      const r = await probe({ kind: 'tcp', host: '127.0.0.1', port: p, timeoutMs: 2000 });
      expect(r).to.deep.include({ healthy: false, reason: `connect 127.0.0.1:${p} refused (ECONNREFUSED)` });
      await expectNoLeftovers(before);
    });

    it('an IPv6 address is shown in brackets', async () => {
      const p = await closedPort();
      const r = await probe({ kind: 'tcp', host: '::1', port: p, timeoutMs: 2000 });
      expect(reasonOf(r)).to.match(new RegExp(`^connect \\[::1\\]:${p} `));
    });

    it('a bad port is a failed check, not a throw', async () => {
      const r = await probe({ kind: 'tcp', host: '127.0.0.1', port: 70000, timeoutMs: 500 });
      expect(reasonOf(r)).to.match(/^connect 127\.0\.0\.1:70000 failed: /);
    });

    it('abort in the middle resolves "aborted"', async () => {
      const before = await baseline();
      const ac = new AbortController();
      const run = timed(probe({ kind: 'tcp', host: '127.0.0.1', port, timeoutMs: 10_000 }, ac.signal));
      ac.abort(); // the connect has started but cannot have completed yet
      const r = await run;
      expect(r).to.deep.include({ healthy: false, reason: 'aborted' });
      expect(r.took).to.be.below(SLACK_MS);
      await expectNoLeftovers(before);
      expect((await probe({ kind: 'tcp', host: '127.0.0.1', port, timeoutMs: 1000 }, AbortSignal.abort())).healthy).to.equal(false);
    });
  });

  describe('exec', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'tandem-health-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    // A unique sleep length marks a process so pgrep can look for it afterwards.
    let serial = 0;
    const marker = (): string => `${30 + (serial++ % 10)}.${process.pid}${Date.now() % 100000}`;

    it('exit status 0 is healthy', async () => {
      const before = await baseline();
      expect((await probe({ kind: 'exec', argv: ['true'], timeoutMs: 2000 })).healthy).to.equal(true);
      await expectNoLeftovers(before);
    });

    it('a non-zero status is unhealthy', async () => {
      expect(await probe({ kind: 'exec', argv: ['false'], timeoutMs: 2000 })).to.deep.include({
        healthy: false,
        reason: 'false exited with status 1',
      });
    });

    it('the first line of stderr (else stdout) explains the failure', async () => {
      const r = await probe({ kind: 'exec', argv: ['sh', '-c', 'echo boom >&2; echo more >&2; exit 3'], timeoutMs: 2000 });
      expect(reasonOf(r)).to.equal('sh exited with status 3: boom');
      const o = await probe({ kind: 'exec', argv: ['sh', '-c', 'echo; echo only stdout; exit 4'], timeoutMs: 2000 });
      expect(reasonOf(o)).to.equal('sh exited with status 4: only stdout');
    });

    it('a check with a lot of output is neither blocked nor failed by it', async () => {
      const r = await probe({ kind: 'exec', argv: ['sh', '-c', 'head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2'], timeoutMs: 5000 });
      expect(r.healthy).to.equal(true);
    });

    it('a missing command could not start', async () => {
      const r = await probe({ kind: 'exec', argv: ['/nonexistent/check'], timeoutMs: 2000 });
      expect(reasonOf(r)).to.equal('/nonexistent/check could not start (ENOENT)');
      expect(reasonOf(await probe({ kind: 'exec', argv: [], timeoutMs: 2000 }))).to.equal('exec probe has an empty command');
    });

    it('a check killed by a signal says so', async () => {
      const r = await probe({ kind: 'exec', argv: ['sh', '-c', 'kill -SEGV $$'], timeoutMs: 2000 });
      expect(reasonOf(r)).to.equal('sh killed by SIGSEGV');
    });

    it('sleep 5 with a 300 ms timeout is killed, and no process remains', async () => {
      const before = await baseline();
      const secs = marker();
      const r = await timed(probe({ kind: 'exec', argv: ['sleep', secs], timeoutMs: 300 }));
      expect(r).to.deep.include({ healthy: false, reason: 'sleep killed after 300 ms timeout' });
      expect(r.took).to.be.below(SLACK_MS);
      expect(pgrep(`sleep ${secs}`)).to.equal(false);
      await expectNoLeftovers(before);
    });

    it('a check that ignores SIGTERM is SIGKILLed after the grace, with its children', async () => {
      const pidfile = join(dir, 'stubborn');
      const script = `trap '' TERM; sleep ${marker()} & echo $! > ${pidfile}; wait`;
      const r = await timed(probe({ kind: 'exec', argv: ['sh', '-c', script], timeoutMs: 300 }));
      expect(reasonOf(r)).to.equal('sh killed after 300 ms timeout');
      expect(r.took).to.be.at.least(1000).and.below(1000 + SLACK_MS); // SIGKILL comes after the 1 s grace
      const pid = Number(readFileSync(pidfile, 'utf8'));
      expect(await waitFor(() => !alive(pid))).to.equal(true);
    });

    it('a grandchild left behind by a successful check does not outlive it', async () => {
      const pidfile = join(dir, 'orphan');
      const r = await timed(probe({ kind: 'exec', argv: ['sh', '-c', `sleep ${marker()} & echo $! > ${pidfile}; exit 0`], timeoutMs: 5000 }));
      expect(r.healthy).to.equal(true);
      expect(r.took).to.be.below(SLACK_MS); // not held until the grandchild's output pipe closes
      const pid = Number(readFileSync(pidfile, 'utf8'));
      expect(await waitFor(() => !alive(pid))).to.equal(true);
    });

    it('abort in the middle resolves "aborted" promptly and the command is gone', async () => {
      const before = await baseline();
      const secs = marker();
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const r = await timed(probe({ kind: 'exec', argv: ['sleep', secs], timeoutMs: 10_000 }, ac.signal));
      expect(r).to.deep.include({ healthy: false, reason: 'aborted' });
      expect(r.took).to.be.below(SLACK_MS);
      expect(pgrep(`sleep ${secs}`)).to.equal(false);
      await expectNoLeftovers(before);
      expect(reasonOf(await probe({ kind: 'exec', argv: ['true'], timeoutMs: 1000 }, AbortSignal.abort()))).to.equal('aborted');
    });
  });
});
