import { expect } from 'chai';
import { BootGate, type BootConfig, type BootObservation } from '../../lib/node/boot-gate.js';

const obs = (peerHeard: boolean, witnessAnswered: boolean, volumesUpToDate: boolean): BootObservation => ({ peerHeard, witnessAnswered, volumesUpToDate });
const ALL: BootObservation[] = [false, true].flatMap((p) => [false, true].flatMap((w) => [false, true].map((v) => obs(p, w, v))));

describe('node/boot-gate (ESC\'s Switching-to-Master)', () => {
  it('every config, observation and time: READY exactly when the peer is heard, the witness answers, or standalone_after passed with volumes UpToDate', () => {
    const configs: BootConfig[] = [
      { standaloneAfterMs: null, witness: null }, { standaloneAfterMs: 300_000, witness: null },
      { standaloneAfterMs: null, witness: '192.0.2.1' }, { standaloneAfterMs: 300_000, witness: '192.0.2.1' },
    ];
    for (const cfg of configs) {
      for (const o of ALL) {
        for (const t of [0, 299_999, 300_000, 900_000]) {
          const v = new BootGate(cfg, 1000).step(1000 + t, o);
          const want = o.peerHeard || (cfg.witness !== null && o.witnessAnswered) || (cfg.standaloneAfterMs !== null && t >= cfg.standaloneAfterMs && o.volumesUpToDate);
          expect(v.state, JSON.stringify({ cfg, o, t })).to.equal(want ? 'READY' : 'WAITING');
          if (v.state === 'READY') expect(v.deadline).to.equal(null);
          else expect(v.deadline).to.equal(cfg.standaloneAfterMs !== null && t < cfg.standaloneAfterMs ? 1000 + cfg.standaloneAfterMs : null);
        }
      }
    }
  });

  it('once READY, it stays READY (losing the peer later is the election\'s business, not boot safety)', () => {
    const g = new BootGate({ standaloneAfterMs: null, witness: null }, 0);
    expect(g.step(10, obs(true, false, false)).state).to.equal('READY');
    expect(g.step(20, obs(false, false, false))).to.deep.equal({ state: 'READY', reason: 'the peer was heard', deadline: null });
  });

  it('says why it waits, and what would let it start', () => {
    const g = new BootGate({ standaloneAfterMs: 300_000, witness: '192.0.2.1' }, 0);
    expect(g.step(120_000, obs(false, false, true)).reason).to.equal(
      'waiting for the peer (no VRRP advert or replication link yet); witness 192.0.2.1 not answering; starting alone in 180 s if every volume is UpToDate');
    expect(g.step(400_000, obs(false, false, false)).reason).to.include('standalone_after passed, but not every volume is UpToDate (a node with stale data must not start alone)');
    expect(new BootGate({ standaloneAfterMs: null, witness: null }, 0).step(5, obs(false, false, true)).reason).to.include('no startup.standalone_after: waiting until the peer is heard');
    expect(g.step(400_001, obs(false, false, true)).reason).to.equal('no word from the peer for 300 s and every volume UpToDate: starting alone');
  });
});
