// `tandem replica outdate` for either kind of volume (outdate.ts), in memory:
// which links to a Primary refuse it, and what it drops.
import { expect } from 'chai';
import { outdateVolume, type OutdateHost, type OutdatePeer } from '../../../lib/replication/volume/outdate.js';
import type { DiskState, Role } from '../../../lib/replication/states.js';

function host(disk: DiskState = 'UpToDate'): OutdateHost & { lines: string[]; events: string[] } {
  const lines: string[] = [];
  const events: string[] = [];
  return {
    role: 'Secondary', diskState: disk, lines, events,
    log: { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) },
    emit: (type) => events.push(type),
  };
}

function peer(name: string, peerRole: Role, paused: boolean): OutdatePeer & { reconnects: string[] } {
  const reconnects: string[] = [];
  return { name, peerRole, paused, reconnects, reconnect: (d) => reconnects.push(d) };
}

const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'done', (e: Error) => e.message);

describe('replication/volume/outdate', () => {
  it('refused while a link to the Primary takes its writes', async () => {
    let saved = 0;
    const a = peer('node-a', 'Primary', false);
    expect(await outcome(outdateVolume('db', host(), [a], null, async () => { saved++; })))
      .to.equal('db: connected to the Primary node-a, which keeps this disk up to date; disconnect first (or outdate --by node-a when it asks)');
    expect([saved, a.reconnects.length]).to.deep.equal([0, 0]);
  });

  it('allowed while that link is paused (one source at a time): it takes none of the Primary\'s writes', async () => {
    let saved = 0;
    const h = host();
    const a = peer('node-a', 'Primary', true);
    expect(await outcome(outdateVolume('db', h, [a, peer('node-b', 'Secondary', false)], null, async () => { saved++; }))).to.equal('done');
    expect(saved).to.equal(1);
    expect(a.reconnects, 'a paused link is not the Primary we follow').to.deep.equal([]);
    expect(h.events).to.deep.equal(['replica.outdated']);
  });

  it('asked by the Primary we still follow: Outdated, and that link is dropped', async () => {
    let saved = 0;
    const a = peer('node-a', 'Primary', false);
    expect(await outcome(outdateVolume('db', host(), [a], 'node-a', async () => { saved++; }))).to.equal('done');
    expect([saved, a.reconnects]).to.deep.equal([1, ['node-a outdated us: it goes on without us']]);
  });

  it('--by a node that is not a peer of the volume is refused, nothing changed (it was taken)', async () => {
    let saved = 0;
    const h = host();
    expect(await outcome(outdateVolume('db', h, [peer('node-a', 'Secondary', false), peer('node-c', 'Unknown', false)], 'node-z', async () => { saved++; })))
      .to.equal('db: --by node-z: not a peer of this volume (its peers: node-a, node-c)');
    expect([saved, h.events.length]).to.deep.equal([0, 0]);
  });

  it('an Inconsistent disk stays as it is', async () => {
    let saved = 0;
    const h = host('Inconsistent');
    expect(await outcome(outdateVolume('db', h, [], null, async () => { saved++; }))).to.equal('done');
    expect([saved, h.events.length]).to.deep.equal([0, 0]);
  });
});
