// The daemon: loads the configuration (refusing a bad one before anything
// starts), clears leftover VIPs, starts the VRRP engine and the control
// socket, and on SIGTERM / SIGINT leaves cleanly: a MASTER sends priority 0
// and removes its VIPs before the process exits.
import { mkdir } from 'node:fs/promises';
import { EX_CONFIG, EX_OSERR, EX_SOFTWARE, TandemError } from '../errors.js';
import { formatIssues, formatWarnings, loadConfigFile } from '../config/load.js';
import type { TandemConfig } from '../config/types.js';
import { createAnnouncer } from '../net/announce.js';
import { VrrpEngine } from '../vrrp/engine/engine.js';
import { Conductor } from './conductor.js';
import { ControlServer } from './control-server.js';
import { EventBus } from './events.js';
import { createLogger, type Logger } from './log.js';
import { Notifier } from './notify.js';
import { preflight } from './preflight.js';
import { Replication } from './replication.js';
import { buildStatus, type DaemonPhase } from './status.js';
import { haInstanceOf, HaNode } from './ha-node.js';
import { SdNotify } from './sd-notify.js';
import { stopBudgetMs } from './stop-budget.js';
import { reload, type ReloadResult } from './reload.js';
import { VrrpElection } from './vrrp-election.js';

export interface DaemonOptions {
  debug?: boolean;
}

const STOP_NOTIFY_WAIT_MS = 5000;

