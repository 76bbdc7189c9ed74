// Drives one VRRP instance: owns its timer, feeds the pure state machine
// with checked adverts, timer expiries and tracker changes, and carries out
// the actions it returns (send an advert, report a transition). All
// decisions are in fsm/; all bytes are in packet/.
import type { InstanceConfig } from '../../config/types.js';
import { initFsm, nextDeadline, step } from '../fsm/fsm.js';
import type { Fsm, FsmConfig, FsmEvent, VrrpState } from '../fsm/types.js';
import { checksumModeFor, encodeAdvert, passAuthData, V2_AUTH_PASS } from '../packet/advert.js';
import { checkAdvert, type CheckContext, type Received } from '../packet/check.js';
import { RateLimitedLog, type Logger } from '../../node/log.js';
import { newStats, type InstanceStats } from './stats.js';
import { groupAddress, type VrrpSocket } from '../transport/vrrp-socket.js';

export interface InstanceHooks {
  onTransition(inst: VrrpInstance, from: VrrpState, to: VrrpState, reason: string): void;
}

const DROP_LOG_WINDOW_MS = 10_000;

export class VrrpInstance {
  readonly stats: InstanceStats = newStats();
  // When an advert from another router last passed the checks (the boot gate's "peer heard").
  peerHeardAt: number | null = null;
  private fsm: Fsm;
  private fsmCfg: FsmConfig;
  private timer: NodeJS.Timeout | null = null;
  private readonly dropLog: RateLimitedLog;
  private readonly authData: Buffer | undefined;
  // What the receive checks need from the configuration, built once (hot path).
  private checkCtx: Omit<CheckContext, 'state'>;

  constructor(
    readonly cfg: InstanceConfig,
    private source: string,
    private socket: VrrpSocket,
    private readonly hooks: InstanceHooks,
    private readonly log: Logger,
    private readonly now: () => number,
    initialPriority: number,
  ) {
    this.fsmCfg = {
      version: cfg.version,
      advertIntCs: cfg.advertIntCs,
      preempt: !cfg.nopreempt,
      preemptDelayMs: cfg.preemptDelayMs,
      primaryIp: source,
      initialState: cfg.initialState,
    };
    this.fsm = initFsm(this.fsmCfg, initialPriority);
    this.dropLog = new RateLimitedLog(DROP_LOG_WINDOW_MS, now);
    this.checkCtx = {
      vrid: cfg.virtualRouterId,
      version: cfg.version,
      family: cfg.family,
      unicast: cfg.unicastPeer.length > 0,
      unicastPeers: cfg.unicastPeer,
      checkUnicastSrc: cfg.checkUnicastSrc,
      advertIntCs: cfg.advertIntCs,
      vips: cfg.virtualIpaddress.map((v) => v.address),
      v3ChecksumAsV2: cfg.v3ChecksumAsV2,
      checksumVerifiedByKernel: cfg.family === 6,
      ...(cfg.authentication ? { authPass: cfg.authentication.authPass } : {}),
    };
    if (cfg.authentication !== undefined) {
      // RFC 3768 5.3.10: the password, zero padded to 8 bytes.
      this.authData = passAuthData(cfg.authentication.authPass);
    }
  }

  get sourceIp(): string {
    return this.source;
  }

  // The interface or its address appeared after start: from now on adverts
  // use this socket and source (RFC 5798 6.4.3 compares the new address).
  rebind(socket: VrrpSocket, source: string): void {
    this.socket = socket;
    this.source = source;
    this.fsmCfg = { ...this.fsmCfg, primaryIp: source };
  }

  get name(): string {
    return this.cfg.name;
  }

  // `tandem reload` changed cfg.virtualIpaddress in place: adverts already use it; the receive check learns it here.
  refreshVips(): void {
    this.checkCtx = { ...this.checkCtx, vips: this.cfg.virtualIpaddress.map((v) => v.address) };
  }

  get snapshot(): Fsm {
    return this.fsm;
  }

  handle(ev: FsmEvent): void {
    const { fsm, actions } = step(this.fsm, this.fsmCfg, ev, this.now());
    this.fsm = fsm;
    for (const a of actions) {
      if (a.type === 'send-advert') this.sendAdvert(a.priority);
      else {
        if (a.to === 'MASTER') this.stats.become_master++;
        if (a.from === 'MASTER') this.stats.release_master++;
        this.hooks.onTransition(this, a.from, a.to, a.reason);
      }
    }
    this.rearm();
  }

  receive(rx: Received): void {
    const ctx: CheckContext = { ...this.checkCtx, state: this.fsm.state, ownAddress: this.source };
    const verdict = checkAdvert(rx, ctx);
    if (!verdict.ok) {
      this.stats.dropped[verdict.reason]++;
      // Adverts are expected to be ignored in INIT/FAULT/STOP; that is no error.
      if (verdict.reason !== 'not-ready') this.logDrop(verdict.reason, `advert from ${rx.src} dropped (${verdict.reason}): ${verdict.detail}`);
      return;
    }
    this.stats.advert_rcvd++;
    for (const w of verdict.warnings) {
      this.stats.warnings[w]++;
      this.logDrop(w, `advert from ${rx.src}: ${w}`);
    }
    const adv = verdict.advert;
    if (adv.priority === 0) this.stats.pri_zero_rcvd++;
    if (rx.src !== this.source) this.peerHeardAt = this.now();
    this.handle({ type: 'advert', src: rx.src, priority: adv.priority, advertIntCs: adv.advertIntCs });
  }

  private logDrop(key: string, msg: string): void {
    const r = this.dropLog.shouldLog(key);
    if (r.log) this.log.warn(`${this.name}: ${msg}${r.suppressed > 0 ? ` (${r.suppressed} similar suppressed)` : ''}`);
  }

  private sendAdvert(priority: number): void {
    const c = this.cfg;
    const dsts = c.unicastPeer.length > 0 ? c.unicastPeer : [groupAddress(c.family)];
    for (const dst of dsts) {
      let payload: Buffer;
      try {
        payload = encodeAdvert(
          {
            version: c.version,
            vrid: c.virtualRouterId,
            priority,
            addresses: c.virtualIpaddress.map((v) => v.address),
            advertIntCs: c.advertIntCs,
            ...(this.authData ? { authType: V2_AUTH_PASS, authData: this.authData } : {}),
          },
          c.family,
          { mode: checksumModeFor(c.version, c.v3ChecksumAsV2, c.family), src: this.source, dst },
        );
      } catch (err) {
        // The validator keeps configurations encodable; never let a bug here stop the timers.
        this.stats.send_errors++;
        this.logDrop('encode', `advert to ${dst} not built: ${(err as Error).message}`);
        continue;
      }
      this.stats.advert_sent++;
      if (priority === 0) this.stats.pri_zero_sent++;
      this.socket.send(payload, this.source, dst).catch((err: Error) => {
        this.stats.send_errors++;
        this.logDrop('send', `advert to ${dst} not sent: ${err.message}`);
      });
    }
  }

  private rearm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const at = nextDeadline(this.fsm);
    if (at === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.handle({ type: 'timer' });
    }, Math.max(0, at - this.now()));
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
