// The two-node demo: nodes a (priority 150) and b (100) in network
// namespaces on one bridge, sharing VIP 192.0.2.100. It shows the election,
// a client reaching the VIP, a kill -9 of the MASTER and the takeover, the
// old MASTER's return and preemption, then tears everything down.
import { execa } from 'execa';
import { request } from '../lib/cli/client.js';
import type { NodeStatus } from '../lib/node/status.js';
import { Lab, TANDEM_BIN, type LabHost } from './lab/lab.js';
import { controlSocket, tandemConfig } from './lab/tandem-config.js';

const VIP = '192.0.2.100';
const say = (s: string): void => void process.stdout.write(`\n=== ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function holder(lab: Lab): Promise<string> {
  const names: string[] = [];
  for (const h of lab.hosts) if ((await lab.addresses(h)).includes(VIP)) names.push(h.name);
  return names.join(',') || 'nobody';
}

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`demo: ${what} did not happen within ${ms} ms`);
    await sleep(20);
  }
  return Date.now() - t0;
}

async function showStatus(h: LabHost): Promise<void> {
  const r = await execa(process.execPath, [TANDEM_BIN, 'status', '--socket', controlSocket(h)], { reject: false });
  process.stdout.write(`${r.stdout || r.stderr}\n`);
}

async function state(h: LabHost): Promise<string> {
  const r = await request(controlSocket(h), { command: 'status' }).catch(() => null);
  return (r?.result as NodeStatus | undefined)?.vrrp[0]?.state ?? 'down';
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo builds network namespaces and needs root');
  const lab = await Lab.create(2);
  const [a, b] = lab.hosts as [LabHost, LabHost];
  try {
    say(`lab ${lab.prefix}: nodes a (192.0.2.11, priority 150) and b (192.0.2.12, priority 100), client 192.0.2.200`);
    const cfgA = { priority: 150, advertInt: 1 };
    let pa = lab.startTandem(a, tandemConfig(a, [cfgA]));
    lab.startTandem(b, tandemConfig(b, [{ priority: 100, advertInt: 1 }]));
    const elected = await until('election', async () => (await holder(lab)) === 'a' && (await state(b)) === 'BACKUP', 15_000);
    say(`election done in ${elected} ms: VIP ${VIP} is on ${await holder(lab)}`);
    await showStatus(a);
    await showStatus(b);

    const ping = await lab.exec(lab.client, ['ping', '-c', '1', '-W', '1', VIP], { reject: false });
    say(`client pings the VIP: ${ping.exitCode === 0 ? 'reply' : 'no reply'}`);

    say('kill -9 the MASTER (a)');
    const t0 = Date.now();
    pa.child.kill('SIGKILL');
    await pa.child;
    await until('takeover', async () => (await state(b)) === 'MASTER', 10_000);
    say(`b is MASTER ${Date.now() - t0} ms after the kill (Master_Down_Interval is ${3000 + Math.round((156 * 1000) / 256)} ms)`);
    // a died holding the VIP (kill -9 leaves no chance to clean up); b's gratuitous ARP has
    // moved the client's ARP cache, and a's next start removes the leftover.
    say(`VIP holders now: ${await holder(lab)} (a's copy is a leftover of the crash)`);
    const ping2 = await lab.exec(lab.client, ['ping', '-c', '1', '-W', '1', VIP], { reject: false });
    say(`client pings the VIP: ${ping2.exitCode === 0 ? 'reply' : 'no reply'}`);
    await showStatus(b);

    say('a comes back with the higher priority and preempts');
    pa = lab.startTandem(a, tandemConfig(a, [cfgA]));
    await until('preemption', async () => (await holder(lab)) === 'a', 15_000);
    say(`VIP ${VIP} is on ${await holder(lab)}`);
    await showStatus(a);

    say('SIGTERM the MASTER: it sends priority 0 and b takes over within the skew time');
    const t1 = Date.now();
    await lab.stop(pa);
    await until('takeover', async () => (await holder(lab)) === 'b', 5000);
    say(`b holds the VIP ${Date.now() - t1} ms after SIGTERM`);
  } finally {
    await lab.destroy();
    say('lab removed');
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
});
