// The replication secret file: what the daemon accepts, and how it refuses.
import { expect } from 'chai';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EX_CONFIG, TandemError } from '../../lib/errors.js';
import { readSecret } from '../../lib/replication/secret-file.js';

function recorder(): { log: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (m) => void lines.push(`warn ${m}`) };
}

describe('replication secret file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-secret-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('reads the secret without the trailing newline', async () => {
    const p = join(dir, 'secret');
    await writeFile(p, 'sixteen-bytes-or-more\n', { mode: 0o600 });
    const { log, lines } = recorder();
    expect((await readSecret(p, log)).toString()).to.equal('sixteen-bytes-or-more');
    expect(lines).to.deep.equal([]);
  });

  it('warns when group or others can read it', async () => {
    const p = join(dir, 'secret');
    await writeFile(p, 'sixteen-bytes-or-more');
    await chmod(p, 0o644);
    const { log, lines } = recorder();
    await readSecret(p, log);
    expect(lines.join('\n')).to.match(/readable by group or others \(mode 644\); chmod 600/);
  });

  for (const [what, setup, want] of [
    ['a missing file', async (_p: string) => {}, /ENOENT.*create it with/],
    ['a directory', async (p: string) => { await import('node:fs/promises').then((f) => f.mkdir(p)); }, /not a regular file/],
    ['a short secret', async (p: string) => writeFile(p, 'short\n', { mode: 0o600 }), /holds 5 bytes; at least 16 are required/],
  ] as const) {
    it(`refuses ${what} with EX_CONFIG and says what is allowed`, async () => {
      const p = join(dir, 'secret');
      await setup(p);
      const err = await readSecret(p, recorder().log).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(TandemError);
      expect((err as TandemError).exitCode).to.equal(EX_CONFIG);
      expect((err as TandemError).message).to.match(want);
      expect((err as TandemError).message).to.include(p);
    });
  }
});
