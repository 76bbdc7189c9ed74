// kill -9 during saves: a child process saves records in a loop and reports
// each completed save; it is killed with SIGKILL at random moments, and every
// time `open` must return a whole record, the last reported or the one in flight.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityLog } from '../../../lib/replication/block/activity-log.js';
import { Bitmap } from '../../../lib/replication/block/bitmap.js';
import type { MetadataRecord } from '../../../lib/replication/block/metadata.js';
import { MetadataStore } from '../../../lib/replication/block/metadata-store.js';
import { rng } from '../../helpers/random.js';
import { sameRecord } from './metadata.test.js';

// Self-contained (no imports, no TS-only syntax after compiling): the child
// gets this function's source, so parent and child build identical records.
function recordFor(n: number, BitmapC: typeof Bitmap, AlC: typeof ActivityLog): MetadataRecord {
  const size = 2 ** 32; // 4 GiB: two 128 KiB bitmaps, so a save is big enough to be caught mid-write
  const bitmaps = new Map<string, Bitmap>();
  for (const [i, peer] of ['node-b', 'node-c'].entries()) {
    const bm = new BitmapC(size, 4096);
    for (let k = 0; k < 40; k++) {
      const at = (n * 7919 + k * 104729 + i * 31) % (bm.bits - 64);
      bm.setBlocks(at, at + 1 + ((n + k) % 60));
    }
    bitmaps.set(peer, bm);
  }
  const al = new AlC(61);
  for (let k = 0; k < 1 + (n % 60); k++) al.touch(((n + k * 13) % 1000) * al.extentSize, 1);
  return {
    volumeSize: size,
    blockSize: 4096,
    generations: { n, current: (n * 2654435761).toString(16) },
    bitmaps,
    activityLog: al,
    lastRole: n % 2 === 0 ? 'Primary' : 'Secondary',
    diskState: n % 3 === 0 ? 'UpToDate' : 'Consistent',
    cleanShutdown: n % 5 === 0,
    fencedPeers: new Map(),
    staleBitsFor: new Set(),
    marksOnly: new Map(),
  };
}

const lib = (name: string): string => new URL(`../../../lib/replication/block/${name}.js`, import.meta.url).href;

const CHILD = `
import { writeSync } from 'node:fs';
import { MetadataStore } from '${lib('metadata-store')}';
import { Bitmap } from '${lib('bitmap')}';
import { ActivityLog } from '${lib('activity-log')}';
const recordFor = ${recordFor.toString()};
const o = await MetadataStore.open(process.argv[1]);
if (!o.ok) { writeSync(2, o.error.message); process.exit(3); }
let n = o.record.generations.n;
writeSync(1, 'ready ' + n + '\\n');
for (;;) {
  n++;
  await o.store.save(recordFor(n, Bitmap, ActivityLog));
  writeSync(1, 'saved ' + n + '\\n'); // synchronous: in the pipe before the next save starts
}
`;

// Run the saver, SIGKILL it `delayMs` after its first save (so the kill lands
// in the save loop, not in start-up), return the last save it reported.
function runAndKill(path: string, delayMs: number): Promise<{ lastSaved: number; start: number; code: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (timer === undefined && out.includes('saved')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    // 'close': the process is gone and its stdout drained, so every report written before the kill is here.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ready = /ready (\d+)/.exec(out);
      if (ready === null) return reject(new Error(`child never got ready (code ${code}, signal ${signal}): ${err}`));
      const saved = [...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
      const start = Number(ready[1]);
      resolve({ lastSaved: saved.length > 0 ? (saved[saved.length - 1] as number) : start, start, code: String(signal ?? code) });
    });
  });
}

describe('replication/block metadata store under kill -9', function () {
  this.timeout(120000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-meta-kill-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('25 SIGKILLs at random moments: open always yields a whole record, the last saved or the one in flight', async () => {
    const path = join(dir, 'vol.img.meta');
    const c = await MetadataStore.create(path, recordFor(0, Bitmap, ActivityLog));
    if (!c.ok) return expect.fail(c.error.message);
    await c.store.close();
    const r = rng(77);
    let saves = 0;
    for (let round = 0; round < 25; round++) {
      const { lastSaved, start, code } = await runAndKill(path, Math.floor(r() * 40));
      expect(code).to.equal('SIGKILL');
      const o = await MetadataStore.open(path);
      if (!o.ok) return expect.fail(`round ${round}: ${o.error.message}`);
      const n = (o.record.generations as { n: number }).n;
      expect(n, `round ${round}: reported ${lastSaved}, found ${n}`).to.be.oneOf([lastSaved, lastSaved + 1]);
      sameRecord(o.record, recordFor(n, Bitmap, ActivityLog)); // every field of that one record, no mixture
      saves += lastSaved - start;
      await o.store.close();
    }
    expect(saves, 'saves completed across all rounds').to.be.at.least(25);
  });
});
