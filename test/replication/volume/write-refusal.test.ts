import { expect } from 'chai';
import { WriteRefusal } from '../../../lib/replication/volume/write-refusal.js';

describe('replicated volume: write refusal while a peer\'s data is to replace ours (pure)', () => {
  function make(): { r: WriteRefusal; lines: string[] } {
    const lines: string[] = [];
    const log = { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`) };
    return { r: new WriteRefusal('db', log), lines };
  }

  it('refuses with EIO from the decision on, logs once, and takes writes again when a connect settles it', () => {
    const { r, lines } = make();
    expect(r.error()).to.equal(null);
    r.decided('node-b', "node-b's data is to replace node-a's");
    const e = r.error() as Error & { code?: string };
    expect(e.code).to.equal('EIO');
    expect(e.message).to.equal("db: writes refused: node-b's data is to replace node-a's; make this node Secondary (it then resyncs from node-b), or `tandem replica disconnect db` to write on this node's own data (a split brain)");
    r.error();
    expect(lines.filter((l) => l.startsWith('warn'))).to.have.length(1);
    r.decided('node-c', null); // another peer's settled connect changes nothing
    expect(r.error()).to.not.equal(null);
    r.decided('node-b', null);
    expect(r.error()).to.equal(null);
    expect(lines.at(-1)).to.equal('info db: writes taken again (node-b: the connect settled how the two copies relate)');
  });

  it('a demotion or the operator\'s disconnect clears every peer\'s refusal; a new one is logged again', () => {
    const { r, lines } = make();
    r.decided('node-b', 'why b');
    r.decided('node-c', 'why c');
    r.error();
    r.clear('tandem replica disconnect');
    expect(r.error()).to.equal(null);
    expect(lines.at(-1)).to.equal('info db: writes taken again (tandem replica disconnect)');
    r.decided('node-b', 'why b');
    r.error();
    expect(lines.filter((l) => l.startsWith('warn'))).to.have.length(2);
  });
});
