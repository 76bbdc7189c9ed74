// The two-node demo of issue 5: nodes a and b in network namespaces share
// VIP 192.0.2.100, a replicated directory volume `data` and a small HTTP
// record store that runs only on the MASTER; a client in a third namespace
// writes records to the VIP the whole time. The demo kills the MASTER with
// -9, prints the takeover's timeline and checks that every acknowledged
// record is on the new MASTER; brings the old node back as BACKUP and lets
// it resync; runs `tandem switchover` back; and tears everything down.
import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import { readClientLog } from './demo-app/client-log.js';
import { VIP } from './lab/ha-config.js';
import { bootstrapPair, cli, crashNode, clientLog, daemonUp, missingAcked, nodeStatus, startClient, startNode, until, waitAcked, waitServing } from './lab/ha-lab.js';
import { Lab, type LabHost, type LabProcess } from './lab/lab.js';
import { controlSocket } from './lab/tandem-config.js';

const say = (s: string): void => void process.stdout.write(`\n=== ${s}\n`);
const show = (text: string): void => void process.stdout.write(`${text.replace(/^/gm, '    ')}\n`);

// The daemon's recent events (the control socket keeps the last 200).
function recentEvents(h: LabHost): Promise<Array<{ time: string; type: string; [k: string]: unknown }>> {
  return new Promise((resolve) => {
    const out: Array<{ time: string; type: string }> = [];
    const sock = createConnection(controlSocket(h));
    sock.on('connect', () => sock.write(`${JSON.stringify({ command: 'events', history: true })}\n`));
    sock.on('error', () => resolve(out));
    createInterface({ input: sock }).on('line', (l) => out.push(JSON.parse(l) as { time: string; type: string }));
    setTimeout(() => {
      sock.destroy();
      resolve(out);
    }, 300);
  });
}

async function ackedCheck(lab: Lab, h: LabHost): Promise<string> {
  const r = await missingAcked(lab, h);
  if (r.missing.length > 0) throw new Error(`demo: ${r.missing.length} acknowledged record(s) missing on ${h.name}: ${r.missing.slice(0, 5).join(' ')}`);
  return `all ${r.acked} acknowledged records are on ${h.name}`;
}

async function timeline(lab: Lab, h: LabHost, t0: number): Promise<void> {
  const rel = (iso: string | number): string => `+${((new Date(iso).getTime() - t0) / 1000).toFixed(2)} s`.padStart(9);
  const events = (await recentEvents(h)).filter((e) => new Date(e.time).getTime() >= t0);
  const first = (type: string, pred: (e: Record<string, unknown>) => boolean = () => true) => events.find((e) => e.type === type && pred(e));
  const rows: Array<[string, string]> = [];
  const add = (label: string, e: { time: string } | undefined): void => void (e && rows.push([e.time, label]));
  add(`failure detected: ${h.name} MASTER (master down timer)`, first('vrrp.transition', (e) => e.to === 'MASTER'));
  add('volume data promoted (Primary)', first('replica.role', (e) => e.role === 'Primary'));
  add('service store healthy', first('service.healthy'));
  add(`VIP ${VIP} moved to ${h.name} (then GARP)`, first('vip.added'));
  add(`${h.name} serving`, first('ha.master'));
  const log = await readClientLog(clientLog(lab));
  const resumed = log.outages.find((o) => o.to_ms >= t0);
  if (resumed) rows.push([new Date(resumed.to_ms).toISOString(), `client writes resumed (no write acknowledged for ${(resumed.ms / 1000).toFixed(2)} s)`]);
  rows.sort((x, y) => x[0].localeCompare(y[0]));
  show([`${rel(t0)}  kill -9 of a's daemon and its store`, ...rows.map(([t, l]) => `${rel(t)}  ${l}`)].join('\n'));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo builds network namespaces and needs root (sudo ./scripts/demo)');
  const lab = await Lab.create(2);
  const [a, b] = lab.hosts as [LabHost, LabHost];
  let client: LabProcess | null = null;
  try {
    say(`lab ${lab.prefix}: nodes a (192.0.2.11, priority 150) and b (192.0.2.12, priority 50), client 192.0.2.200; VIP ${VIP}`);
    say('a starts first and is made the first Primary of volume data (DRBD\'s initial `primary --force`), then b joins and syncs');
    const procs = await bootstrapPair(lab);
    show((await cli(lab, a, ['status'])).stdout);
    say('tandem health on both nodes');
    show((await cli(lab, a, ['health'])).stdout);
    show((await cli(lab, b, ['health'])).stdout);

    say(`the client writes a record to http://${VIP}:8080 every 50 ms; the store acknowledges once b has it too`);
    client = startClient(lab);
    await waitAcked(lab, 40);

    say('kill -9 of the MASTER (a): its daemon and its store');
    const t0 = Date.now();
    await crashNode(a, procs.get(a) as LabProcess);
    await waitServing(b, 60_000);
    await waitAcked(lab, 10);
    await timeline(lab, b, t0);
    say(await ackedCheck(lab, b));

    say('a comes back: BACKUP (failback is manual), its tree brought up to date from b');
    procs.set(a, startNode(lab, a));
    await daemonUp(a);
    const back = await until('a BACKUP and UpToDate', async () => {
      const s = await nodeStatus(a);
      const v = s.volumes[0];
      return s.ha?.role === 'BACKUP' && v?.disk === 'UpToDate' && v.peers[0]?.replication === 'Established' ? s : false;
    }, 60_000);
    show(`a: ${back.ha?.role}, volume data ${back.volumes[0]?.role}/${back.volumes[0]?.disk}, peer ${back.volumes[0]?.peers[0]?.connection}`);
    await waitAcked(lab, 10);
    say(await ackedCheck(lab, a));

    say('tandem switchover on b: hand back to a');
    const sw = await cli(lab, b, ['switchover'], 150_000);
    show(sw.stdout || sw.stderr);
    if (sw.exitCode !== 0) throw new Error('demo: the switchover failed');
    await waitAcked(lab, 20);
    await lab.stop(client);
    client = null;
    const log = await readClientLog(clientLog(lab));
    say(`client: ${log.attempts} attempts, ${log.acked.length} records acknowledged, ${log.failures} failed attempts (retried), outages ${log.outages.map((o) => `${(o.ms / 1000).toFixed(2)} s`).join(', ')}`);
    say(await ackedCheck(lab, a));
    show((await cli(lab, a, ['status', '--v'])).stdout);
  } finally {
    if (client !== null) await lab.stop(client).catch(() => {});
    await lab.destroy();
    say('lab removed');
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
});
