// Watches link state through `ip -o monitor link address` (netlink events,
// no polling) and reports when a watched interface goes up or down, or its
// addresses change. A link is up when it is administratively UP and has
// carrier (LOWER_UP), as keepalived judges it.
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { getLink } from './links.js';

export type LinkChange = (dev: string, up: boolean) => void;
export type AddressChange = (dev: string) => void;

// "3: eth0    inet 192.0.2.5/24 scope global eth0\ ..." or "Deleted 3: eth0    inet6 ...".
// The name is ip(8)'s cached one (stale after a rename): the index is what counts.
export function parseAddressLine(line: string): { index: number; dev: string } | null {
  const m = /^(?:Deleted )?(\d+): (\S+)\s+inet6? /.exec(line.trim());
  return m === null ? null : { index: Number(m[1]), dev: m[2] ?? '' };
}

// "2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu ..." or "Deleted 2: eth0: <...>"
export function parseMonitorLine(line: string): { index: number; dev: string; up: boolean } | null {
  const m = /^(Deleted )?(\d+): ([^:@\s]+)(?:@[^:\s]+)?: <([^>]*)>/.exec(line.trim());
  if (m === null) return null;
  const flags = (m[4] ?? '').split(',');
  const deleted = m[1] !== undefined;
  return { index: Number(m[2]), dev: m[3] ?? '', up: !deleted && flags.includes('UP') && flags.includes('LOWER_UP') };
}

export class LinkMonitor {
  private child: ResultPromise | null = null;
  private readonly state = new Map<string, boolean>();
  private readonly names = new Map<number, string>(); // ifindex -> current name, from link events
  private stopped = false;
  private restart: NodeJS.Timeout | null = null;

  constructor(
    private readonly devices: string[],
    private readonly onChange: LinkChange,
    private readonly log: (msg: string) => void,
    private readonly onAddresses: AddressChange = () => {},
  ) {}

  isUp(dev: string): boolean {
    return this.state.get(dev) ?? false;
  }

  async start(): Promise<void> {
    // Subscribe before reading the current state so no change falls between.
    const child = execa('ip', ['-o', 'monitor', 'link', 'address'], { buffer: false, stdin: 'ignore', reject: false });
    this.child = child;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const ev = parseMonitorLine(line);
      if (ev !== null) {
        this.names.set(ev.index, ev.dev);
        if (this.devices.includes(ev.dev)) this.set(ev.dev, ev.up);
        return;
      }
      const addr = parseAddressLine(line);
      const dev = addr === null ? null : (this.names.get(addr.index) ?? addr.dev);
      if (dev !== null && this.devices.includes(dev)) this.onAddresses(dev);
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
