// Test hosts in network namespaces (see shared/design/lab.md): N nodes on a
// bridge that lives in its own "switch" namespace, plus a client host.
// Names carry a per-run prefix; everything is torn down on destroy() and,
// as a last resort, when the process exits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { removeServiceCgroups } from './service-cgroups.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const TANDEM_BIN = join(REPO_ROOT, 'bin/tandem');

export interface LabHost {
  name: string; // "a", "b", ... or "client"
  ns: string;
  dev: string; // the host's interface on the shared segment
  ipv4: string;
  ipv6: string;
  dir: string; // private directory for configs, sockets, logs
}

export interface LabProcess {
  host: LabHost;
  child: ResultPromise;
  logFile: string;
}

const live = new Set<Lab>();
let runCounter = 0;

function sh(args: string[]): string {
  return execFileSync(args[0] as string, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function cleanupAllSync(): void {
  for (const lab of live) lab.destroySync();
}
process.once('exit', cleanupAllSync);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanupAllSync();
    process.exit(130);
  });
}

export class Lab {
  readonly prefix: string;
  readonly hosts: LabHost[] = [];
  readonly client: LabHost;
  readonly root: string;
  private readonly switchNs: string;
  private readonly procs = new Set<LabProcess>();
  private readonly spawned = new Set<number>(); // every process ever started here: their service cgroups go at destroy
  private readonly isolations = new Map<string, string[]>(); // "from>to": the addresses setIsolated cut
  private destroyed = false;

  private constructor(nodeCount: number) {
    this.prefix = `tdm${process.pid}${String.fromCharCode(97 + (runCounter++ % 26))}`;
    this.root = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    this.switchNs = `${this.prefix}sw`;
    for (let i = 0; i < nodeCount; i++) this.hosts.push(this.host(String.fromCharCode(97 + i), 11 + i));
    this.client = this.host('client', 200);
  }

  private host(name: string, octet: number): LabHost {
    const dir = join(this.root, name);
    return { name, ns: `${this.prefix}${name}`, dev: 'eth0', ipv4: `192.0.2.${octet}`, ipv6: `2001:db8:1::${octet.toString(16)}`, dir };
  }

  static async create(nodeCount: number): Promise<Lab> {
    const lab = new Lab(nodeCount);
    live.add(lab);
    try {
      lab.build();
    } catch (err) {
      lab.destroySync();
      throw err;
    }
    return lab;
  }

