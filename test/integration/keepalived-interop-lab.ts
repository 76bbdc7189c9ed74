// Steps of the keepalived interop suite: what keepalived 2.2.7 logs when it
// rejects an advert, tandem's counters that must stay at zero, holder
// sampling, and checks that a run leaves nothing behind.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import type { Lab, LabHost, LabProcess } from '../../scripts/lab/lab.js';
import { spawnWritingLog, type KeepalivedStats } from '../../scripts/lab/keepalived.js';
import type { InstanceStatus } from '../../lib/vrrp/engine/engine.js';
import { sleep, waitFor } from '../helpers/env.js';
import { holders, status } from './vrrp-lab.js';

// Every line keepalived 2.2.7's receive path (vrrp.c, vrrp_check_packet and
// the read loop) logs for an advert it rejects or complains about, as found in
// the shipped binary's strings. Any of them in a good run means one side
// misreads the other's wire format.
export const KEEPALIVED_PACKET_ERRORS: readonly RegExp[] = [
  /VRRP packet too short/, // truncated below the headers
  /vrrp packet too (short|long), length/, // length != header + addresses (+ auth)
  /invalid TTL\/HL/, // TTL / hop limit != 255 on multicast
  /TTL\/HL \d+ not in range/,
  /wrong version\. Received/,
  /Invalid auth type/,
  /received a \d+ auth, expecting/,
  /received an invalid passwd/,
  /AH header/,
  /advertisement interval mismatch/, // v2: MUST drop
  /advertisement interval updated from/, // v3: the master's interval differs from ours
  /Invalid packet type/,
  /received an unexpected ip number count/,
  /ip_tot_len mismatch/,
  /Invalid VRRPv[23] checksum/,
  /Setting unicast VRRPv3 checksum to old version/, // our unicast checksum used the group address
  /icast packet but received/, // multicast on a unicast instance or the reverse
  /ip address associated with VRID/, // address list differs from its VIPs
  /not a unicast peer/,
  /Unknown keyword/, // our generated keepalived.conf is wrong, the run proves nothing
];

export function keepalivedPacketErrors(log: string): string[] {
  return log.split('\n').filter((l) => KEEPALIVED_PACKET_ERRORS.some((re) => re.test(l)));
}

// keepalived's drop counters (packet and authentication errors), non-zero ones only.
export function keepalivedErrorCounters(stats: KeepalivedStats): Record<string, number> {
  return Object.fromEntries(
    Object.entries(stats).filter(([k, v]) => (k.startsWith('Packet Errors/') || k.startsWith('Authentication Errors/')) && v !== 0),
  );
}

// tandem's drop and warning counters that are not zero; 'not-ready' (adverts
// heard in INIT/FAULT/STOP) is normal around start and stop.
export function tandemComplaints(i: InstanceStatus): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(i.stats.dropped)) if (v !== 0 && k !== 'not-ready') out[`dropped.${k}`] = v;
  for (const [k, v] of Object.entries(i.stats.warnings)) if (v !== 0) out[`warnings.${k}`] = v;
  return out;
}

export async function expectTandemClean(h: LabHost, name = 'VI_1'): Promise<InstanceStatus> {
  const s = await status(h);
  const i = s.vrrp.find((x) => x.name === name);
  if (i === undefined) throw new Error(`${h.name} has no instance ${name}`);
  expect(tandemComplaints(i), `tandem on ${h.name}: drop/warning counters`).to.deep.equal({});
  const sockDrops = Object.fromEntries(Object.entries(s.vrrp_socket_drops).filter(([, v]) => v !== 0));
  expect(sockDrops, `tandem on ${h.name}: socket-level drops`).to.deep.equal({});
  return i;
}

// Samples the VIP's holders every 25 ms for `ms`: exactly `who` at every sample.
export async function expectSoleHolder(lab: Lab, vip: string, who: LabHost, ms: number): Promise<number> {
  const end = Date.now() + ms;
  let samples = 0;
  while (Date.now() < end) {
    const hs = await holders(lab, vip);
    expect(hs.map((h) => h.name), `holders of ${vip} at sample ${samples}`).to.deep.equal([who.name]);
    samples++;
    await sleep(25);
  }
  return samples;
}

