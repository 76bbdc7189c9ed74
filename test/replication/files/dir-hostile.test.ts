// An authenticated but hostile peer against a directory volume (issue 4 "Bad
// input" / "Hostile frames"): path traversal, absolute paths, paths through a
// symlink that points out of the root, oversized and garbage payloads, frames
// out of order. Each drops the link with the reason logged, and nothing is
// written outside the tree (nor inside it, for the refused frame).
import { expect } from 'chai';
import { lstat, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FLAG_LAST } from '../../../lib/replication/link/frame-types.js';
import type { DirectoryVolume } from '../../../lib/replication/files/dir-volume.js';
import { encodeDataHeader, encodeEnd, encodeFile, encodeOp } from '../../../lib/replication/files/wire.js';
import { encodeState, type PeerState } from '../../../lib/replication/volume/wire.js';
import { sleep, waitFor } from '../../helpers/env.js';
import { Impostor } from '../volume/impostor.js';
import { DirCluster } from './dir-harness.js';

describe('directory volume: a hostile authenticated peer', function () {
  this.timeout(30_000);
  let c: DirCluster;
  let v: DirectoryVolume;
  let outside: string;
  const open: Impostor[] = [];

  // node-b: a Secondary, UpToDate at a generation of its own, with a file and a symlink that points out of its tree.
  beforeEach(async () => {
    c = await DirCluster.create();
    v = await c.start('node-b');
    await v.promote(true);
    await v.demote();
    outside = join(c.root, 'outside');
    await mkdir(outside);
    await writeFile(join(c.tree('node-b'), 'keep'), 'data');
    await symlink(outside, join(c.tree('node-b'), 'out'));
  });

  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
    await c.destroy();
  });

  const state = (o: Partial<PeerState> = {}): PeerState => ({
    role: 'Primary', disk: 'UpToDate', generations: v.generations, size: 0, blockSize: 0, protocol: 'C', changedBlocks: 0, discardMyData: false, ...o,
  });

  // Past the handshake as node-a, Primary at node-b's generation: node-b takes changes from it.
  async function source(o: Partial<PeerState> = {}): Promise<Impostor> {
    const i = await Impostor.connect(c.config('node-b').listen.port, 'node-a', 'node-b', undefined, 'conf');
    open.push(i);
    await i.frame('STATE');
    i.send('STATE', encodeState(state(o)));
    await waitFor('node-b connected', async () => ['Established', 'SyncSource'].includes(v.peers.get('node-a')?.replication ?? ''), 10_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${c.logs.slice(-10).join('\n')}`);
    });
    return i;
  }

  async function expectDropped(i: Impostor, why: string): Promise<void> {
    const info = await Promise.race([i.link.closed, sleep(10_000).then(() => null)]);
    expect(info, 'node-b closed the link').to.not.equal(null);
    expect(info?.reason).to.equal('peer-error');
    expect(info?.detail, 'the impostor is told why').to.include(why);
    await waitFor(`node-b logs "${why}"`, async () => c.logs.some((l) => l.startsWith('node-b warn') && l.includes(why)), 5000);
    expect(await readdir(outside), 'nothing outside the tree').to.deep.equal([]);
    // A temporary file of the refused transfer is removed as the link winds up.
    await waitFor('nothing new in the tree', async () => (await readdir(c.tree('node-b'))).sort().join() === 'keep,out', 5000);
  }

  const op = (o: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify(o));

  it('control: a well-formed mkdir from the Primary is applied and acknowledged', async () => {
    const i = await source();
    i.send('DIR_OP', encodeOp({ id: 1, kind: 'mkdir', path: 'newdir', mode: 0o750, mtimeMs: 1e12 }));
    const ack = await i.frame('DIR_ACK');
    expect(JSON.parse(ack.payload.toString())).to.deep.equal({ id: 1, ok: true });
    expect((await lstat(join(c.tree('node-b'), 'newdir'))).mode & 0o777).to.equal(0o750);
  });

  for (const [what, path] of [['a ".." segment', '../escape'], ['an absolute path', '/tmp/escape'], ['a ".." in the middle', 'a/../../escape'], ['an empty segment', 'a//b']] as const) {
    it(`a DIR_OP with ${what} drops the link`, async () => {
      const i = await source();
      i.send('DIR_OP', op({ id: 1, kind: 'mkdir', path, mode: 0o755, mtimeMs: 0 }));
      await expectDropped(i, 'DIR_OP');
    });
  }

  it('a DIR_FILE whose path goes through a symlink that points out of the tree is refused and the link dropped', async () => {
    const i = await source();
    i.send('DIR_FILE', encodeFile({ id: 1, path: 'out/evil', delta: false, size: 5 }));
    i.send('DIR_DATA', Buffer.concat([encodeDataHeader(1, 0), Buffer.from('pwned')]));
    i.send('DIR_END', encodeEnd({ id: 1, abort: false, size: 5, sha256: 'a'.repeat(64), mode: 0o644, mtimeMs: 0 }));
    await expectDropped(i, 'parent "out" is a symlink');
  });

  it('a symlink op may store a target outside the tree (it is never followed) but not escape by its own path', async () => {
    const i = await source();
    i.send('DIR_OP', encodeOp({ id: 1, kind: 'symlink', path: 'out/inner', target: '/etc/passwd', mtimeMs: 0 }));
    await expectDropped(i, 'parent "out" is a symlink');
  });

  it('DIR_DATA with no DIR_FILE before it drops the link', async () => {
    const i = await source();
    i.send('DIR_DATA', Buffer.concat([encodeDataHeader(7, 0), Buffer.from('x')]));
    await expectDropped(i, 'DIR_DATA for file 7');
  });

  it('a whole file whose DIR_DATA skips bytes drops the link, and no partial file stays', async () => {
    const i = await source();
    i.send('DIR_FILE', encodeFile({ id: 1, path: 'partial', delta: false, size: 6 }));
    i.send('DIR_DATA', Buffer.concat([encodeDataHeader(1, 0), Buffer.from('abc')]));
    i.send('DIR_DATA', Buffer.concat([encodeDataHeader(1, 100), Buffer.from('def')]));
    await expectDropped(i, 'out of order');
  });

  it('a file announced small that keeps sending data drops the link (memory is not the peer\'s to take)', async () => {
    const i = await source();
    i.send('DIR_FILE', encodeFile({ id: 1, path: 'grows', delta: false, size: 10 }));
    for (let k = 0; k < 3; k++) i.send('DIR_DATA', Buffer.concat([encodeDataHeader(1, k << 20), Buffer.alloc(1 << 20, 1)]));
    await expectDropped(i, 'announced at most');
  });

  it('a file whose content does not match its DIR_END hash is not published (acknowledged as a failure)', async () => {
    const i = await source();
    i.send('DIR_FILE', encodeFile({ id: 1, path: 'f', delta: false, size: 3 }));
    i.send('DIR_DATA', Buffer.concat([encodeDataHeader(1, 0), Buffer.from('abc')]));
    i.send('DIR_END', encodeEnd({ id: 1, abort: false, size: 3, sha256: '0'.repeat(64), mode: 0o644, mtimeMs: 0 }));
    const ack = JSON.parse((await i.frame('DIR_ACK')).payload.toString()) as { ok: boolean; code: string };
    expect(ack.ok).to.equal(false);
    expect(ack.code).to.equal('FILE_HASH_MISMATCH');
    expect((await readdir(c.tree('node-b'))).sort()).to.deep.equal(['keep', 'out']);
  });

  it('an oversized JSON payload and garbage JSON drop the link', async () => {
    const i = await source();
    i.send('DIR_OP', Buffer.alloc((1 << 20) + 10, 0x20));
    await expectDropped(i, 'DIR_OP is');
    const j = await source();
    j.send('DIR_FILE', Buffer.from('{"id": 1, "path": '));
    await expectDropped(j, 'DIR_FILE is not JSON');
  });

  it('an unknown op kind, a bad mode and a symlink target with NUL drop the link', async () => {
    for (const bad of [{ id: 1, kind: 'chown', path: 'x' }, { id: 1, kind: 'mkdir', path: 'x', mode: 0o77777, mtimeMs: 0 }, { id: 1, kind: 'symlink', path: 'x', target: 'a\u0000b', mtimeMs: 0 }]) {
      const i = await source();
      i.send('DIR_OP', op(bad));
      await expectDropped(i, 'DIR_OP');
    }
  });

  it('a manifest, signatures or an ack nobody asked for drop the link', async () => {
    const i = await source();
    i.send('DIR_MANIFEST', Buffer.from('[]'), FLAG_LAST);
    await expectDropped(i, 'not sending changes');
  });

  it('changes sent to a Primary are refused', async () => {
    await v.promote(false);
    const i = await source({ role: 'Secondary' });
    i.send('DIR_OP', encodeOp({ id: 1, kind: 'mkdir', path: 'x', mode: 0o755, mtimeMs: 0 }));
    await expectDropped(i, 'takes no changes');
  });
});
