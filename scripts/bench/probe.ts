// The client's view of the VIP: a capture (tcpdump) of echo replies, GARPs
// and VRRP adverts on the client's interface, and pings to the VIP through
// the client's own neighbour cache, which is never flushed (a stale ARP entry
// is part of a failover). Timestamps are the kernel's receive stamps, so the
// polling here only decides when to stop, not what is measured.
import { open, type FileHandle } from 'node:fs/promises';
import type { Lab, LabProcess } from '../lab/lab.js';
import { sleep } from './daemons.js';
import { parseWireLine, type WireEvent } from './wire.js';

// ping(8) waits at least 10 ms between probes while one is unanswered
// (its MININTERVAL), so several pingers at independent phases probe the
// VIP about every 2-3 ms during an outage.
export const PINGERS = 4;
export const PING_INTERVAL_S = 0.01;

export class ClientProbe {
  readonly events: WireEvent[] = [];
  private fh: FileHandle | null = null;
  private offset = 0;
  private partial = '';
  private listening = false;

  private constructor(
    private readonly capture: LabProcess,
    private readonly vip: string,
  ) {}

  static async start(lab: Lab, vip: string): Promise<ClientProbe> {
    const filter = 'arp or ip proto 112 or icmp[icmptype] == icmp-echoreply';
    const cap = lab.spawn(lab.client, ['tcpdump', '-i', lab.client.dev, '-n', '-e', '-tt', '-l', '--immediate-mode', filter], 'capture.log');
    const probe = new ClientProbe(cap, vip);
    const t0 = Date.now();
    while (!probe.listening) {
      if (Date.now() - t0 > 5000) throw new Error('tcpdump did not start listening within 5 s');
      await sleep(20);
      await probe.poll();
    }
    return probe;
  }

  // Starts the pingers only once the capture is listening, so no reply is missed.
  async startPing(lab: Lab): Promise<void> {
    for (let i = 0; i < PINGERS; i++) {
      lab.spawn(lab.client, ['ping', '-q', '-n', '-i', String(PING_INTERVAL_S), this.vip], `ping${i}.log`);
      await sleep((PING_INTERVAL_S * 1000) / PINGERS);
    }
  }

  async poll(): Promise<void> {
    this.fh ??= await open(this.capture.logFile, 'r');
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      const lines = (this.partial + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('listening on')) this.listening = true;
        const ev = parseWireLine(line, this.vip);
        if (ev !== null) this.events.push(ev);
      }
    }
  }

  async waitFor(what: string, pred: (e: WireEvent) => boolean, timeoutMs: number): Promise<WireEvent> {
    const t0 = Date.now();
    for (;;) {
      await this.poll();
      const hit = this.events.find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not seen by the client within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
  }
}
