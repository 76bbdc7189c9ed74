// The congestion control algorithm of one connected TCP socket (tcp(7)
// TCP_CONGESTION), through lib/net/native's tcp-congestion addon: Node does
// not expose it. Plain and TLS sockets alike (Node keeps the fd on both
// handles). Thin: which algorithm to ask for is the caller's choice.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { loadAddon } from './native-addon.js';

interface Native {
  get(fd: number): string;
  set(fd: number, name: string): void;
}

const native = (): Native => loadAddon<Native>('tandem_tcp_congestion', 'the TCP congestion control addon');

// Node's handle holds the socket's fd (-1 once closed); null where there is none.
function fdOf(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

// The algorithms the kernel has loaded (root may load others by name).
export function loadedCongestionControls(): string[] {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
}

// Sets the socket's algorithm: null when done, else why not (the socket keeps the host's default).
export function setTcpCongestion(socket: Socket, name: string): string | null {
  const fd = fdOf(socket);
  if (fd === null) return 'the socket is closed';
  try {
    native().set(fd, name);
    return null;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ENOENT') return `the kernel has no congestion control algorithm "${name}" (loaded: ${loadedCongestionControls().join(', ') || 'unknown'})`;
    return err.message;
  }
}

// The socket's algorithm as the kernel reports it, or null (closed, or the addon is not built).
export function tcpCongestion(socket: Socket): string | null {
  const fd = fdOf(socket);
  if (fd === null) return null;
  try {
    return native().get(fd);
  } catch {
    return null;
  }
}
