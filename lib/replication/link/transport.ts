// Socket options shared by the connector and the listener: plain TCP, or
// mutual TLS when `tls` is given (the issue's `replication.tls`).
import type { ConnectionOptions, TlsOptions } from 'node:tls';

export interface LinkTls {
  cert: string | Buffer; // this node's certificate (PEM)
  key: string | Buffer; // its private key (PEM)
  ca: string | Buffer; // the CA that signed every peer's certificate
}

// Both ends present a certificate and both verify the other's against `ca`.
export function serverTlsOptions(tls: LinkTls, handshakeTimeoutMs: number): TlsOptions {
  return { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true, handshakeTimeout: handshakeTimeoutMs };
}

export function clientTlsOptions(tls: LinkTls, host: string, port: number): ConnectionOptions {
  return { host, port, cert: tls.cert, key: tls.key, ca: tls.ca, rejectUnauthorized: true };
}
