// PeerFencing in memory: which peers a promotion fences, what each handler
// answer does to the promotion and the disks, one run per peer at a time,
// and fencing on a Primary's peer loss.
import { expect } from 'chai';
import { TandemError } from '../../../lib/errors.js';
import type { FencingPolicy, HandlerExit } from '../../../lib/replication/fencing.js';
import { fencedPeersOf, PeerFencing, type FencedPeer, type HandlerRunner } from '../../../lib/replication/volume/fence-peers.js';
import type { DiskState } from '../../../lib/replication/states.js';

class Peer implements FencedPeer {
  fencedDisk: 'Outdated' | 'Inconsistent' | null = null;
  constructor(readonly name: string, public connected: boolean, public peerDisk: DiskState = 'DUnknown') {}
  get address(): string { return `198.51.100.${this.name.charCodeAt(5) - 85}:7789`; }
}

class Self {
  changes: DiskState[] = [];
  constructor(public state: DiskState) {}
  disk = (): DiskState => this.state;
  setDisk(d: 'Outdated' | 'UpToDate'): Promise<void> {
    this.state = d;
    this.changes.push(d);
    return Promise.resolve();
  }
}

interface Run { command: string; env: Record<string, string> }

function setup(codes: Record<string, number | 'hang'>, policy: FencingPolicy = 'resource-only', save: () => Promise<void> = () => Promise.resolve()): { f: PeerFencing; runs: Run[]; logs: string[]; events: Record<string, unknown>[]; release: () => void } {
  const runs: Run[] = [];
  const logs: string[] = [];
  const events: Record<string, unknown>[] = [];
  let release = (): void => undefined;
  const run: HandlerRunner = (command, env) => {
    runs.push({ command, env });
    const code = codes[env['TANDEM_PEER'] as string] ?? 1;
    const result = (c: number): HandlerExit & { output: string } => ({ exitCode: c, signal: null, timedOut: false, startError: null, output: '' });
    if (code === 'hang') return new Promise((res) => { release = () => res(result(4)); });
    return Promise.resolve(result(code));
  };
  const f = new PeerFencing({
    volume: 'db', node: 'node-a', policy, command: '/etc/tandem/fence-peer', run,
    log: { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`), error: (m) => logs.push(`error ${m}`) },
    emit: (_type, fields) => events.push(fields),
    save,
  });
  return { f, runs, logs, events, release: () => release() };
}

const refusal = async (p: Promise<unknown>): Promise<TandemError> => {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).to.be.instanceOf(TandemError);
  expect((e as TandemError).code).to.equal('PROMOTE_REFUSED');
  expect((e as TandemError).transient).to.equal(false);
  return e as TandemError;
};

describe('replicated volume: fencing (fence-peers.ts)', () => {
  describe('before a promotion', () => {
    it('fences only the absent peers not known fenced, with the TANDEM_* variables', async () => {
      const { f, runs, events } = setup({ 'node-b': 4, 'node-d': 7 });
      const peers = [new Peer('node-b', false), new Peer('node-c', true, 'UpToDate'), new Peer('node-d', false), new Peer('node-e', false)];
      (peers[3] as Peer).fencedDisk = 'Outdated';
      await f.beforePromote(peers, new Self('UpToDate'), false);
      expect(runs.map((r) => r.env['TANDEM_PEER'])).to.deep.equal(['node-b', 'node-d']);
      expect(runs[0]).to.deep.equal({ command: '/etc/tandem/fence-peer', env: { TANDEM_VOLUME: 'db', TANDEM_NODE: 'node-a', TANDEM_PEER: 'node-b', TANDEM_PEER_ADDRESS: '198.51.100.13:7789' } });
      expect(peers.map((p) => p.fencedDisk)).to.deep.equal(['Outdated', null, 'Outdated', 'Outdated']);
      expect(events.map((e) => [e['peer'], e['outcome'], e['peer_disk']])).to.deep.equal([['node-b', 'peer-fenced', 'Outdated'], ['node-d', 'peer-fenced', 'Outdated']]);
    });

    it('a peer dropped while the promotion asked it is fenced even before its session winds up', async () => {
      const { f, runs } = setup({ 'node-b': 4 });
      const self = new Self('Consistent');
      await f.beforePromote([new Peer('node-b', true, 'UpToDate')], self, false, ['node-b']);
      expect(runs.map((r) => r.env['TANDEM_PEER'])).to.deep.equal(['node-b']);
      expect(self.changes, 'its last UpToDate does not hold us back: it is gone').to.deep.equal(['UpToDate']);
    });

    it('dont-care runs nothing', async () => {
      const { f, runs } = setup({}, 'dont-care');
      await f.beforePromote([new Peer('node-b', false)], new Self('UpToDate'), false);
      expect(runs).to.deep.equal([]);
    });

    it('a promotion refused anyway (Inconsistent, not forced) runs no handler', async () => {
      const { f, runs } = setup({ 'node-b': 4 });
      await f.beforePromote([new Peer('node-b', false)], new Self('Inconsistent'), false);
      expect(runs).to.deep.equal([]);
    });

    it('exit 6 (the peer is Primary): our disk becomes Outdated and the promotion is refused', async () => {
      const { f } = setup({ 'node-b': 6 });
      const self = new Self('UpToDate');
      const e = await refusal(f.beforePromote([new Peer('node-b', false)], self, false));
      expect(e.message).to.include('node-b is Primary').and.include('this disk is now Outdated');
      expect(self.changes).to.deep.equal(['Outdated']);
    });

    it('a failed handler refuses: the peer may still be Primary', async () => {
      const { f } = setup({ 'node-b': 1 });
      const self = new Self('UpToDate');
      const e = await refusal(f.beforePromote([new Peer('node-b', false)], self, false));
      expect(e.message).to.include('fencing node-b failed (exit 1').and.include('--force only if node-b is down for good');
      expect(self.changes).to.deep.equal([]);
    });

    it('--force goes on past a failed or a Primary answer, and logs the possible split brain', async () => {
      for (const code of [1, 6]) {
        const { f, logs } = setup({ 'node-b': code });
        const self = new Self('UpToDate');
        await f.beforePromote([new Peer('node-b', false)], self, true);
        expect(logs.some((l) => l.startsWith('error db: forced into a possible split brain'))).to.equal(true);
        expect(self.changes).to.deep.equal(code === 6 ? ['Outdated'] : []);
      }
    });

    it('Consistent becomes UpToDate once every absent peer is fenced and no connected peer is UpToDate', async () => {
      const { f } = setup({ 'node-b': 7 });
      const self = new Self('Consistent');
      await f.beforePromote([new Peer('node-b', false), new Peer('node-c', true, 'Inconsistent')], self, false);
      expect(self.changes).to.deep.equal(['UpToDate']);

      const second = setup({ 'node-b': 4 });
      const behind = new Self('Consistent');
      await second.f.beforePromote([new Peer('node-b', false), new Peer('node-c', true, 'UpToDate')], behind, false);
      expect(behind.changes).to.deep.equal([]);
    });

    it('Consistent with an unreachable peer (exit 5) is refused: only UpToDate may take a silent peer for dead', async () => {
      const { f } = setup({ 'node-b': 5 });
      const self = new Self('Consistent');
      const e = await refusal(f.beforePromote([new Peer('node-b', false)], self, false));
      expect(e.message).to.include('our disk is Consistent');
      const up = setup({ 'node-b': 5 });
      const upToDate = new Self('UpToDate');
      await up.f.beforePromote([new Peer('node-b', false)], upToDate, false);
      expect(upToDate.changes).to.deep.equal([]);
    });
  });

  describe('on a Primary\'s peer loss', () => {
    it('fences a peer that had good data; not an Inconsistent or Outdated one, nor from a Secondary', async () => {
      const { f, runs } = setup({ 'node-b': 4 });
      const b = new Peer('node-b', false);
      f.peerLost(b, 'Secondary', 'UpToDate', 'UpToDate');
      f.peerLost(b, 'Primary', 'Inconsistent', 'UpToDate');
      f.peerLost(b, 'Primary', 'Outdated', 'UpToDate');
      f.peerLost(b, 'Primary', null, 'UpToDate');
      expect(runs).to.deep.equal([]);
      f.peerLost(b, 'Primary', 'UpToDate', 'UpToDate');
      await new Promise((r) => setImmediate(r));
      expect(runs).to.have.length(1);
      expect(b.fencedDisk).to.equal('Outdated');
    });

    it('one run per peer at a time: a promotion joins the run the loss started', async () => {
      const { f, runs, release } = setup({ 'node-b': 'hang' });
      const b = new Peer('node-b', false);
      f.peerLost(b, 'Primary', 'UpToDate', 'UpToDate');
      const joined = f.fence(b, 'UpToDate', 'again');
      release();
      expect((await joined).kind).to.equal('peer-fenced');
      expect(runs).to.have.length(1);
    });

    it('a peer back while the handler ran keeps its live state', async () => {
      const { f, release } = setup({ 'node-b': 'hang' });
      const b = new Peer('node-b', false);
      const out = f.fence(b, 'UpToDate', 'test');
      b.connected = true;
      release();
      expect((await out).kind).to.equal('peer-fenced');
      expect(b.fencedDisk).to.equal(null);
    });

    it('a handler saying the peer is Primary too is logged as a split brain', async () => {
      const { f, logs } = setup({ 'node-b': 6 });
      f.peerLost(new Peer('node-b', false), 'Primary', 'UpToDate', 'UpToDate');
      await new Promise((r) => setImmediate(r));
      expect(logs.some((l) => l.includes('node-b is Primary too: two Primaries, a split brain'))).to.equal(true);
    });
  });

  it('stop() ends a handler still running', async () => {
    let seen: AbortSignal | null = null;
    const f = new PeerFencing({
      volume: 'db', node: 'node-a', policy: 'resource-only', command: '/f', log: { info: () => undefined, warn: () => undefined, error: () => undefined }, emit: () => undefined, save: () => Promise.resolve(),
      run: (_c, _e, _t, signal) => new Promise((res) => {
        seen = signal;
        signal.addEventListener('abort', () => res({ exitCode: null, signal: 'SIGTERM', timedOut: false, startError: null, output: '' }));
      }),
    });
    const out = f.fence(new Peer('node-b', false), 'UpToDate', 'test');
    f.stop();
    expect(await out).to.deep.equal({ kind: 'failed', detail: 'the handler was killed by SIGTERM' });
    expect((seen as AbortSignal | null)?.aborted).to.equal(true);
  });

  it('without a runner, fencing fails and says so', async () => {
    const f = new PeerFencing({ volume: 'db', node: 'node-a', policy: 'resource-only', command: '/f', run: undefined, log: { info: () => undefined, warn: () => undefined, error: () => undefined }, emit: () => undefined, save: () => Promise.resolve() });
    expect(await f.fence(new Peer('node-b', false), 'UpToDate', 'test')).to.deep.equal({ kind: 'failed', detail: 'no fence_peer handler is configured' });
  });

  describe('saved in the metadata', () => {
    it('a fenced peer is saved before fence() or the promotion goes on; a peer back meanwhile is not', async () => {
      const peers = [new Peer('node-b', false), new Peer('node-c', false), new Peer('node-d', true, 'UpToDate')];
      const saved: Array<Array<[string, string]>> = [];
      const { f } = setup({ 'node-b': 4, 'node-c': 3 }, 'resource-only', () => {
        saved.push([...fencedPeersOf(peers)]);
        return Promise.resolve();
      });
      await f.beforePromote(peers, new Self('UpToDate'), false);
      // One save per fenced peer, each holding what was known then; the connected peer never.
      expect(saved.at(-1)).to.deep.equal([['node-b', 'Outdated'], ['node-c', 'Inconsistent']]);
      expect(saved).to.have.length(2);
      const back = new Peer('node-e', false);
      const { f: g, release } = setup({ 'node-e': 'hang' }, 'resource-only', () => {
        saved.push([...fencedPeersOf([back])]);
        return Promise.resolve();
      });
      const out = g.fence(back, 'UpToDate', 'test');
      back.connected = true;
      release();
      await out;
      expect(saved).to.have.length(2);
    });

    it('a save that fails is logged; the outcome stands (the peer is fenced again after a restart)', async () => {
      const { f, logs } = setup({ 'node-b': 7 }, 'resource-only', () => Promise.reject(new Error('EIO')));
      const b = new Peer('node-b', false);
      expect((await f.fence(b, 'UpToDate', 'test')).kind).to.equal('peer-fenced');
      expect(b.fencedDisk).to.equal('Outdated');
      expect(logs).to.include('error db: saving that node-b is fenced failed: EIO; after a restart it is fenced again');
    });

    it('fencedPeersOf lists only the peers fencing made something of', () => {
      const [b, c] = [new Peer('node-b', false), new Peer('node-c', false)];
      c.fencedDisk = 'Inconsistent';
      expect([...fencedPeersOf([b, c])]).to.deep.equal([['node-c', 'Inconsistent']]);
    });
  });
});