// keepalived -t: the file as the daemon would read it, checked and summed up; nothing starts. Exit 0 or 78.
export async function testConfig(configPath: string): Promise<number> {
  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`${formatIssues(loaded.issues, configPath)}\n`);
    process.stderr.write(`tandem: configuration refused (${loaded.issues.length} problem${loaded.issues.length === 1 ? '' : 's'})\n`);
    return EX_CONFIG;
  }
  const c = loaded.config;
  if ((loaded.warnings ?? []).length > 0) process.stderr.write(`${formatWarnings(loaded.warnings ?? [], configPath)}\n`);
  const n = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`;
  const problems = await preflight(c, (m) => process.stderr.write(`${configPath}: warning: ${m}\n`));
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`${configPath}: ${p}\n`);
    process.stderr.write(`tandem: the file is valid, but a start would fail (${n(problems.length, 'problem')})\n`);
    return EX_CONFIG;
  }
  process.stdout.write(`${configPath}: valid for node ${c.node.name}: ${n(c.vrrp.instances.length, 'VRRP instance')}, ${n(c.replication.volumes.length, 'replicated volume')}, ${n(c.services.length, 'service')}\n`);
  return 0;
}

export async function runDaemon(configPath: string, options: DaemonOptions = {}): Promise<number> {
  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`${formatIssues(loaded.issues, configPath)}\n`);
    process.stderr.write(`tandem: configuration refused (${loaded.issues.length} problem${loaded.issues.length === 1 ? '' : 's'}); nothing was started\n`);
    return EX_CONFIG;
  }
  const cfg = loaded.config;
  if ((loaded.warnings ?? []).length > 0) process.stderr.write(`${formatWarnings(loaded.warnings ?? [], configPath)}\n`);
  const log = createLogger(cfg.node.name, undefined, options.debug === true);
  try {
    return await run(cfg, log, configPath);
  } catch (err) {
    log.error(err instanceof Error ? err.message : String(err));
    return err instanceof TandemError ? (err.exitCode ?? EX_OSERR) : EX_SOFTWARE;
  }
}

async function run(cfg: TandemConfig, log: Logger, configPath: string): Promise<number> {
  await mkdir(cfg.node.stateDir, { recursive: true, mode: 0o700 });
  const started = Date.now();
  const events = new EventBus();
  const notifier = new Notifier(log, events);
  const announcer = createAnnouncer();
  const conductor = new Conductor(log, events, notifier, announcer);
  const engine = new VrrpEngine(cfg.vrrp, {
    onTransition: (ev) => conductor.onTransition(ev),
    onGroupTransition: (g, from, to) => conductor.onGroupTransition(g, from, to),
    onAddressesChanged: (dev) => conductor.onAddressesChanged(dev),
  }, log);
  const control = new ControlServer(cfg.node.controlSocket, events, log);
  let ha: HaNode | null = null;
  let replication: Replication | null = null;
  let phase: DaemonPhase = 'starting';
  control.handle('status', () => buildStatus(cfg, engine, started, phase, ha, replication?.status().volumes ?? []));
  const sd = SdNotify.fromEnv(process.env, log);

  // Listen for the stop signals first: a SIGTERM during start-up must still leave cleanly.
  // `on`, not `once`: execa's exit hook re-raises a signal nobody else listens to, which
  // would kill us mid-shutdown; a repeated signal is just logged.
  let fatal: Error | null = null;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    let received: NodeJS.Signals | null = null;
    const on = (sig: NodeJS.Signals): void => {
      if (received !== null) log.warn(`${sig}: already stopping (after ${received})`);
      received ??= sig;
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
    // Last resort: a bug must not leave a VIP behind without a priority-0 advert.
    // Stop the way SIGTERM does, then exit EX_SOFTWARE.
    const onFatal = (err: unknown): void => {
      const e = err instanceof Error ? err : new Error(String(err));
      log.error(`internal error, stopping: ${e.stack ?? e.message}`);
      fatal ??= e;
      on('SIGTERM');
    };
    process.on('uncaughtException', onFatal);
    process.on('unhandledRejection', onFatal);
  });
  // One reload at a time; SIGHUP and `tandem reload` share it.
  let reloading: Promise<ReloadResult> | null = null;
  const doReload = (): Promise<ReloadResult> => {
    reloading ??= reload(configPath, { cfg, engine, conductor, ha, log, emit: (t, f) => events.emit(t, f) }).finally(() => (reloading = null));
    return reloading;
  };
  control.handle('reload', () => doReload());
  process.on('SIGHUP', () => void doReload().catch((e: Error) => log.error(e.message)));
  let signal: NodeJS.Signals | null = null;
  try {
    await control.start();
    replication = await Replication.start(cfg.node.name, cfg.replication, log, events);
    replication.register(control);
    const haInstance = haInstanceOf(cfg);
    if (haInstance !== null) {
      ha = new HaNode(cfg, new VrrpElection(engine, haInstance), conductor, replication, log, (type, fields) => events.emit(type, fields), (l) => events.subscribe(l));
      ha.register(control);
    } else HaNode.registerAbsent(control, cfg);
    await conductor.removeLeftovers(cfg.vrrp.instances);
    const node = ha;
    await engine.start(node === null ? undefined : () => node.beforeElection());
    log.info(`started: ${cfg.vrrp.instances.length} VRRP instance(s), ${cfg.replication.volumes.length} replicated volume(s), ${cfg.services.length} service(s), control socket ${cfg.node.controlSocket}`);
    events.emit('daemon.started', { node: cfg.node.name, pid: process.pid });
    // systemd Type=notify: READY once the configuration is loaded and the control socket answers.
    void sd?.ready(`${cfg.vrrp.instances.length} VRRP instance(s), ${cfg.replication.volumes.length} volume(s), ${cfg.services.length} service(s)`);
    sd?.startWatchdog();
    phase = 'running';
    signal = await stopSignal;
    phase = 'stopping';
    log.info(`${signal}: stopping`);
    void sd?.stopping(stopBudgetMs(cfg));
  } finally {
    phase = 'stopping';
    // On a start-up failure too: nothing we started may outlive us (VIPs, children, the socket file).
    // A MASTER first lets go in order (VIPs, services, volumes) while still MASTER, as a switchover does: the
    // peer never starts a service while ours still stops, nor gives up its promote step waiting for our demote.
    await ha?.release(`daemon stop (${signal ?? 'start-up failure'})`).catch((e: unknown) => log.error(`letting go before the stop: ${(e as Error).message}`));
    // STOP sends priority 0; the group's leaving steps then remove what is left, and notify.
    await engine.stop();
    await conductor.drain();
    await ha?.stop().catch((e: unknown) => log.error(`stopping services: ${(e as Error).message}`));
    await replication?.stop().catch((e: unknown) => log.error(`stopping replication: ${(e as Error).message}`));
    await notifier.drain(STOP_NOTIFY_WAIT_MS);
    events.emit('daemon.stopped', { node: cfg.node.name, signal });
    notifier.abort();
    sd?.stopWatchdog();
    announcer.close();
    await control.stop();
  }
  log.info('stopped');
  return fatal === null ? 0 : EX_SOFTWARE;
}