// The link-local address a host's IPv6 adverts leave from.
export async function linkLocal(h: LabHost): Promise<string> {
  const r = await execa('ip', ['-n', h.ns, '-j', '-6', 'addr', 'show', 'dev', h.dev, 'scope', 'link']);
  // ip(8) prints an empty object for each address the filter left out.
  const rows = JSON.parse(r.stdout) as { addr_info: { local?: string; scope?: string }[] }[];
  const a = rows[0]?.addr_info.find((x) => x.scope === 'link' && x.local !== undefined)?.local;
  if (a === undefined) throw new Error(`${h.name} has no link-local address`);
  return a;
}

// Processes whose command line names one of this run's lab directories or
// namespaces (tandem daemons, keepalived and its VRRP child, captures).
const runMarker = new RegExp(`tdm${process.pid}[a-z]`);

export function leftoverProcesses(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (runMarker.test(cmd)) out.push(`${pid}: ${cmd.trim()}`);
    } catch {
      // exited while we looked
    }
  }
  return out;
}

export function leftoverTempDirs(): string[] {
  return readdirSync(tmpdir()).filter((d) => runMarker.test(d));
}

// Every log in every host directory (tandem, keepalived), printed when a test fails.
export async function dumpAllLogs(lab: Lab): Promise<void> {
  for (const h of lab.hosts) {
    let names: string[] = [];
    try {
      names = readdirSync(h.dir).filter((n) => n.endsWith('.log'));
    } catch {
      continue;
    }
    for (const n of names) {
      const text = await readFile(`${h.dir}/${n}`, 'utf8').catch(() => '(unreadable)');
      process.stderr.write(`--- ${h.name} ${n} ---\n${text}\n`);
    }
  }
}

// A third opinion on the wire: tcpdump on a host's interface decodes every
// advert and verifies its checksum (v2 over the message, v3 with the
// pseudo-header), independently of both implementations.
export interface CapturedAdvert {
  src: string;
  dst: string;
  version: number;
  vrid: number;
  priority: number;
  ttl: number; // TTL (IPv4) or hop limit (IPv6)
  badChecksum: boolean;
  line: string;
}

export async function startCapture(lab: Lab, h: LabHost): Promise<LabProcess> {
  const p = spawnWritingLog(lab, h, ['tcpdump', '-l', '-n', '-vv', '-i', h.dev, 'ip proto 112 or ip6 proto 112'], 'tcpdump.log');
  await waitFor(`tcpdump on ${h.name} to listen`, async () => (await readFile(p.logFile, 'utf8').catch(() => '')).includes('listening on'), 5000);
  return p;
}

export function capturedAdverts(p: LabProcess): CapturedAdvert[] {
  let text = '';
  try {
    text = readFileSync(p.logFile, 'utf8');
  } catch {
    return [];
  }
  // One record per packet: a timestamped line plus its indented continuation.
  const records: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\d\d:\d\d:\d\d\.\d+ /.test(line)) records.push(line);
    else if (/^\s+\S/.test(line) && records.length > 0) records[records.length - 1] += ` ${line.trim()}`;
  }
  const out: CapturedAdvert[] = [];
  for (const r of records) {
    const addr = /\s(\S+) > (\S+?): VRRPv(\d), Advertisement, vrid (\d+), prio (\d+)/.exec(r);
    const ttl = /\b(?:ttl|hlim) (\d+)/.exec(r);
    if (addr === null || ttl === null) continue;
    out.push({
      src: addr[1] as string,
      dst: addr[2] as string,
      version: Number(addr[3]),
      vrid: Number(addr[4]),
      priority: Number(addr[5]),
      ttl: Number(ttl[1]),
      badChecksum: /bad vrrp cksum/.test(r),
      line: r,
    });
  }
  return out;
}

// Every captured advert well formed; returns those sent from `src`.
export function expectWireClean(p: LabProcess, src: string, version: number, vrid: number): CapturedAdvert[] {
  const all = capturedAdverts(p);
  const bad = all.filter((x) => x.badChecksum || x.ttl !== 255 || x.version !== version || x.vrid !== vrid);
  expect(bad.map((x) => x.line), 'adverts tcpdump found wrong').to.deep.equal([]);
  return all.filter((x) => x.src === src);
}
