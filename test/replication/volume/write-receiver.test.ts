// The Secondary's side of a stream (write-receiver.ts) with a fake link and disk: writes go through the
// activity log's gate, and a write still waiting at the gate when the link ends writes nothing.
import { expect } from 'chai';
import type { FileBackend } from '../../../lib/replication/block/nbd/file-backend.js';
import type { PeerLink } from '../../../lib/replication/link/peer-link.js';
import type { ApplyWrite } from '../../../lib/replication/volume/secondary-log.js';
import { WriteReceiver } from '../../../lib/replication/volume/write-receiver.js';

function setup() {
  const written: string[] = [];
  const sent: string[] = [];
  const link = { state: 'established', send: (f: { type: string }) => sent.push(f.type) } as unknown as PeerLink;
  const disk = {
    writeInline: (o: number, d: Buffer) => { written.push(`${o}+${d.length}`); return true; },
    write: async (o: number, d: Buffer) => { written.push(`${o}+${d.length} async`); },
    writeZeroes: async (o: number, l: number) => { written.push(`zeroes ${o}+${l}`); },
    flush: async () => {},
  } as unknown as FileBackend;
  const gates: Array<() => void> = [];
  // The log's gate: every write waits until the test opens it.
  const logged = (o: number, l: number, w: ApplyWrite): Promise<void> => new Promise<void>((res) => gates.push(res)).then(() => w(o, l));
  const errors: unknown[] = [];
  const r = new WriteReceiver(link, disk, 'C', logged, (e) => errors.push(e));
  return { r, written, sent, gates, errors };
}

describe('replicated volume: WriteReceiver (in memory)', () => {
  it('a write is applied once the log lets it through, then acknowledged', async () => {
    const s = setup();
    s.r.write(1n, 0, 4096, Buffer.alloc(4096), false, 0);
    expect(s.written).to.deep.equal([]);
    (s.gates[0] as () => void)();
    await s.r.idle();
    await new Promise((res) => process.nextTick(res));
    expect(s.written).to.deep.equal(['0+4096']);
    expect(s.sent).to.deep.equal(['WRITE_ACK']);
  });

  it('a write still at the gate when the link ends writes nothing and is not acknowledged', async () => {
    const s = setup();
    s.r.write(1n, 0, 4096, Buffer.alloc(4096), false, 0);
    s.r.write(2n, 8192, 0, null, false, 0);
    expect(s.gates).to.have.length(2);
    s.r.stop();
    for (const g of s.gates) g();
    await new Promise((res) => setImmediate(res));
    expect(s.written).to.deep.equal([]);
    expect(s.sent).to.deep.equal([]);
    expect(s.errors).to.deep.equal([]);
  });
});
