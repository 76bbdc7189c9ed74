// agreePromotion: every connected peer is asked; one refusal refuses (and the
// peers that granted are told); a peer without an answer counts as absent.
import { expect } from 'chai';
import { TandemError } from '../../../lib/errors.js';
import { agreePromotion, promoteAgreed, type PromotePeer } from '../../../lib/replication/volume/promote-agreement.js';
import { PromoteArbiter, type PromoteVerdict } from '../../../lib/replication/volume/promote-arbiter.js';

class Peer implements PromotePeer {
  asked: bigint[] = [];
  aborted: bigint[] = [];
  constructor(readonly name: string, readonly connected: boolean, private readonly verdict: PromoteVerdict | null) {}
  askPromotion(id: bigint): Promise<PromoteVerdict | null> {
    this.asked.push(id);
    return Promise.resolve(this.verdict);
  }
  abortPromotion(id: bigint): void {
    this.aborted.push(id);
  }
}

const refusal = async (p: Promise<unknown>): Promise<TandemError> => {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).to.be.instanceOf(TandemError);
  return e as TandemError;
};

describe('replicated volume: promotion agreement', () => {
  it('asks every connected peer, not the absent ones, and goes on when all grant', async () => {
    const peers = [new Peer('node-b', true, { grant: true }), new Peer('node-c', false, null), new Peer('node-d', true, { grant: true })];
    const arbiter = new PromoteArbiter('node-a', 1000);
    const agreed = await agreePromotion('db', arbiter, peers, 500);
    expect(peers.map((p) => p.asked.length)).to.deep.equal([1, 0, 1]);
    expect(peers[0]?.asked).to.deep.equal(peers[2]?.asked);
    agreed.abort();
    expect(peers.map((p) => p.aborted.length), 'abort tells those that granted').to.deep.equal([1, 0, 1]);
    expect(arbiter.answer('node-b', 9n, 'Secondary', 0).grant, 'asking has ended').to.equal(true);
  });

  it('one refusal refuses the promotion, transient, naming the peer and its reason; those that granted release', async () => {
    const peers = [new Peer('node-b', true, { grant: true }), new Peer('node-c', true, { grant: false, reason: 'node-c is Primary' })];
    const e = await refusal(agreePromotion('db', new PromoteArbiter('node-a', 1000), peers, 500));
    expect(e.code).to.equal('PROMOTE_REFUSED');
    expect(e.transient).to.equal(true);
    expect(e.message).to.equal('db: node-c refuses: node-c is Primary (one Primary per volume)');
    expect(peers[0]?.aborted).to.have.length(1);
    expect(peers[1]?.aborted).to.have.length(0);
  });

  it('a peer that did not answer (its link dropped) does not stop the promotion, and is named silent', async () => {
    const peers = [new Peer('node-b', true, null), new Peer('node-c', true, { grant: true })];
    const agreed = await agreePromotion('db', new PromoteArbiter('node-a', 1000), peers, 500);
    expect(peers[0]?.asked).to.have.length(1);
    expect(agreed.silent).to.deep.equal(['node-b']);
  });

  it('a node holding a grant for a peer refuses its own promotion without asking anyone', async () => {
    const arbiter = new PromoteArbiter('node-b', 60_000);
    arbiter.answer('node-a', 1n, 'Secondary', Date.now());
    const peers = [new Peer('node-a', true, { grant: true })];
    const e = await refusal(agreePromotion('db', arbiter, peers, 500));
    expect(e.message).to.equal('db: node-a is becoming Primary (one Primary per volume)');
    expect(e.transient).to.equal(true);
    expect(peers[0]?.asked).to.have.length(0);
  });

  describe('promoteAgreed (both volume kinds)', () => {
    const run = (o: { primary?: boolean; checks?: Array<() => string>; commitFails?: boolean; peers?: Peer[]; fenceFails?: boolean }) => {
      const log: string[] = [];
      const peers = o.peers ?? [new Peer('node-b', true, { grant: true })];
      const checks = o.checks ?? [() => 'ok', () => 'ok'];
      let n = 0;
      const result = promoteAgreed({
        volume: 'db', arbiter: new PromoteArbiter('node-a', 1000), peers, timeoutMs: 500,
        isPrimary: () => o.primary === true,
        check: () => { log.push('check'); return (checks[n++] as () => string)(); },
        fence: async (silent) => {
          log.push(silent.length === 0 ? 'fence absent' : `fence ${silent.join(',')}`);
          if (o.fenceFails === true && silent.length > 0) throw new TandemError('PROMOTE_REFUSED', 'db: fencing node-b failed');
        },
        commit: async (v) => { log.push(`commit ${v}`); if (o.commitFails) throw new Error('EIO'); },
        undo: () => { log.push('undo'); },
      });
      return { log, peers, result };
    };

    it('checks, asks, checks again and commits', async () => {
      const r = run({});
      expect(await r.result).to.equal('ok');
      expect(r.log).to.deep.equal(['fence absent', 'check', 'check', 'commit ok']);
      expect(r.peers[0]?.asked).to.have.length(1);
    });

    it('fencing comes first (it may change the disk the check reads); its refusal asks nobody', async () => {
      const log: string[] = [];
      const peers = [new Peer('node-b', true, { grant: true })];
      const result = promoteAgreed({
        volume: 'db', arbiter: new PromoteArbiter('node-a', 1000), peers, timeoutMs: 500, isPrimary: () => false,
        fence: async () => { log.push('fence'); throw new TandemError('PROMOTE_REFUSED', 'db: node-b is Primary (exit 6)'); },
        check: () => { log.push('check'); return 'ok'; },
        commit: async () => { log.push('commit'); },
        undo: () => { log.push('undo'); },
      });
      expect((await refusal(result)).message).to.equal('db: node-b is Primary (exit 6)');
      expect(log).to.deep.equal(['fence']);
      expect(peers[0]?.asked).to.have.length(0);
    });

    it('a refusal at the first check asks nobody', async () => {
      const r = run({ checks: [() => { throw new TandemError('PROMOTE_REFUSED', 'db: Inconsistent'); }] });
      expect((await refusal(r.result)).message).to.equal('db: Inconsistent');
      expect(r.peers[0]?.asked).to.have.length(0);
    });

    it('a promotion that finished meanwhile is not done twice', async () => {
      const r = run({ primary: true });
      expect(await r.result).to.equal(null);
      expect(r.log).to.deep.equal(['fence absent', 'check']);
    });

    it('peers dropped while asked are fenced before the commit; a fencing refusal frees the granting peers', async () => {
      const r = run({ peers: [new Peer('node-b', true, null), new Peer('node-c', true, { grant: true })] });
      expect(await r.result).to.equal('ok');
      expect(r.log).to.deep.equal(['fence absent', 'check', 'fence node-b', 'check', 'commit ok']);
      const refused = run({ peers: [new Peer('node-b', true, null), new Peer('node-c', true, { grant: true })], fenceFails: true });
      expect((await refusal(refused.result)).message).to.equal('db: fencing node-b failed');
      expect(refused.log).to.deep.equal(['fence absent', 'check', 'fence node-b', 'undo']);
      expect(refused.peers[1]?.aborted).to.have.length(1);
      const none = run({});
      await none.result;
      expect(none.log, 'no silent peer: fencing only before asking').to.deep.equal(['fence absent', 'check', 'check', 'commit ok']);
    });

    it('a failed commit, or a refusal at the second check, is undone and the granting peers are freed', async () => {
      const failed = run({ commitFails: true });
      expect(await failed.result.then(() => 'done', (e: Error) => e.message)).to.equal('EIO');
      expect(failed.log).to.deep.equal(['fence absent', 'check', 'check', 'commit ok', 'undo']);
      expect(failed.peers[0]?.aborted).to.have.length(1);
      const second = run({ checks: [() => 'ok', () => { throw new TandemError('PROMOTE_REFUSED', 'db: node-b is Primary'); }] });
      expect((await refusal(second.result)).message).to.equal('db: node-b is Primary');
      expect(second.log).to.deep.equal(['fence absent', 'check', 'check', 'undo']);
      expect(second.peers[0]?.aborted).to.have.length(1);
    });
  });
});