  private build(): void {
    const sw = this.switchNs;
    sh(['ip', 'netns', 'add', sw]);
    sh(['ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'mcast_snooping', '0']);
    sh(['ip', '-n', sw, 'link', 'set', 'br0', 'up']);
    [...this.hosts, this.client].forEach((h, i) => {
      sh(['mkdir', '-p', h.dir]);
      sh(['ip', 'netns', 'add', h.ns]);
      // No DAD in the lab: addresses (and link-local sources) usable at once.
      for (const k of ['all', 'default']) sh(['ip', 'netns', 'exec', h.ns, 'sysctl', '-qw', `net.ipv6.conf.${k}.accept_dad=0`]);
      sh(['ip', 'link', 'add', h.dev, 'netns', h.ns, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', sw]);
      sh(['ip', '-n', sw, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      sh(['ip', '-n', h.ns, 'link', 'set', 'lo', 'up']);
      sh(['ip', '-n', h.ns, 'addr', 'add', `${h.ipv4}/24`, 'dev', h.dev]);
      sh(['ip', '-n', h.ns, 'addr', 'add', `${h.ipv6}/64`, 'dev', h.dev, 'nodad']);
      sh(['ip', '-n', h.ns, 'link', 'set', h.dev, 'up']);
    });
  }

  // The switch port of a host: taking it down partitions the host; the veth
  // pair takes the host's carrier down with it, so its link monitor sees the
  // interface go down (use setIsolated for a silent network instead).
  switchPort(h: LabHost): string {
    return `p${[...this.hosts, this.client].indexOf(h)}`;
  }

  async setSwitchPort(h: LabHost, up: boolean): Promise<void> {
    await execa('ip', ['-n', this.switchNs, 'link', 'set', this.switchPort(h), up ? 'up' : 'down']);
  }

  // A partition between `h` and the other nodes with every link up: each
  // side's neighbour entries for the other's addresses point to a MAC nobody
  // has, so unicast (TCP, and VRRP from a raw socket bound to the device,
  // which ignores blackhole routes) goes nowhere; this kernel has no netem or
  // tc drop action. VRRP then hears silence, as across a broken switch.
  async setIsolated(h: LabHost, isolated: boolean): Promise<void> {
    for (const o of this.hosts.filter((x) => x !== h)) {
      for (const [from, to] of [[h, o], [o, h]] as const) {
        const key = `${from.name}>${to.name}`;
        const targets = isolated ? (await this.addresses(to)).filter((a) => !a.startsWith('fe80:')) : this.isolations.get(key) ?? [];
        this.isolations.set(key, targets);
        for (const a of targets) {
          const family = a.includes(':') ? '-6' : '-4';
          const args = isolated ? ['replace', a, 'lladdr', '02:00:00:00:00:00', 'nud', 'permanent', 'dev', from.dev] : ['del', a, 'dev', from.dev];
          await execa('ip', ['-n', from.ns, family, 'neigh', ...args]);
        }
      }
    }
  }

  async exec(h: LabHost, cmd: string[], opts: { reject?: boolean; timeoutMs?: number } = {}) {
    return execa('ip', ['netns', 'exec', h.ns, ...cmd], { reject: opts.reject ?? true, timeout: opts.timeoutMs ?? 10_000, stdin: 'ignore' });
  }

  write(h: LabHost, name: string, text: string): string {
    const p = join(h.dir, name);
    writeFileSync(p, text);
    return p;
  }

  // Starts a long-running process in a host's namespace, output to a log file.
  spawn(h: LabHost, cmd: string[], logName: string): LabProcess {
    const logFile = join(h.dir, logName);
    const child = execa('ip', ['netns', 'exec', h.ns, ...cmd], {
      stdin: 'ignore',
      stdout: { file: logFile, append: true },
      stderr: { file: logFile, append: true },
      reject: false,
    });
    const p: LabProcess = { host: h, child, logFile };
    this.procs.add(p);
    if (child.pid !== undefined) this.spawned.add(child.pid); // `ip netns exec` becomes the command: a daemon's pid
    void child.finally(() => this.procs.delete(p));
    return p;
  }

  startTandem(h: LabHost, configYaml: string, name = 'tandem'): LabProcess {
    const cfg = this.write(h, `${name}.yaml`, configYaml);
    // `ip netns exec` mounts a fresh /sys without the cgroup file systems; a host has cgroup2 there, so the
    // daemon gets it back (in the command's own mount namespace) to give its services cgroups as on a host.
    const withCgroups = ['/bin/sh', '-c', 'mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null; exec "$@"', 'tandem'];
    return this.spawn(h, [...withCgroups, process.execPath, TANDEM_BIN, 'daemon', '--config', cfg], `${name}.log`);
  }

  async stop(p: LabProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    p.child.kill(signal);
    const t = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
    await p.child;
    clearTimeout(t);
  }

  // Addresses on a host's interface, without prefix.
  async addresses(h: LabHost): Promise<string[]> {
    const r = await execa('ip', ['-n', h.ns, '-j', 'addr', 'show', 'dev', h.dev]);
    const rows = JSON.parse(r.stdout) as { addr_info: { local: string }[] }[];
    return (rows[0]?.addr_info ?? []).map((a) => a.local);
  }

  async destroy(): Promise<void> {
    const procs = [...this.procs];
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.allSettled(procs.map((p) => p.child));
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const p of this.procs) p.child.kill('SIGKILL');
    // Anything still running inside our namespaces goes too (e.g. a keepalived child).
    for (const h of [...this.hosts, this.client]) {
      try {
        const pids = sh(['ip', 'netns', 'pids', h.ns]).split(/\s+/).filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      } catch {
        // namespace never made
      }
    }
    for (const ns of [...this.hosts.map((h) => h.ns), this.client.ns, this.switchNs]) {
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {
        // not created or already gone
      }
    }
    removeServiceCgroups(this.spawned);
    rmSync(this.root, { recursive: true, force: true });
  }
}

// Namespaces of this process's labs that still exist (a test checks none remain).
export function leftoverNamespaces(): string[] {
  const prefix = `tdm${process.pid}`;
  return sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}
