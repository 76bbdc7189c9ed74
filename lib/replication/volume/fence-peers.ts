// Resource-level fencing for a volume of either kind (DRBD `fencing
// resource-only` with a fence-peer handler): a Primary that loses a peer with
// good data fences it, and a promotion first fences every absent peer not
// known fenced. The handler runs through the node's runner (services/exec),
// one run per peer at a time; what it learns is kept on the session, and in
// the volume's metadata, until the peer connects again.
import { TandemError } from '../../errors.js';
import { fenceOnPeerLoss, fenceOutcome, type FencedPeers, type FenceOutcome, type FencingPolicy, type HandlerExit } from '../fencing.js';
import { canPromote, type DiskState, type Role } from '../states.js';
import type { VolumeLog } from './host.js';

const FENCE_TIMEOUT_MS = 60_000;

// Runs `command` with `env` added to the daemon's environment; `signal` ends it early.
export type HandlerRunner = (command: string, env: Record<string, string>, timeoutMs: number, signal: AbortSignal) => Promise<HandlerExit & { output: string }>;

// What fencing reads and writes on a peer session.
export interface FencedPeer {
  readonly name: string;
  readonly address: string;
  readonly connected: boolean;
  readonly peerDisk: DiskState;
  // The peer's disk as fencing left it while it is away; null when unknown.
  fencedDisk: 'Outdated' | 'Inconsistent' | null;
}

export interface FencingOptions {
  volume: string;
  node: string;
  policy: FencingPolicy;
  command: string | undefined; // fence_peer; required by the config for resource-only
  run: HandlerRunner | undefined;
  log: VolumeLog;
  emit(type: string, fields: Record<string, unknown>): void;
  save(): Promise<void>; // the volume's metadata, which holds each peer's fencedDisk
}

// What a promotion may change on its own volume.
export interface FencingSelf {
  disk(): DiskState; // now, not when the promotion began
  setDisk(disk: 'Outdated' | 'UpToDate'): Promise<void>; // saved before it returns
}

// What the metadata keeps of the sessions' fencing.
export function fencedPeersOf(peers: Iterable<FencedPeer>): FencedPeers {
  const out: FencedPeers = new Map();
  for (const p of peers) if (p.fencedDisk !== null) out.set(p.name, p.fencedDisk);
  return out;
}

export class PeerFencing {
  private readonly running = new Map<string, Promise<FenceOutcome>>();
  private readonly controller = new AbortController(); // stop() ends every handler still running

  constructor(private readonly o: FencingOptions) {}

  // Runs the handler for `peer`, or joins the run already going.
  fence(peer: FencedPeer, ownDisk: DiskState, why: string): Promise<FenceOutcome> {
    const going = this.running.get(peer.name);
    if (going !== undefined) return going;
    const run = this.runHandler(peer, ownDisk, why).finally(() => this.running.delete(peer.name));
    this.running.set(peer.name, run);
    return run;
  }

  private async runHandler(peer: FencedPeer, ownDisk: DiskState, why: string): Promise<FenceOutcome> {
    const { o } = this;
    if (o.command === undefined || o.run === undefined) return { kind: 'failed', detail: 'no fence_peer handler is configured' };
    o.log.info(`${o.volume}: fencing ${peer.name} (${why}): running ${o.command}`);
    const env = { TANDEM_VOLUME: o.volume, TANDEM_NODE: o.node, TANDEM_PEER: peer.name, TANDEM_PEER_ADDRESS: peer.address };
    const r = await o.run(o.command, env, FENCE_TIMEOUT_MS, this.controller.signal);
    const out = fenceOutcome(r, ownDisk);
    // Logged first: the status may show the verdict while it is being saved.
    const line = `${o.volume}: fence-peer for ${peer.name}: ${out.detail}${r.output ? ` (${r.output.trim().slice(-200)})` : ''}`;
    if (out.kind === 'failed') o.log.error(line);
    else o.log.warn(line);
    // The peer came back while the handler ran: its live state counts, not the handler's word.
    if (out.kind === 'peer-fenced' && !peer.connected) {
      peer.fencedDisk = out.peerDisk;
      // Saved before anyone acts on it: after a restart this node still knows the peer cannot be promoted on its data.
      await o.save().catch((e: unknown) => o.log.error(`${o.volume}: saving that ${peer.name} is fenced failed: ${(e as Error).message}; after a restart it is fenced again`));
    }
    o.emit('replica.fence', { volume: o.volume, peer: peer.name, outcome: out.kind, detail: out.detail, ...(out.kind === 'peer-fenced' ? { peer_disk: out.peerDisk } : {}) });
    return out;
  }

  // The volume stops: a handler still running is ended (its outcome: failed).
  stop(): void {
    this.controller.abort();
  }

  // The link to `peer` ended while we were `role` and it last said `lastDisk`.
  peerLost(peer: FencedPeer, role: Role, lastDisk: DiskState | null, ownDisk: DiskState): void {
    if (!fenceOnPeerLoss(this.o.policy, role, lastDisk)) return;
    void this.fence(peer, ownDisk, 'the Primary lost its link to it').then((out) => {
      if (out.kind === 'self-outdated') {
        this.o.log.error(`${this.o.volume}: the handler says ${peer.name} is Primary too: two Primaries, a split brain; make one of them Secondary`);
      }
    });
  }

  // Before a promotion: fence every absent peer not known fenced. Refuses
  // (PROMOTE_REFUSED) when a peer may still be Primary, unless forced (DRBD:
  // "Forced into split brain situation!"). A Consistent disk whose absent
  // peers are all fenced, with no connected peer UpToDate, is the newest copy:
  // UpToDate.
  // `silent`: peers dropped while the promotion asked them, absent even if their session has not wound up yet.
  async beforePromote(peers: Iterable<FencedPeer>, self: FencingSelf, force: boolean, silent: readonly string[] = []): Promise<void> {
    const { o } = this;
    if (o.policy !== 'resource-only') return;
    // A promotion refused for another reason runs no handler.
    const disk = self.disk();
    if (!canPromote(disk === 'Consistent' ? 'UpToDate' : disk, force).ok) return;
    const list = [...peers];
    const gone = (p: FencedPeer): boolean => !p.connected || silent.includes(p.name);
    const absent = list.filter((p) => gone(p) && p.fencedDisk === null);
    const outcomes = await Promise.all(absent.map((p) => this.fence(p, disk, 'before becoming Primary')));
    const problems: string[] = [];
    for (const [i, out] of outcomes.entries()) {
      const peer = (absent[i] as FencedPeer).name;
      if (out.kind === 'self-outdated') {
        if (self.disk() !== 'Outdated') await self.setDisk('Outdated');
        problems.push(`${peer} is Primary (${out.detail}); this disk is now Outdated`);
      } else if (out.kind === 'failed') {
        problems.push(`fencing ${peer} failed (${out.detail}), so ${peer} may still be Primary`);
      }
    }
    if (problems.length > 0) {
      if (!force) throw new TandemError('PROMOTE_REFUSED', `${o.volume}: ${problems.join('; ')} (fencing: resource-only); promote with --force only if ${absent.map((p) => p.name).join(', ')} is down for good`);
      o.log.error(`${o.volume}: forced into a possible split brain: ${problems.join('; ')}`);
      return;
    }
    if (self.disk() === 'Consistent' && !list.some((p) => !gone(p) && p.peerDisk === 'UpToDate')) {
      await self.setDisk('UpToDate');
      o.log.info(`${o.volume}: every absent peer is fenced: Consistent -> UpToDate`);
    }
  }
}
