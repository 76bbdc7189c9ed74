// PeerView: the source's idea of the peer's tree as changes are sent.
import { expect } from 'chai';
import { DIR_MODE } from '../../../lib/replication/files/apply.js';
import type { Manifest, ManifestEntry } from '../../../lib/replication/files/manifest.js';
import { PeerView, sameEntry } from '../../../lib/replication/files/peer-view.js';

const file = (size: number, mtimeMs = 1000, mode = 0o644): ManifestEntry => ({ type: 'file', size, mtimeMs, mode });
const dir = (mode = 0o755): ManifestEntry => ({ type: 'dir', size: 0, mtimeMs: 0, mode });
const link = (target: string, mode = 0o777): ManifestEntry => ({ type: 'symlink', size: target.length, mtimeMs: 0, mode, target });

describe('replication/files: the view of the peer\'s tree (PeerView)', () => {
  it('a file sent below missing directories adds them as the peer\'s apply creates them', () => {
    const v = new PeerView(new Map<string, ManifestEntry>([['a', dir()]]));
    v.record('a/b/c/f', file(3));
    expect(v.get('a/b/c/f')).to.deep.equal(file(3));
    expect(v.get('a/b')).to.deep.equal({ type: 'dir', size: 0, mtimeMs: 0, mode: DIR_MODE });
    expect(v.get('a/b/c')?.type).to.equal('dir');
    expect(v.get('a')).to.deep.equal(dir(), 'an existing parent is left as it is');
  });

  it('removing a directory removes everything below it, and nothing beside it', () => {
    const v = new PeerView(new Map<string, ManifestEntry>([['d', dir()], ['d/x', file(1)], ['d/e', dir()], ['d/e/y', file(2)], ['dd', file(3)]]));
    v.record('d', null);
    expect(v.differences(new Map([['dd', file(3)]]))).to.deep.equal([]);
  });

  it('a refused change is forgotten, so the next look finds it again', () => {
    const v = new PeerView(new Map<string, ManifestEntry>());
    v.record('f', file(10));
    v.forget('f');
    expect(v.differences(new Map([['f', file(10)]]))).to.deep.equal(['f']);
  });

  it('finds what a walk of our tree shows and the view does not: new, changed, and gone paths', () => {
    const peer: Manifest = new Map<string, ManifestEntry>([['same', file(5)], ['bigger', file(5)], ['newer', file(5, 1000)], ['mode', file(5)], ['gone', file(1)], ['l', link('x')]]);
    const local: Manifest = new Map<string, ManifestEntry>([
      ['same', file(5, 1000.004)], ['bigger', file(6)], ['newer', file(5, 2000)], ['mode', file(5, 1000, 0o600)], ['new', file(1)], ['l', link('x')],
    ]);
    expect(new PeerView(peer).differences(local).sort()).to.deep.equal(['bigger', 'gone', 'mode', 'new', 'newer']);
  });

  it('compares symlinks by target whatever their mode, directories by mode, files by size and mtime', () => {
    expect(sameEntry(link('x', 0o777), link('x', 0o755))).to.equal(true);
    expect(sameEntry(link('x'), link('y'))).to.equal(false);
    expect(sameEntry(dir(0o755), dir(0o700))).to.equal(false);
    expect(sameEntry(dir(), { ...dir(), mtimeMs: 5 })).to.equal(true);
    expect(sameEntry(file(1), dir())).to.equal(false);
    expect(sameEntry(file(1, 1000), file(1, 1000.02))).to.equal(false);
  });
});
