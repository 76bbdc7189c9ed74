// The record says unclean on disk before anything relies on it (unclean-record.ts).
import { expect } from 'chai';
import { UncleanRecord } from '../../../lib/replication/volume/unclean-record.js';

function harness(fail = false) {
  const record = { cleanShutdown: true };
  const saved: boolean[] = [];
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const u = new UncleanRecord({
    volume: 'db', record,
    save: async () => {
      await gate;
      if (fail) throw new Error('EIO');
      saved.push(record.cleanShutdown);
    },
  });
  return { u, record, saved, release: () => release(), reopen: () => (gate = new Promise<void>((r) => (release = r))) };
}

describe('replication/volume UncleanRecord', () => {
  it('one save for concurrent callers; on disk only once it is done', async () => {
    const h = harness();
    const [p1, p2] = [h.u.ensure(), h.u.ensure()];
    expect(h.record.cleanShutdown).to.equal(false);
    expect(h.u.onDisk).to.equal(false);
    h.release();
    await Promise.all([p1, p2]);
    expect(h.saved).to.deep.equal([false]);
    expect(h.u.onDisk).to.equal(true);
    await h.u.ensure();
    expect(h.saved, 'no second save').to.have.length(1);
  });

  it('after a clean save (a demote) it saves unclean again', async () => {
    const h = harness();
    h.release();
    await h.u.ensure();
    h.record.cleanShutdown = true; // demote or stop
    expect(h.u.onDisk).to.equal(false);
    h.reopen();
    const p = h.u.ensure();
    expect(h.u.onDisk).to.equal(false);
    h.release();
    await p;
    expect(h.saved).to.deep.equal([false, false]);
    expect(h.u.onDisk).to.equal(true);
  });

  it('a failed save stays a failure, and the record never says clean again here', async () => {
    const h = harness(true);
    h.release();
    let err: unknown = null;
    await h.u.ensure().catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/^db: saving the metadata as not cleanly shut down failed \(nothing relies on it yet\): EIO$/);
    expect(h.u.onDisk).to.equal(false);
    expect(h.record.cleanShutdown).to.equal(false);
    let again: unknown = null;
    await h.u.ensure().catch((e: unknown) => (again = e));
    expect(again).to.equal(err);
  });
});
