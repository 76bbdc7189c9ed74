// TCP health probe: healthy when the connect completes within the timeout;
// the socket is closed at once (nothing is sent).
import net from 'node:net';
import { ABORTED, describeNetError, runProbe, type HealthResult, type ProbeRun } from './health-common.js';

export function hostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

export function probeTcp(p: { host: string; port: number; timeoutMs: number }, signal?: AbortSignal): Promise<HealthResult> {
  const what = `connect ${hostPort(p.host, p.port)}`;
  const onAbort = (run: ProbeRun): HealthResult =>
    run.fail(run.timedOut() ? `${what} timed out after ${p.timeoutMs} ms` : ABORTED);
  return runProbe(p.timeoutMs, signal, onAbort, (run, settle, release) => {
    let socket: net.Socket;
    try {
      socket = net.connect({ host: p.host, port: p.port });
    } catch (err) {
      settle(run.fail(`${what} ${describeNetError(err)}`)); // e.g. a port out of range
      return;
    }
    release(() => socket.destroy());
    socket.once('connect', () => settle(run.ok()));
    socket.on('error', (err) => settle(run.fail(`${what} ${describeNetError(err)}`)));
  });
}
