// The demo's load client: POSTs records w000001, w000002, ... to the store
// behind the VIP one at a time and logs every outcome as a JSON line, so the
// demo can measure the outage of a failover and check no acked write was lost.
//   node dist/scripts/demo-app/client.js --url http://VIP:PORT --log FILE
//        [--interval-ms 50] [--duration-s N] [--timeout-ms 1000]
// A failed id is retried (same body) until it is acked: 201 or, after a lost
// answer, 200. A 4xx other than 408 / 429 cannot get better by retrying: exit 1.
// Started again on the same log, it goes on after the last id tried there.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseLine, type ClientLogLine } from './client-log.js';

interface Options { url: URL; log: string; intervalMs: number; durationS: number | null; timeoutMs: number }

function options(): Options {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      log: { type: 'string' },
      'interval-ms': { type: 'string', default: '50' },
      'duration-s': { type: 'string' },
      'timeout-ms': { type: 'string', default: '1000' },
    },
  });
  if (values.url === undefined || values.log === undefined) {
    throw new Error('usage: client.js --url http://HOST:PORT --log FILE [--interval-ms 50] [--duration-s N] [--timeout-ms 1000]');
  }
  const url = new URL(values.url);
  if (url.protocol !== 'http:') throw new Error(`--url: an http:// URL, not ${values.url}`);
  const num = (k: 'interval-ms' | 'duration-s' | 'timeout-ms', min: number): number => {
    const v = Number(values[k]);
    if (!Number.isFinite(v) || v < min) throw new Error(`--${k}: a number of at least ${min}, not ${values[k]}`);
    return v;
  };
  const durationS = values['duration-s'] === undefined ? null : num('duration-s', 0);
  return { url, log: values.log, intervalMs: num('interval-ms', 0), durationS, timeoutMs: num('timeout-ms', 1) };
}

interface Answer { status: number; text: string }

// A fresh connection per attempt (agent: false): a keep-alive socket to a dead MASTER would only add a timeout.
function post(url: URL, body: Buffer, timeoutMs: number): Promise<Answer> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      signal: ac.signal,
      headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(ac.signal.aborted ? ac.signal.reason : err));
    req.end(body);
  }).finally(() => {
    clearTimeout(timer);
    ac.abort(); // the socket goes with the attempt
  });
}

const idOf = (n: number): string => `w${String(n).padStart(6, '0')}`;

// A client started again on the same log goes on after the last id tried there: a store may hold any tried
// id with the body of that attempt, and another body for it is refused (409).
function nextNumber(log: string): number {
  let last = 0;
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  for (const l of text.split('\n')) {
    const m = /^w(\d+)$/.exec(parseLine(l)?.id ?? '');
    if (m !== null) last = Math.max(last, Number(m[1]));
  }
  return last + 1;
}
const permanent = (status: number): boolean => status >= 400 && status < 500 && status !== 408 && status !== 429;

async function main(): Promise<void> {
  const o = options();
  const base = o.url.href.replace(/\/+$/, '');
  const fd = openSync(o.log, 'a');
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    // The first signal lets the attempt in flight finish and be logged; a second one exits at once.
    if (++signals > 1) process.exit(0);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const deadline = o.durationS === null ? Infinity : Date.now() + o.durationS * 1000;
  process.stderr.write(`client: writing to ${base}/records/, log ${o.log}\n`);

  let n = nextNumber(o.log);
  let body: Buffer | null = null;
  let attempts = 0;
  let acked = 0;
  while (!stop.signal.aborted && Date.now() < deadline) {
    const id = idOf(n);
    // The body is fixed at the first attempt, so a retry after a lost answer is answered 200, not 409.
    body ??= Buffer.from(`${id} ${new Date().toISOString()}\n`);
    const start = performance.now();
    const line: ClientLogLine = await post(new URL(`${base}/records/${id}`), body, o.timeoutMs).then(
      (a) => {
        const ok = a.status === 200 || a.status === 201;
        return ok ? { id, ok, status: a.status } : { id, ok, status: a.status, error: a.text.trim().slice(0, 200) };
      },
      (err: Error) => ({ id, ok: false, error: err.message }),
    ).then((l) => ({ ...l, t_ms: Date.now(), latency_ms: Math.round(performance.now() - start) }));
    writeSync(fd, `${JSON.stringify(line)}\n`);
    attempts++;
    if (line.ok) {
      acked++;
      n++;
      body = null;
    } else if (line.status !== undefined && permanent(line.status)) {
      closeSync(fd);
      throw new Error(`${id}: HTTP ${line.status} ${line.error ?? ''} (for 409: the store holds an earlier run's records; give it a fresh --dir)`);
    }
    await delay(o.intervalMs, undefined, { signal: stop.signal }).catch(() => {});
  }
  closeSync(fd);
  process.stderr.write(`client: stopped after ${attempts} attempts, ${acked} acked, ${attempts - acked} failed\n`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`client: ${err.message}\n`);
    process.exit(1);
  },
);
