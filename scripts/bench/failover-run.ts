// One failover measurement in a fresh lab: a (priority 150) and b (100) run
// the same implementation with the same advert_int; once a is MASTER and the
// client's pings are answered by a, a is stopped and the clock runs until
// the client gets an echo reply from the VIP sent by b's MAC.
//
// Time zero is the moment the signal is sent. For kill -9 the dead node still
// has the VIP configured, so it is also cut off the segment: its switch port
// goes down right after the signal (a crashed or powered-off host). SIGTERM
// leaves a on the segment: it must give the VIP up by itself.
//
// Where in a's advert cycle the signal lands decides most of a kill -9
// failover (b waits Master_Down_Interval from the last advert it heard), so
// the signal is sent at a chosen phase after an advert of a seen on the
// wire: run i of N at (i + 0.5) / N of advert_int, the same for both daemons.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, type LabHost, type LabProcess } from '../lab/lab.js';
import { destroyAndCheck } from './cleanup.js';
import { macOf, signalDaemon, sleep, startDaemon, until, type Impl, type StopSignal } from './daemons.js';
import { ClientProbe } from './probe.js';
import { firstAfter, lastBefore } from './wire.js';

export const VIP = '192.0.2.100';

export interface FailoverSample {
  replyMs: number; // first echo reply from the new MASTER (the headline number)
  advertMs: number; // first advert from the new MASTER
  garpMs: number; // first gratuitous ARP from the new MASTER
  lastAdvertMs: number; // last advert from the old MASTER (negative: before time zero)
  prio0Ms: number; // SIGTERM: the old MASTER's priority 0 advert (RFC 5798 6.4.3), NaN if none
  oldReplyMs: number; // last echo reply from the old MASTER
  portDownMs: number; // kill -9 only: when the switch port was down
  oldEnd: string; // how the old MASTER's main process had ended when b answered
  error?: string;
}

export interface RunSpec {
  impl: Impl;
  advertInt: number;
  signal: StopSignal;
  phase: number; // 0..1: when in a's advert cycle the signal is sent
  keepLogsIn?: string; // copy the lab's logs here before tearing it down
}

const holds = async (lab: Lab, h: LabHost): Promise<boolean> => (await lab.addresses(h)).includes(VIP);

export async function failoverRun(spec: RunSpec): Promise<FailoverSample> {
  const lab = await Lab.create(2);
  const [a, b] = lab.hosts as [LabHost, LabHost];
  const nan = Number.NaN;
  const out: FailoverSample = { replyMs: nan, advertMs: nan, garpMs: nan, lastAdvertMs: nan, prio0Ms: nan, oldReplyMs: nan, portDownMs: nan, oldEnd: 'unknown' };
  let probe: ClientProbe | null = null;
  try {
    const [macA, macB] = [await macOf(a), await macOf(b)];
    const da = startDaemon(lab, spec.impl, a, [{ priority: 150, advertInt: spec.advertInt }]);
    startDaemon(lab, spec.impl, b, [{ priority: 100, advertInt: spec.advertInt }]);
    await until('a takes the VIP', async () => await holds(lab, a), 20_000);
    // A few adverts, so b is a settled BACKUP that has heard a.
    await sleep(Math.max(3 * spec.advertInt * 1000, 500));
    if (await holds(lab, b)) throw new Error('both nodes hold the VIP before the failover');

    probe = await ClientProbe.start(lab, VIP);
    await probe.startPing(lab);
    await probe.waitFor('a reply from a', (e) => e.kind === 'reply' && e.mac === macA, 5000);
    // Pinging for a while first, as a client in use would be.
    await sleep(1500);
    await sleepUntil(await signalTime(probe, macA, spec));

    const t0 = Date.now();
    signalDaemon(da, spec.signal);
    if (spec.signal === 'SIGKILL') {
      await lab.setSwitchPort(a, false);
      out.portDownMs = Date.now() - t0;
    }
    const timeout = 10_000 + 5000 * spec.advertInt;
    const reply = await probe.waitFor('an echo reply from b', (e) => e.kind === 'reply' && e.mac === macB && e.t >= t0, timeout);
    await sleep(50);
    await probe.poll();
    out.oldEnd = await howEnded(da.proc.child);
    const ev = probe.events;
    out.replyMs = reply.t - t0;
    out.advertMs = (firstAfter(ev, 'advert', macB, t0, (e) => (e.priority ?? 0) > 0)?.t ?? nan) - t0;
    out.garpMs = (firstAfter(ev, 'garp', macB, t0)?.t ?? nan) - t0;
    out.lastAdvertMs = (lastBefore(ev, 'advert', macA, reply.t)?.t ?? nan) - t0;
    out.prio0Ms = (firstAfter(ev, 'advert', macA, t0, (e) => e.priority === 0)?.t ?? nan) - t0;
    out.oldReplyMs = (lastBefore(ev, 'reply', macA, reply.t)?.t ?? nan) - t0;
  } catch (err) {
    out.error = (err as Error).message;
  } finally {
    await probe?.close();
    if (spec.keepLogsIn !== undefined) keepLogs(lab, spec.keepLogsIn);
    await destroyAndCheck(lab);
  }
  return out;
}

async function howEnded(child: LabProcess['child']): Promise<string> {
  const r = await Promise.race([child, sleep(0).then(() => null)]);
  if (r === null) return 'still running';
  return r.signal !== undefined ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
}

// The next moment at the wanted phase after an advert of a (adverts are
// periodic), at least 20 ms from now so the timer can still hit it.
async function signalTime(probe: ClientProbe, macA: string, spec: RunSpec): Promise<number> {
  const after = Date.now();
  const adv = await probe.waitFor('an advert from a', (e) => e.kind === 'advert' && e.mac === macA && e.t >= after, 3000 + 2000 * spec.advertInt);
  const period = spec.advertInt * 1000;
  let at = adv.t + spec.phase * period;
  while (at < Date.now() + 20) at += period;
  return at;
}

async function sleepUntil(t: number): Promise<void> {
  // setTimeout may fire a millisecond or so early or late; finish with a short spin.
  if (t - Date.now() > 5) await sleep(t - Date.now() - 5);
  while (Date.now() < t) await new Promise((r) => setImmediate(r));
}

function keepLogs(lab: Lab, dir: string): void {
  for (const h of [...lab.hosts, lab.client]) {
    const to = join(dir, h.name);
    mkdirSync(to, { recursive: true });
    for (const f of readdirSync(h.dir)) if (f.endsWith('.log') || f.endsWith('.conf') || f.endsWith('.yaml')) cpSync(join(h.dir, f), join(to, f));
  }
}
