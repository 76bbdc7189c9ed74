import { expect } from 'chai';
import { TandemError } from '../../../lib/errors.js';
import { compileExclude } from '../../../lib/replication/files/exclude.js';

describe('replication/files/exclude', () => {
  // [patterns, relPath, isDir, excluded]
  const rows: [string[], string, boolean, boolean][] = [
    [[], 'a.txt', false, false],
    [[], '', true, false],
    // always-excluded temp names, at any depth, with or without patterns
    [[], '.tandem-tmp-0123456789abcdef', false, true],
    [[], 'a/b/.tandem-tmp-00000000000000ff', false, true],
    [[], 'a/.tandem-tmp-0123456789abcdef/inner', false, true],
    [[], 'a/b/.tandem-tmp-x', false, false], // a user's own name: replicated
    [[], 'a/tandem-tmp-x', false, false],
    // no '/': basename at any depth
    [['*.tmp'], 'x.tmp', false, true],
    [['*.tmp'], 'a/b/c/x.tmp', false, true],
    [['*.tmp'], 'a/b/x.tmpl', false, false],
    [['*.tmp'], 'x.tmp/inner.txt', false, true], // below an excluded directory
    [['*.tmp'], '.tmp', false, true], // '*' matches a leading dot, as in rsync
    [['core'], 'a/core', false, true],
    [['core'], 'a/core/x', false, true],
    [['core'], 'a/coredump', false, false],
    [['?.log'], 'd/a.log', false, true],
    [['?.log'], 'd/ab.log', false, false],
    [['[ab].c'], 'b.c', false, true],
    // with '/': anchored at the root
    [['cache/**'], 'cache', true, true],
    [['cache/**'], 'cache/x', false, true],
    [['cache/**'], 'cache/a/b/c', false, true],
    [['cache/**'], 'sub/cache/x', false, false],
    [['cache/**'], 'sub/cache', true, false],
    [['cache/**'], 'cachex/y', false, false],
    [['cache/**'], 'cache', false, false], // a file named cache is not the directory
    [['a/*.log'], 'a/x.log', false, true],
    [['a/*.log'], 'a/b/x.log', false, false],
    [['a/*.log'], 'b/a/x.log', false, false],
    [['/top.txt'], 'top.txt', false, true],
    [['/top.txt'], 'd/top.txt', false, false],
    [['a/**/z'], 'a/z', false, true],
    [['a/**/z'], 'a/b/c/z', false, true],
    [['**/z'], 'z', false, true],
    [['**/z'], 'q/r/z', false, true],
    [['x/y/**'], 'x/y', true, true],
    [['x/y/**'], 'x/y/z/w', false, true],
    [['x/y/**'], 'x', true, false],
    // trailing '/': directories only, basename rule
    [['build/'], 'build', true, true],
    [['build/'], 'src/build', true, true],
    [['build/'], 'src/build/out.o', false, true],
    [['build/'], 'build', false, false],
    // several patterns
    [['*.tmp', 'cache/**'], 'cache/a.txt', false, true],
    [['*.tmp', 'cache/**'], 'docs/a.tmp', false, true],
    [['*.tmp', 'cache/**'], 'docs/a.txt', false, false],
    // leading "./" and trailing '/' in the queried path are tolerated
    [['cache/**'], './cache/x', false, true],
    [['build/'], 'build/', true, true],
  ];
  for (const [patterns, path, isDir, want] of rows) {
    it(`${JSON.stringify(patterns)} ${isDir ? 'dir' : 'file'} ${JSON.stringify(path)} -> ${want ? 'excluded' : 'kept'}`, () => {
      expect(compileExclude(patterns)(path, isDir)).to.equal(want);
    });
  }

  it('rejects empty and oversized patterns with a stable code', () => {
    for (const bad of ['', '/', 'x'.repeat(5000)]) {
      expect(() => compileExclude([bad])).to.throw(TandemError).with.property('code', 'EXCLUDE_PATTERN');
    }
    expect(() => compileExclude(Array.from({ length: 2000 }, (_, i) => `p${i}`))).to.throw(TandemError);
  });
});
