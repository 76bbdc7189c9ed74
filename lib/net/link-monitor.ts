// Watches link state through `ip -o monitor link` (netlink events, no
// polling) and reports when a watched interface goes up or down. A link is
// up when it is administratively UP and has carrier (LOWER_UP), as keepalived
// judges it.
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { getLink } from './links.js';

export type LinkChange = (dev: string, up: boolean) => void;

// "2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu ..." or "Deleted 2: eth0: <...>"
export function parseMonitorLine(line: string): { dev: string; up: boolean } | null {
  const m = /^(Deleted )?\d+: ([^:@\s]+)(?:@[^:\s]+)?: <([^>]*)>/.exec(line.trim());
  if (m === null) return null;
  const flags = (m[3] ?? '').split(',');
  const deleted = m[1] !== undefined;
  return { dev: m[2] ?? '', up: !deleted && flags.includes('UP') && flags.includes('LOWER_UP') };
}

export class LinkMonitor {
  private child: ResultPromise | null = null;
  private readonly state = new Map<string, boolean>();
  private stopped = false;
  private restart: NodeJS.Timeout | null = null;

  constructor(private readonly devices: string[], private readonly onChange: LinkChange, private readonly log: (msg: string) => void) {}

  isUp(dev: string): boolean {
    return this.state.get(dev) ?? false;
  }

  async start(): Promise<void> {
    // Subscribe before reading the current state so no change falls between.
    const child = execa('ip', ['-o', 'monitor', 'link'], { buffer: false, stdin: 'ignore', reject: false });
    this.child = child;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const ev = parseMonitorLine(line);
      if (ev !== null && this.devices.includes(ev.dev)) this.set(ev.dev, ev.up);
    });
    // A monitor that dies would leave link state frozen: start a new one (and re-read the state).
    void child.then(() => {
      if (this.stopped || this.child !== child) return;
      this.log('ip monitor link exited; restarting it');
      this.restart = setTimeout(() => {
        if (!this.stopped) void this.start();
      }, 1000);
      this.restart.unref();
    });
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    for (const dev of this.devices) {
      try {
        this.set(dev, (await getLink(dev)).up);
      } catch {
        this.log(`interface ${dev} does not exist: treated as down`);
        this.set(dev, false);
      }
    }
  }

  private set(dev: string, up: boolean): void {
    if (this.state.get(dev) === up) return;
    this.state.set(dev, up);
    this.onChange(dev, up);
  }

  stop(): void {
    this.stopped = true;
    if (this.restart !== null) clearTimeout(this.restart);
    this.child?.kill('SIGTERM');
    this.child = null;
  }
}
