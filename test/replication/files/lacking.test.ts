import { expect } from 'chai';
import { LackingChanges } from '../../../lib/replication/files/lacking.js';

// The saves a LackingChanges asks for, in order.
function tracked(restored: ConstructorParameters<typeof LackingChanges>[0] = null): { l: LackingChanges; saves: string[] } {
  const saves: string[] = [];
  const l = new LackingChanges(restored, () => saves.push('now'), () => saves.push('soon'));
  return { l, saves };
}

describe('replication/files/lacking', () => {
  it('counts failed changes until each lands; saved at once when it starts and stops lacking, soon in between', () => {
    const { l, saves } = tracked();
    expect([l.any, l.count, l.first, l.record()]).to.deep.equal([false, 0, null, null]);
    l.failed('big', 'ENOSPC from node-a');
    l.failed('dir/x', 'EACCES from node-a');
    l.failed('big', 'ENOSPC from node-a'); // the retry failed again: still one
    expect([l.any, l.count, l.first]).to.deep.equal([true, 2, '"big": ENOSPC from node-a']);
    expect(l.record()).to.deep.equal({ count: 2, first: '"big": ENOSPC from node-a' });
    l.applied('big');
    l.applied('never-failed'); // nothing to do, no save
    expect([l.count, l.first]).to.deep.equal([1, '"dir/x": EACCES from node-a']);
    l.applied('dir/x');
    expect([l.any, l.record()]).to.deep.equal([false, null]);
    expect(saves).to.deep.equal(['now', 'soon', 'soon', 'soon', 'now']);
  });

  it('a record from before a restart counts until clear(): the paths are unknown, so a single landed change does not clear it', () => {
    const { l, saves } = tracked({ count: 4, first: '"big": ENOSPC from node-a' });
    expect([l.any, l.count, l.first]).to.deep.equal([true, 4, '"big": ENOSPC from node-a (before this node restarted)']);
    l.applied('big');
    expect(l.any).to.equal(true);
    l.failed('new', 'ENOSPC from node-a');
    expect([l.count, l.first]).to.deep.equal([5, '"new": ENOSPC from node-a']);
    expect(l.record()).to.deep.equal({ count: 5, first: '"new": ENOSPC from node-a' });
    l.applied('new');
    expect(l.record(), 'the restored count alone').to.deep.equal({ count: 4, first: '"big": ENOSPC from node-a' });
    l.clear();
    expect([l.any, l.count, l.first, l.record()]).to.deep.equal([false, 0, null, null]);
    l.clear(); // nothing lacking: no save
    expect(saves).to.deep.equal(['soon', 'soon', 'now']);
  });

  it('a restored record of zero changes is nothing lacking', () => {
    const { l } = tracked({ count: 0, first: 'x' });
    expect(l.any).to.equal(false);
  });
});
