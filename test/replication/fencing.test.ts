// The pure part of fencing: every handler result, who may be outdated, and
// the disk state at open, after an in-sync connect and after a resync.
import { expect } from 'chai';
import {
  decodeFencedPeers, diskAfterResync, diskAtOpen, diskWhenInSync, fencedAtOpen, FENCE_EXIT, fenceOnPeerLoss, fenceOutcome, outdateVerdict, type HandlerExit,
} from '../../lib/replication/fencing.js';
import { DISK_STATES, ROLES, type DiskState } from '../../lib/replication/states.js';

const exit = (code: number): HandlerExit => ({ exitCode: code, signal: null, timedOut: false, startError: null });

describe('replication/fencing', () => {
  describe('fenceOutcome: the fence-peer exit codes (DRBD conn_try_outdate_peer)', () => {
    it('3: the peer is Inconsistent', () => {
      expect(fenceOutcome(exit(3), 'UpToDate')).to.deep.include({ kind: 'peer-fenced', peerDisk: 'Inconsistent' });
    });
    it('4: the peer is Outdated, whatever our disk', () => {
      for (const d of ['UpToDate', 'Consistent'] as const) expect(fenceOutcome(exit(4), d)).to.deep.include({ kind: 'peer-fenced', peerDisk: 'Outdated' });
    });
    it('5: an unreachable peer is taken as dead only by an UpToDate disk', () => {
      expect(fenceOutcome(exit(5), 'UpToDate')).to.deep.include({ kind: 'peer-fenced', peerDisk: 'Outdated' });
      for (const d of ['Consistent', 'Outdated', 'Inconsistent'] as const) {
        const o = fenceOutcome(exit(5), d);
        expect(o.kind).to.equal('failed');
        expect(o.detail).to.include(`our disk is ${d}`);
      }
    });
    it('6: the peer is Primary, so we outdate ourselves', () => {
      expect(fenceOutcome(exit(6), 'UpToDate').kind).to.equal('self-outdated');
    });
    it('7: the peer was powered off', () => {
      expect(fenceOutcome(exit(7), 'Consistent')).to.deep.include({ kind: 'peer-fenced', peerDisk: 'Outdated' });
    });
    it('any other exit, a signal, a timeout or a start error fenced nothing, and says why', () => {
      for (const code of [0, 1, 2, 8, 126, 127, 255]) {
        const o = fenceOutcome(exit(code), 'UpToDate');
        expect(o.kind, String(code)).to.equal('failed');
        expect(o.detail).to.include(`exit ${code}`).and.include('4 (peer outdated)');
      }
      expect(fenceOutcome({ exitCode: null, signal: 'SIGKILL', timedOut: false, startError: null }, 'UpToDate')).to.deep.equal({ kind: 'failed', detail: 'the handler was killed by SIGKILL' });
      expect(fenceOutcome({ exitCode: null, signal: 'SIGTERM', timedOut: true, startError: null }, 'UpToDate')).to.deep.equal({ kind: 'failed', detail: 'the handler timed out' });
      expect(fenceOutcome({ exitCode: null, signal: null, timedOut: false, startError: 'ENOENT' }, 'UpToDate').detail).to.include('ENOENT');
    });
    it('the named codes are DRBD\'s', () => {
      expect(FENCE_EXIT).to.deep.equal({ PEER_INCONSISTENT: 3, PEER_OUTDATED: 4, PEER_UNREACHABLE: 5, PEER_PRIMARY: 6, PEER_STONITHED: 7 });
    });
  });

  describe('fenceOnPeerLoss', () => {
    it('only a Primary under resource-only, losing a peer with good data', () => {
      for (const role of ROLES) {
        for (const disk of [...DISK_STATES, null]) {
          const want = role === 'Primary' && (disk === 'UpToDate' || disk === 'Consistent');
          expect(fenceOnPeerLoss('resource-only', role, disk), `${role} ${String(disk)}`).to.equal(want);
          expect(fenceOnPeerLoss('dont-care', role, disk)).to.equal(false);
        }
      }
    });
  });

  describe('outdateVerdict (drbdadm outdate)', () => {
    it('a Secondary with good data is outdated; Outdated and Inconsistent stay', () => {
      expect(outdateVerdict('Secondary', 'UpToDate', null)).to.deep.equal({ ok: true, change: true });
      expect(outdateVerdict('Secondary', 'Consistent', null)).to.deep.equal({ ok: true, change: true });
      expect(outdateVerdict('Secondary', 'Outdated', null)).to.deep.equal({ ok: true, change: false });
      expect(outdateVerdict('Secondary', 'Inconsistent', null)).to.deep.equal({ ok: true, change: false });
    });
    it('the Primary asking (by) may outdate a Secondary that still thinks it follows it; another node may not', () => {
      expect(outdateVerdict('Secondary', 'UpToDate', 'node-a', 'node-a')).to.deep.equal({ ok: true, change: true });
      expect(outdateVerdict('Secondary', 'UpToDate', null, 'node-a')).to.deep.equal({ ok: true, change: true });
      expect(outdateVerdict('Secondary', 'UpToDate', 'node-a', 'node-c')).to.have.property('message').that.includes('outdate --by node-a when it asks');
      expect(outdateVerdict('Primary', 'UpToDate', null, 'node-a')).to.deep.include({ ok: false });
    });
    it('a Primary, a Secondary following a Primary, and no local data are refused, saying why', () => {
      expect(outdateVerdict('Primary', 'UpToDate', null)).to.deep.include({ ok: false }).and.have.property('message').that.includes('only a Secondary');
      expect(outdateVerdict('Secondary', 'UpToDate', 'node-a')).to.have.property('message').that.includes('connected to the Primary node-a').and.includes('disconnect first');
      for (const d of ['Diskless', 'Attaching', 'DUnknown'] as const) expect(outdateVerdict('Secondary', d, null)).to.have.property('message').that.includes(`the disk is ${d}`);
    });
  });

  describe('saved fencing (decodeFencedPeers)', () => {
    it('absent is none; each entry a node name and Outdated or Inconsistent; at most 31', () => {
      expect(decodeFencedPeers(undefined)).to.deep.equal({ ok: true, value: new Map() });
      expect(decodeFencedPeers({ 'node-b': 'Outdated', 'node-c': 'Inconsistent' })).to.deep.equal({ ok: true, value: new Map([['node-b', 'Outdated'], ['node-c', 'Inconsistent']]) });
      const many = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`n${i}`, 'Outdated']));
      const bad: Array<[unknown, string]> = [
        [null, 'not an object'], [[], 'not an object'], ['x', 'not an object'], [many, '32 peers, at most 31'],
        [{ 'node-b': 'UpToDate' }, 'fencedPeers.node-b is "UpToDate", not Outdated or Inconsistent'],
        [{ 'node b': 'Outdated' }, 'not a node name'], [{ ['x'.repeat(64)]: 'Outdated' }, 'not a node name'],
      ];
      for (const [x, why] of bad) expect(decodeFencedPeers(x), why).to.have.property('detail').that.includes(why);
      // A key JSON.parse made an own property cannot reach a prototype.
      const proto = decodeFencedPeers(JSON.parse('{"__proto__": "Outdated"}'));
      expect(proto.ok && proto.value.get('__proto__')).to.equal('Outdated');
      expect(({} as Record<string, unknown>)['Outdated']).to.equal(undefined);
    });
    it('at open: only configured peers count, and every one of them must be fenced', () => {
      const saved = new Map([['node-b', 'Outdated'], ['gone', 'Inconsistent']] as const);
      expect(fencedAtOpen(saved, ['node-b'])).to.deep.equal({ fenced: new Map([['node-b', 'Outdated']]), every: true });
      expect(fencedAtOpen(saved, ['node-b', 'node-c']).every).to.equal(false);
    });
  });

  describe('disk states', () => {
    it('at open: resource-only opens UpToDate as Consistent; dont-care opens Consistent as UpToDate', () => {
      for (const d of DISK_STATES) {
        expect(diskAtOpen(d, 'resource-only'), d).to.equal(d === 'UpToDate' ? 'Consistent' : d);
        expect(diskAtOpen(d, 'dont-care'), d).to.equal(d === 'Consistent' ? 'UpToDate' : d);
      }
    });
    it('at open with every peer known fenced (saved before the restart): good data opens UpToDate under resource-only', () => {
      for (const d of DISK_STATES) {
        expect(diskAtOpen(d, 'resource-only', true), d).to.equal(d === 'UpToDate' || d === 'Consistent' ? 'UpToDate' : d);
        expect(diskAtOpen(d, 'dont-care', true), d).to.equal(diskAtOpen(d, 'dont-care'));
      }
    });
    it('an in-sync connect: Outdated next to UpToDate, Consistent next to UpToDate or Consistent, become UpToDate', () => {
      const up = new Set(['Outdated/UpToDate', 'Consistent/UpToDate', 'Consistent/Consistent']);
      for (const own of DISK_STATES) {
        for (const peer of DISK_STATES) {
          expect(diskWhenInSync(own, peer), `${own}/${peer}`).to.equal(up.has(`${own}/${peer}`) ? 'UpToDate' : own);
        }
      }
    });
    it('after a resync the target is no better than its source', () => {
      const want: Partial<Record<DiskState, DiskState>> = { Outdated: 'Outdated', Consistent: 'Consistent' };
      for (const d of DISK_STATES) expect(diskAfterResync(d), d).to.equal(want[d] ?? 'UpToDate');
    });
  });
});
