// HTTP health probe: one GET, healthy on a 2xx or 3xx status within the
// timeout (redirects are not followed); the body is read and discarded, at
// most BODY_LIMIT bytes, so the server sees a clean exchange.
//
// node:http with `agent: false` rather than global fetch: fetch (undici) keeps
// keep-alive sockets in a process-wide pool, so a probe could ride a
// connection opened by an earlier one (hiding a server that no longer
// accepts) and leave sockets open after it; here every probe opens its own
// connection, says `Connection: close`, and destroys it when it settles.
import http from 'node:http';
import https from 'node:https';
import { ABORTED, describeNetError, runProbe, type HealthResult, type ProbeRun } from './health-common.js';

export const BODY_LIMIT = 64 * 1024;

function parseUrl(raw: string): URL | string {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : `unsupported scheme ${url.protocol}`;
  } catch (err) {
    return (err as Error).message;
  }
}

export function probeHttp(p: { url: string; timeoutMs: number }, signal?: AbortSignal): Promise<HealthResult> {
  const what = `GET ${p.url}`;
  const url = parseUrl(p.url);
  let verdict: HealthResult | undefined; // set once the status line is in
  // The caller's abort always wins; our own timeout only matters before the status line.
  const onAbort = (run: ProbeRun): HealthResult =>
    !run.timedOut() ? run.fail(ABORTED) : (verdict ?? run.fail(`${what} timed out after ${p.timeoutMs} ms`));
  return runProbe(p.timeoutMs, signal, onAbort, (run, settle, release) => {
    if (typeof url === 'string') return settle(run.fail(`${what}: invalid URL (${url})`));
    let req: http.ClientRequest;
    try {
      const mod = url.protocol === 'https:' ? https : http;
      req = mod.request(url, { method: 'GET', agent: false, headers: { connection: 'close', 'user-agent': 'tandem-health' } });
    } catch (err) {
      return settle(run.fail(`${what} ${describeNetError(err)}`));
    }
    release(() => req.destroy());
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const answered = verdict = status >= 200 && status < 400 ? run.ok() : run.fail(`${what} answered ${`${status} ${res.statusMessage ?? ''}`.trim()}`);
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= BODY_LIMIT) settle(answered);
      });
      res.on('end', () => settle(answered));
      res.on('error', () => settle(answered)); // cut off mid-body: the status already spoke
    });
    req.on('error', (err) => settle(verdict ?? run.fail(`${what} ${describeNetError(err)}`)));
    req.end();
  });
}
