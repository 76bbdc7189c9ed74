import { expect } from 'chai';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nbdErrnoFor } from '../../../../lib/replication/block/nbd/backend.js';
import { FileBackend } from '../../../../lib/replication/block/nbd/file-backend.js';
import { transmissionFlagsFor } from '../../../../lib/replication/block/nbd/server.js';

describe('FileBackend', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-fb-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a missing file sparse at the size, then reads zeroes', async () => {
    const b = await FileBackend.open({ path: join(dir, 'a.img'), size: 8 << 20 });
    expect(b.size).to.equal(8 << 20);
    expect((await stat(join(dir, 'a.img'))).blocks).to.be.lessThan(64);
    expect((await b.read(4096, 4096)).every((x) => x === 0)).to.equal(true);
    await b.close();
  });

  it('writes, reads back, writes zeroes (FUA) across chunk boundaries, flushes', async () => {
    const b = await FileBackend.open({ path: join(dir, 'a.img'), size: 4 << 20 });
    await b.write(1000, Buffer.alloc(3 << 20, 0x5a), false);
    await b.writeZeroes(2000, (2 << 20) + 3, true);
    const r = await b.read(0, 4 << 20);
    expect(r.subarray(1000, 2000).every((x) => x === 0x5a)).to.equal(true);
    expect(r.subarray(2000, 2000 + (2 << 20) + 3).every((x) => x === 0)).to.equal(true);
    expect(r[2000 + (2 << 20) + 3]).to.equal(0x5a);
    await b.write(0, Buffer.from('fua'), true);
    await b.flush();
    await b.trim(0, 4096, true); // a hint: must not fail, must not zero
    expect((await b.read(0, 3)).toString()).to.equal('fua');
    await b.close();
  });

  it('opens an existing file at its own size; refuses a size mismatch or a missing read-only file', async () => {
    await writeFile(join(dir, 'e.img'), Buffer.alloc(1024, 1));
    const b = await FileBackend.open({ path: join(dir, 'e.img'), readOnly: true });
    expect(b.size).to.equal(1024);
    expect(b.readOnly).to.equal(true);
    await b.close();
    const mismatch = await FileBackend.open({ path: join(dir, 'e.img'), size: 2048 }).catch((e: { code: string }) => e.code);
    expect(mismatch).to.equal('NBD_BACKEND_SIZE');
    const missing = await FileBackend.open({ path: join(dir, 'none.img'), readOnly: true, size: 10 }).catch((e: { code: string }) => e.code);
    expect(missing).to.equal('NBD_BACKEND_OPEN');
  });

  it('maps filesystem errors to NBD errno names', () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(nbdErrnoFor(e('ENOSPC'))).to.equal('ENOSPC');
    expect(nbdErrnoFor(e('EDQUOT'))).to.equal('ENOSPC');
    expect(nbdErrnoFor(e('EFBIG'))).to.equal('ENOSPC');
    expect(nbdErrnoFor(e('EIO'))).to.equal('EIO');
    expect(nbdErrnoFor(e('EROFS'))).to.equal('EPERM');
    expect(nbdErrnoFor(new Error('plain'))).to.equal('EIO');
    expect(nbdErrnoFor(undefined)).to.equal('EIO');
  });

  it('advertises CAN_MULTI_CONN only when flush covers all connections, READ_ONLY when read-only', () => {
    expect(transmissionFlagsFor({ readOnly: false, flushCoversAllConnections: true })).to.equal(0x16d);
    expect(transmissionFlagsFor({ readOnly: true, flushCoversAllConnections: false })).to.equal(0x6f);
  });
});
